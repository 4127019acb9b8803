"""The chat port: what the bot needs from Slack, as a small Protocol, and its errors.

The production adapter is :mod:`bot.adapters.slack.chat` (slack_sdk ``WebClient``); tests use the
same adapter against a loopback fake Web API, or a recording twin.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.core.errors import InquiryDeskError

Blocks = list[dict[str, Any]]


class ChatError(InquiryDeskError):
    """Slack refused the call for good (bad channel, invalid blocks, …)."""


class TemporaryChatError(ChatError):
    """Slack is unreachable, answered 5xx, or rate-limited us: try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Chat(Protocol):
    def post(
        self,
        channel: str,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        card_of: str | None = None,
        tag: str | None = None,
    ) -> str:
        """Post a message; return its ts. ``card_of`` tags it (message metadata) as the card
        of that inquiry, so :meth:`find_card` can find it after a crash; ``tag`` does the
        same for a thread reply (the outbox key), for :meth:`find_reply`."""
        ...

    def find_reply(self, channel: str, thread_ts: str | None, tag: str) -> str | None:
        """The ts of a message tagged ``tag`` in that thread (or, with no thread, among the
        channel's recent messages), if one was posted."""
        ...

    def dm_channel(self, user: str) -> str:
        """The id of the direct-message channel with ``user``."""
        ...

    def find_card(self, channel: str, inquiry_id: str) -> str | None:
        """The ts of a recent top-level message tagged as the card of ``inquiry_id``."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None: ...

    def dm(self, user: str, text: str, blocks: Blocks | None = None) -> str: ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks | None = None) -> None: ...

    def user_tz(self, user: str) -> str | None: ...

    def upload_png(self, channel: str, filename: str, data: bytes, title: str) -> None: ...
