"""The desk's ports: the Protocols the application needs of the world, each with an adapter
(and, where useful, an in-memory twin for tests)."""

from __future__ import annotations

# ------------------------------------------------------------------------------------------------
# Drafts and mail out
# ------------------------------------------------------------------------------------------------
from collections.abc import Callable as _Callable
from collections.abc import Sequence as _Sequence
from email.message import EmailMessage as _EmailMessage
from typing import Protocol as _Protocol

from bot.core.models import Inquiry as _Inquiry


class Mailer(_Protocol):
    """Mail going out: send a composed reply, or file a copy in one of the mailbox's folders.

    ``folder_role`` is ``"drafts"`` or ``"sent"``; ``append`` returns the folder's name on the
    server. Both raise :class:`bot.core.errors.MailOutError` with a message saying what to check.
    ``can_send`` / ``can_file`` say whether SMTP / IMAP are configured at all.
    Adapter: :class:`bot.adapters.mail.outgoing.OutgoingMail`.
    """

    @property
    def can_send(self) -> bool: ...

    @property
    def can_file(self) -> bool: ...

    def send(self, msg: _EmailMessage) -> None: ...

    def append(self, folder_role: str, msg: _EmailMessage, flags: _Sequence[str]) -> str: ...


class DraftingStore(_Protocol):
    """What drafting jobs and draft sending need of the inquiry store (the TinyDB ``Store`` has it;
    the store ports' inquiry repository may replace it at the merge)."""

    def get(self, inq_id: str) -> _Inquiry | None: ...

    def require(self, inq_id: str) -> _Inquiry: ...

    def update(self, inq_id: str, change: _Callable[[_Inquiry], _Inquiry]) -> _Inquiry: ...
