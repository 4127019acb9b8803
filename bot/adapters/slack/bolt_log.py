"""Bolt's loggers without request bodies: the logger handed to ``App(logger=...)``.

Bolt copies its base logger's level and filters onto every logger it makes; without one it
copies the *root* level instead, so at ``LOG_LEVEL=INFO`` it logs each refused request with
its whole body ("Invalid request signature detected (..., body: ...)"), and at WARNING an
unhandled request with the payload's values. Here Bolt logs at WARNING and above only, and
each message is cut to its first line before the first parenthesis, where Bolt puts the
request: what happened stays in the log, whose data it was does not.
"""

from __future__ import annotations

import logging

BOLT_LOGGER = "bot.bolt"
_MAX_CHARS = 200


def redact(message: str) -> str:
    """``"Unhandled request ({'type': ...})"`` → ``"Unhandled request"``."""
    head = message.split("\n", 1)[0]
    cut = head.find("(")
    if cut > 0:
        head = head[:cut]
    return head.rstrip(" :")[:_MAX_CHARS]


class NoRequestData(logging.Filter):
    """Drops Bolt's debug and info records; keeps only the head of the others."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        record.msg, record.args = redact(record.getMessage()), None
        return True


def bolt_logger() -> logging.Logger:
    """The base logger for ``slack_bolt.App`` (idempotent)."""
    logger = logging.getLogger(BOLT_LOGGER)
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, NoRequestData) for f in logger.filters):
        logger.addFilter(NoRequestData())
    return logger
