"""Test helpers that build domain objects directly, without the mail parser.

``make_email(subject="Price?", new_text="pls send catalog", from_addr="x@gmail.com")``
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.core.models import ParsedEmail


@dataclass(frozen=True)
class Fetched:
    """A message as the watcher hands it to ``Ingestor.deliver`` (the fields the desk reads)."""

    uid: int
    raw: bytes
    internaldate: datetime


def make_email(**overrides: Any) -> ParsedEmail:
    """A plausible ParsedEmail; any field may be overridden by keyword.

    Conveniences: ``text`` defaults to ``new_text`` (plus the signature); ``headers`` keys are
    lower-cased; ``date_utc_offset_minutes`` given alone also sets ``date`` in that offset.
    """
    new_text = overrides.pop("new_text", "Hello, please send your price list. Thanks")
    signature = overrides.pop("signature", "")
    text = overrides.pop("text", None)
    if text is None:
        text = new_text + ("\n\n" + signature if signature else "")
    headers = {k.lower(): v for k, v in dict(overrides.pop("headers", {})).items()}
    offset = overrides.pop("date_utc_offset_minutes", 0)
    date = overrides.pop("date", None)
    if date is None and offset is not None:
        date = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    from_addr = str(overrides.pop("from_addr", "buyer@example-buyer.com")).lower()
    subject = overrides.pop("subject", "Inquiry")
    raw = f"{from_addr}\n{subject}\n{text}".encode()
    fields: dict[str, Any] = {
        "message_id": f"<{hashlib.sha1(raw).hexdigest()[:16]}@test>",
        "message_id_synthetic": False,
        "in_reply_to": None,
        "references": (),
        "subject": subject,
        "from_name": "Test Buyer",
        "from_addr": from_addr,
        "reply_to": (),
        "to": ("sales@brightway-led.com",),
        "cc": (),
        "date": date,
        "date_utc_offset_minutes": offset,
        "content_type": "text/plain",
        "headers": headers,
        "text": text,
        "new_text": new_text,
        "signature": signature,
        "attachments": (),
        "defects": (),
        "content_hash": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
    }
    unknown = set(overrides) - set(fields)
    if unknown:
        raise TypeError(f"unknown ParsedEmail fields: {sorted(unknown)}")
    fields.update(overrides)
    return ParsedEmail(**fields)


def buyer_mail(**overrides: Any) -> ParsedEmail:
    """A German buyer's RFQ for LED panels (a clear inquiry); ``overrides`` as for :func:`make_email`."""
    base: dict[str, Any] = {
        "subject": "RFQ LED panels",
        "from_addr": "anna@licht.de",
        "new_text": "We need 2,000 pcs of 60x60 LED panels, 40W, FOB Shenzhen, target price USD 9.",
        "message_id": "<first@licht.de>",
    }
    base.update(overrides)
    return make_email(**base)


DATE = "Fri, 20 Nov 2026 09:30:00 +0000"


def raw_mail(
    body: str = "Hello, please send your price list for 500 pcs. Thanks",
    *,
    subject: str = "Inquiry",
    from_: str = '"Test Buyer" <buyer@example-buyer.com>',
    to: str | None = "sales@brightway-led.com",
    message_id: str | None = None,
    date: str = DATE,
    in_reply_to: str | None = None,
    references: str | None = None,
    reply_to: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    cte: str | None = None,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    crlf: bool = False,
) -> bytes:
    """The one builder of real RFC 5322 messages (bytes) for tests that go through the parser.

    ``headers`` are written above From (in order: the first is the topmost, as a receiving
    server prepends); ``message_id`` defaults to one derived from sender, subject and body;
    ``cte`` forces the body's Content-Transfer-Encoding; ``html`` adds a text/html alternative;
    ``attachments`` are ``(filename, "type/subtype", data)``; ``crlf`` writes CRLF line ends (as
    an IMAP server stores the message) instead of LF."""
    from email.message import EmailMessage
    from email.policy import default

    msg = EmailMessage()
    for name, value in headers or []:
        msg[name] = value
    msg["From"] = from_
    if to is not None:
        msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = (
        message_id or f"<{hashlib.sha1((from_ + subject + body).encode()).hexdigest()[:16]}@test>"
    )
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
    if references is not None:
        msg["References"] = references
    if reply_to is not None:
        msg["Reply-To"] = reply_to
    if cte is None:
        msg.set_content(body)
    else:
        msg.set_content(body, cte=cte)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=default.clone(linesep="\r\n")) if crlf else msg.as_bytes()
