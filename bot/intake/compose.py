"""Composing a threaded reply: pure, no network (sent by a ``Mailer``, :mod:`bot.desk.ports`).

Replies carry ``In-Reply-To`` and ``References`` so they thread in every mail client, and
are serialised with ``policy.SMTP`` (CRLF line endings; strict servers reject bare LF).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid


class EncodedHeader(str):
    """A non-ASCII Subject or address header folded as whole RFC 2047 encoded words, every
    space inside a word; ``str()`` is the readable value.

    Python 3.11's header folder puts the space between two encoded words outside them at a
    fold, where decoders must drop it: "cho dự" arrived as "chodự" in a 300-character
    Vietnamese subject, "nhánh Hải" as "nhánhHải" in a long display name.
    :class:`email.header.Header` keeps every character inside the words.
    """

    def __new__(cls, name: str, value: str, addresses: bool = False) -> EncodedHeader:
        obj = super().__new__(cls, value)
        obj.name = name
        obj.addresses = addresses
        return obj

    name: str
    addresses: bool

    def fold(self, *, policy: Policy) -> str:
        sep = policy.linesep
        if not self.addresses:
            value = str(self)
            # a short plain head ("Re: ") stays readable; the rest is encoded
            cut = next((i + 1 for i in range(min(len(value), 60) - 1, -1, -1) if value[i] == " "), 0)
            while cut and not value[:cut].isascii():
                cut = value.rfind(" ", 0, cut - 1) + 1
            head, rest = value[:cut], value[cut:]
            encoded = Header(rest, "utf-8", header_name=f"{self.name}: {head}").encode(linesep=sep)
            return f"{self.name}: {head}{encoded}{sep}"
        parts = []
        for display, addr in getaddresses([str(self)]):
            if display and not display.isascii():
                parts.append(f"{Header(display, 'utf-8').encode(linesep=sep)} <{addr}>")
            else:
                parts.append(formataddr((display, addr)))
        return f"{self.name}: {f',{sep} '.join(parts)}{sep}"


def compose_reply(
    *,
    from_addr: str,
    from_name: str,
    to: Sequence[str],
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str],
    now: datetime | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((from_name, from_addr)) if from_name else from_addr
    to_value = ", ".join(to)
    msg["To"] = to_value if to_value.isascii() else EncodedHeader("To", to_value, addresses=True)
    msg["Subject"] = subject if subject.isascii() else EncodedHeader("Subject", subject)
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    domain = from_addr.rsplit("@", 1)[-1] if "@" in from_addr else "inquiry-desk.invalid"
    msg["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        msg["References"] = " ".join(refs[-20:])
    msg.set_content(body)
    return msg
