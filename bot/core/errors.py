"""The bot's exception hierarchy; adapters translate library errors into these."""

from __future__ import annotations


class InquiryDeskError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(InquiryDeskError):
    """The configuration has one or more problems; ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"configuration has {len(self.problems)} problem(s):\n{lines}")


class StoreError(InquiryDeskError):
    """The store could not read or write its files."""


class NotFound(InquiryDeskError):
    """No inquiry with that id."""


class PermissionDenied(InquiryDeskError):
    """The member may not do this (only the owner or an admin may)."""


class Conflict(InquiryDeskError):
    """The change lost a race, e.g. someone else claimed first."""


class UsageError(InquiryDeskError):
    """A command was given in a shape we do not understand."""


# The drafting and LLM family: adapters translate library errors at the edge
# (``raise LlmError(...) from e``) so callers catch one family and never import ``openai``.
class DraftingError(Exception):
    """Base class of every error raised by ``bot.drafting``."""


class LlmError(DraftingError):
    """The LLM could not be reached or answered with an error."""


class LlmTimeoutError(LlmError):
    """The LLM did not answer within the configured timeout."""


class LlmRateLimitError(LlmError):
    """The LLM kept answering 429 after the client's retries."""


class TemplateError(DraftingError):
    """A prompt or template file is missing, malformed, or needs a variable nobody gave it."""


class MailOutError(InquiryDeskError):
    """Sending or saving the mail failed; the message says what to check (raised by a ``Mailer``)."""


# Chat (Slack): adapters translate slack_sdk errors into these.
class ChatError(InquiryDeskError):
    """Slack refused the call for good (bad channel, invalid blocks, …)."""


class TemporaryChatError(ChatError):
    """Slack is unreachable, answered 5xx, or rate-limited us: try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
