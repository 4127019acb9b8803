"""Draft sending behind the ``Mailer`` port: the quote gate, the screening guard, sending once,
saving to Drafts, scheduled sends; and the SMTP adapter satisfying the port against aiosmtpd.

The ``Mailer`` here is a recording double of the *port* (what would go out, and where); the
store and outbox are the real TinyDB ones. The real SMTP/IMAP paths are covered by
``test_drafting_flow.py`` (aiosmtpd, Dovecot) and below.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.adapters.mail.outgoing import OutgoingMail, SmtpSender
from bot.app.store import open_store
from bot.config.settings import SmtpConfig
from bot.core.errors import MailOutError, UsageError
from bot.desk.draft_sending import BadRecipient, DraftSending, QuoteGate, QuoteRisk, parse_recipients
from bot.desk.outbox import Outbox
from bot.desk.ports import Mailer
from bot.trust.quote_risk import QuotePolicy
from tests.fakes.smtp_server import Recorder
from tests.inquiries import make_inquiry

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # a Tuesday


@dataclass
class RecordingMailer:
    """A ``Mailer`` that records what would go out (``fail`` makes the next call refuse)."""

    can_send: bool = True
    can_file: bool = True
    fail: str | None = None
    sent: list[EmailMessage] = field(default_factory=list)
    filed: list[tuple[str, EmailMessage, tuple[str, ...]]] = field(default_factory=list)

    def send(self, msg: EmailMessage) -> None:
        if self.fail:
            raise MailOutError(self.fail)
        self.sent.append(msg)

    def append(self, folder_role: str, msg: EmailMessage, flags: Sequence[str]) -> str:
        if self.fail:
            raise MailOutError(self.fail)
        self.filed.append((folder_role, msg, tuple(flags)))
        return {"drafts": "Drafts", "sent": "Sent"}[folder_role]


class Rig:
    def __init__(self, tmp: Path, mailer: Mailer, policy: QuotePolicy | None = None) -> None:
        self.store = open_store(tmp, shards=16)
        self.store.add(make_inquiry("1", card_ts="1700000000.000001", card_channel="CINQ"))
        self.outbox = Outbox(self.store)
        self.drafts = self.store.drafts
        self.sending = DraftSending(
            self.store,
            self.drafts,
            self.outbox,
            mailer,
            lambda: NOW,
            from_addr="sales@brightway-led.com",
            rep_name=lambda user: "Li Wei",
            gate=QuoteGate(policy),
        )

    def draft(self, body: str = "Dear Anna,\n\nour quotation follows today.\n\nLi Wei") -> str:
        return self.drafts.add(
            {
                "inquiry_id": "1",
                "subject": "Re: LED panels 600x600",
                "body": body,
                "to": "anna@licht.de",
                "status": "drafted",
                "scenario": "first_reply",
                "created_by": "UREP",
            }
        )

    def events(self) -> list[str]:
        return [e.action for e in self.store.require("1").events]


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def rig(tmp_path: Path, mailer: RecordingMailer) -> Iterator[Rig]:
    r = Rig(tmp_path, mailer)
    try:
        yield r
    finally:
        r.store.close()


def test_send_hands_one_threaded_reply_to_the_mailer_files_it_in_sent_and_stops_the_clock(
    rig: Rig, mailer: RecordingMailer
) -> None:
    draft_id = rig.draft()
    rig.sending.send(draft_id, "UREP")
    [msg] = mailer.sent
    assert msg["To"] == "anna@licht.de" and msg["In-Reply-To"] == "<m1@buyer.de>"
    assert "Li Wei" in msg["From"] and "sales@brightway-led.com" in msg["From"]
    assert [(role, flags) for role, _, flags in mailer.filed] == [("sent", ("\\Seen",))]
    assert rig.sending.get_draft(draft_id)["status"] == "sent"
    assert rig.sending.get_draft(draft_id)["message_id"] == msg["Message-ID"]
    inq = rig.store.require("1")
    assert inq.sla_started_at is None and "sent" in rig.events()
    with pytest.raises(UsageError, match="already sent"):
        rig.sending.send(draft_id, "UREP")
    assert len(mailer.sent) == 1
    owed = {i.kind for i in rig.outbox.due(NOW)}
    assert owed == {"card_update", "note"}  # the card refreshed, the sent note in its thread


def test_a_refused_send_marks_the_draft_failed_and_may_be_tried_again(
    rig: Rig, mailer: RecordingMailer
) -> None:
    draft_id = rig.draft()
    mailer.fail = "SMTP 127.0.0.1:25: SMTPRecipientsRefused"
    with pytest.raises(UsageError, match="SMTPRecipientsRefused"):
        rig.sending.send(draft_id, "UREP")
    assert rig.sending.get_draft(draft_id)["status"] == "failed" and "sent" not in rig.events()
    mailer.fail = None
    rig.sending.send(draft_id, "UREP")
    assert len(mailer.sent) == 1 and rig.sending.get_draft(draft_id)["status"] == "sent"


def test_without_smtp_or_imap_nothing_goes_out_and_the_member_is_told_what_to_set(tmp_path: Path) -> None:
    mailer = RecordingMailer(can_send=False, can_file=False)
    rig = Rig(tmp_path, mailer)
    try:
        draft_id = rig.draft()
        with pytest.raises(UsageError, match="SMTP_HOST"):
            rig.sending.send(draft_id, "UREP")
        with pytest.raises(UsageError, match="SMTP_HOST"):
            rig.sending.schedule_send(draft_id, "UREP")
        with pytest.raises(UsageError, match="IMAP_HOST"):
            rig.sending.save_to_drafts(draft_id, "UREP")
        assert mailer.sent == [] and mailer.filed == []
        assert rig.sending.get_draft(draft_id)["status"] == "drafted"
    finally:
        rig.store.close()


def test_save_to_drafts_appends_with_the_draft_flag_and_notes_it(rig: Rig, mailer: RecordingMailer) -> None:
    draft_id = rig.draft()
    assert rig.sending.save_to_drafts(draft_id, "UREP") == "Drafts"
    [(role, msg, flags)] = mailer.filed
    assert role == "drafts" and flags == ("\\Draft",) and msg["In-Reply-To"] == "<m1@buyer.de>"
    assert mailer.sent == []
    assert rig.sending.get_draft(draft_id)["status"] == "saved" and "saved" in rig.events()


def test_quote_risks_hold_the_send_until_the_member_confirms(tmp_path: Path, mailer: RecordingMailer) -> None:
    rig = Rig(tmp_path, mailer, QuotePolicy.load())
    try:
        risky = "Dear Anna,\n\nUSD 0.10 per piece, payment 100% after delivery, lead time 2 days.\n\nLi Wei"
        draft_id = rig.draft(risky)
        with pytest.raises(QuoteRisk) as held:
            rig.sending.send(draft_id, "UREP")
        assert held.value.findings and mailer.sent == []
        rig.sending.send(draft_id, "UREP", confirm_risks=True)
        assert len(mailer.sent) == 1
        assert rig.events().index("quote_risk_confirmed") < rig.events().index("sent")
    finally:
        rig.store.close()


def test_a_scheduled_send_goes_out_once_when_due(rig: Rig, mailer: RecordingMailer) -> None:
    draft_id = rig.draft()
    at = rig.sending.schedule_send(draft_id, "UREP")
    assert rig.sending.get_draft(draft_id)["status"] == "scheduled"
    assert rig.sending.send_due(at - timedelta(minutes=1)) == 0 and mailer.sent == []
    assert rig.sending.send_due(at + timedelta(seconds=1)) == 1
    assert rig.sending.send_due(at + timedelta(minutes=5)) == 0
    assert len(mailer.sent) == 1 and rig.sending.get_draft(draft_id)["status"] == "sent"


def test_recipients_are_parsed_whole_or_refused_by_name() -> None:
    assert parse_recipients('"Doe, Jane" <jane@example.com>, li@example.cn') == [
        '"Doe, Jane" <jane@example.com>',
        "li@example.cn",
    ]
    with pytest.raises(BadRecipient) as bad:
        parse_recipients("jane@example.com, not-an-address")
    assert bad.value.address == "not-an-address"
    with pytest.raises(UsageError, match="no recipient"):
        parse_recipients(" , ")


def test_the_smtp_adapter_is_a_mailer_and_delivers_to_a_real_smtp_server(
    smtp: Recorder, tmp_path: Path
) -> None:
    config = SmtpConfig(
        host="127.0.0.1", port=smtp.port, user=None, password=None, security="none", from_addr="sales@x.com"
    )
    mailer: Mailer = OutgoingMail(smtp=SmtpSender(config, timeout=5))
    assert mailer.can_send and not mailer.can_file
    rig = Rig(tmp_path, mailer)
    try:
        rig.sending.send(rig.draft(), "UREP")
        [received] = smtp.messages
        assert received["In-Reply-To"] == "<m1@buyer.de>" and "sent" in rig.events()
        with pytest.raises(MailOutError, match="IMAP_HOST"):
            mailer.append("drafts", EmailMessage(), ["\\Draft"])
    finally:
        rig.store.close()
