"""Draft sending: a stored draft goes out by SMTP, or into the mailbox's Drafts folder, after
a member's click, behind the quote gate; or later, at the buyer's next morning.

Mail goes out through the :class:`bot.desk.ports.Mailer` port (adapter:
:class:`bot.adapters.mail.outgoing.OutgoingMail`); the reply is composed purely by
:func:`bot.intake.compose.compose_reply`. Outcomes are told in the card's thread through the
outbox. Nothing is ever sent without a member's click (or their scheduled send).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, getaddresses
from typing import Any

from bot.blocks.card import blocking_warnings
from bot.core.errors import InquiryDeskError, MailOutError, NotFound, PermissionDenied, UsageError
from bot.core.models import Event, Inquiry, MessageRecord
from bot.desk.ingest import mark_answered
from bot.desk.outbox import Outbox
from bot.desk.ports import DraftRepo, InquiryRepo, Mailer
from bot.intake.compose import compose_reply
from bot.sla.buyer_time import buyer_timezone, next_morning
from bot.trust.quote_risk import Finding, QuotePolicy, check_quote

log = logging.getLogger(__name__)

#: Draft statuses past sending: a send never claims a draft in one of them.
_GONE = ("sent", "sending")


class AlreadyTaken(UsageError):
    """The draft is sent or being sent (by this or another instance), or no longer scheduled."""


_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


class BadRecipient(UsageError):
    """One of the To addresses is not an email address (named in ``address``)."""

    def __init__(self, address: str) -> None:
        super().__init__(f"not an email address: {address}")
        self.address = address


def parse_recipients(to: str) -> list[str]:
    """The To field as a list of addresses (``Name <a@b.c>`` kept whole; quoted names with
    commas understood). Raises :class:`BadRecipient` naming the first entry that is not an
    address, or :class:`UsageError` when there is none. Nothing is ever cut.

    >>> parse_recipients('"Doe, Jane" <jane@example.com>, li@example.cn')
    ['"Doe, Jane" <jane@example.com>', 'li@example.cn']
    """
    found: list[str] = []
    for name, addr in getaddresses([to]):
        if not name and not addr:
            continue
        if not _ADDRESS.match(addr):
            raise BadRecipient(addr or name)
        found.append(_display(name, addr) if name else addr)
    if not found:
        raise UsageError("no recipient")
    return found


def _display(name: str, addr: str) -> str:
    """``"Name" <addr>``, the name kept readable (encoding it is the mail composer's job)."""
    if name.isascii():
        return formataddr((name, addr))
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr}>'


class QuoteRisk(UsageError):
    """The outgoing text has quote risks; sending needs the member's explicit confirmation."""

    def __init__(self, draft_id: str, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.code}: {f.detail}" for f in findings))
        self.draft_id = draft_id
        self.findings = findings


class QuoteGate:
    """Prices under the floor, payment terms, lead times, bank details (the ``prompts/`` policy);
    no policy, no findings."""

    def __init__(self, policy: QuotePolicy | None, rates: Mapping[str, float] | None = None) -> None:
        self.policy = policy
        self.rates = dict(rates or {"USD": 1.0})

    def risks(self, text: str) -> list[Finding]:
        if self.policy is None:
            return []
        return check_quote(text, self.policy, rates=self.rates)


class DraftSending:
    """Save to Drafts, send (now or at the buyer's morning), the scheduler's due sends."""

    def __init__(
        self,
        store: InquiryRepo,
        drafts: DraftRepo,
        outbox: Outbox,
        mailer: Mailer,
        clock: Callable[[], datetime],
        *,
        from_addr: str,
        rep_name: Callable[[str], str],
        gate: QuoteGate,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.mailer = mailer
        self.clock = clock
        self.from_addr = from_addr
        self.rep_name = rep_name
        self.gate = gate
        self.drafts = drafts
        self._lock = threading.Lock()

    def quote_risks(self, text: str) -> list[Finding]:
        return self.gate.risks(text)

    def get_draft(self, draft_id: str) -> dict[str, Any]:
        doc = self.drafts.get(draft_id)
        if doc is None:
            raise NotFound(f"no draft {draft_id}")
        return doc

    def _set(self, draft_id: str, **fields: Any) -> None:
        self.drafts.update(draft_id, fields)

    def _guard(self, inq: Inquiry) -> None:
        if blocking_warnings(inq) and not inq.extra.get("warnings_cleared"):
            raise PermissionDenied("send or save while a screening warning is not cleared by an admin")

    def _compose(
        self,
        inq: Inquiry,
        d: dict[str, Any],
        user: str,
        subject: str | None,
        body: str | None,
        to: str | None,
    ) -> EmailMessage:
        last_in = next((m for m in reversed(inq.messages) if m.direction == "in"), None)
        refs = [m.message_id for m in inq.messages if not m.message_id.endswith("@inquiry-desk.invalid>")]
        recipients = parse_recipients(to if to is not None else str(d["to"]))
        text = body if body is not None else str(d["body"])
        if not text.strip():
            raise UsageError("the message is empty")
        return compose_reply(
            from_addr=self.from_addr,
            from_name=self.rep_name(user),
            to=recipients,
            subject=subject or str(d["subject"]),
            body=text,
            in_reply_to=last_in.message_id if last_in else None,
            references=refs,
        )

    def _event(self, inq_id: str, event: Event) -> None:
        self.store.update(inq_id, lambda i: replace(i, events=(*i.events, event)))

    # ------------------------------------------------------------ save/send
    def save_to_drafts(self, draft_id: str, user: str) -> str:
        d = self.get_draft(draft_id)
        inq = self.store.require(str(d["inquiry_id"]))
        self._guard(inq)
        if not self.mailer.can_file:
            raise UsageError("no mailbox configured (IMAP_HOST) to save drafts to")
        msg = self._compose(inq, d, user, None, None, None)
        try:
            folder = self.mailer.append("drafts", msg, ["\\Draft"])
        except MailOutError as e:
            raise UsageError(str(e)) from e
        self._set(draft_id, status="saved")
        self._event(inq.id, Event(self.clock(), user, "saved", draft_id))
        self._note(inq, "draft.saved_note", user=user, folder=folder)
        return folder

    def send(
        self,
        draft_id: str,
        user: str,
        *,
        subject: str | None = None,
        body: str | None = None,
        to: str | None = None,
        confirm_risks: bool = False,
        scheduled: bool = False,
    ) -> None:
        """Send after a member's click (or the Edit & send modal), copy to Sent, stop the clock.

        The draft is claimed before the mail goes out (its status set to ``sending`` by
        :meth:`DraftRepo.update_if`, atomic across instances), so a double click, two instances
        or a restart racing on it send it once; ``scheduled``: only a draft still scheduled
        (the scheduler's send) is claimed, a schedule cancelled or taken meanwhile is not sent.

        Quote risks in the text (price under the floor, terms, lead time, bank details) stop
        the send with :class:`QuoteRisk` unless ``confirm_risks``: the member's second,
        explicit confirmation, which is recorded on the inquiry and in the audit trail."""
        d = self.get_draft(draft_id)
        if d.get("status") in _GONE or (scheduled and d.get("status") != "scheduled"):
            raise AlreadyTaken("this draft was already sent")
        inq = self.store.require(str(d["inquiry_id"]))
        self._guard(inq)
        risks = self.quote_risks(body if body is not None else str(d["body"]))
        if risks and not confirm_risks:
            raise QuoteRisk(draft_id, risks)
        if risks:
            codes = ",".join(sorted({f.code for f in risks}))
            self._event(inq.id, Event(self.clock(), user, "quote_risk_confirmed", f"{draft_id} {codes}"))
        if not self.mailer.can_send:
            raise UsageError("no SMTP server configured (SMTP_HOST) to send with")
        msg = self._compose(inq, d, user, subject, body, to)
        with self._lock:
            only = ("scheduled",) if scheduled else None
            if not self.drafts.update_if(draft_id, {"status": "sending"}, only=only, exclude=_GONE):
                raise AlreadyTaken("this draft was already sent")
            try:
                self.mailer.send(msg)
            except MailOutError as e:
                self._set(draft_id, status="failed", error=str(e)[:300])
                raise UsageError(str(e)) from e
            self._set(draft_id, status="sent", message_id=str(msg["Message-ID"]))
        now = self.clock()
        record = MessageRecord(
            message_id=str(msg["Message-ID"]),
            direction="out",
            received_at=now,
            from_addr=self.from_addr,
            subject=str(msg["Subject"]),
            new_text=(body or str(d["body"]))[:8000],
            folder="bot",
        )
        self.store.update(
            inq.id,
            lambda i: replace(
                mark_answered(i, now, user, "sent from Slack", now, record),
                events=(
                    *mark_answered(i, now, user, "sent from Slack", now, record).events,
                    Event(now, user, "sent", draft_id),
                ),
            ),
        )
        if self.mailer.can_file:
            try:
                self.mailer.append("sent", msg, ["\\Seen"])
            except MailOutError as e:
                log.error("sent, but could not copy to the Sent folder: %s", e)
        self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
        self._note(inq, "draft.sent_note", user=user)

    # ----------------------------------------------------- buyer's morning
    def schedule_send(self, draft_id: str, user: str) -> datetime:
        """Send at the buyer's next 09:00–10:00; the schedule lives in the store."""
        d = self.get_draft(draft_id)
        inq = self.store.require(str(d["inquiry_id"]))
        self._guard(inq)
        if not self.mailer.can_send:
            raise UsageError("no SMTP server configured (SMTP_HOST) to send with")
        now = self.clock()
        offset = inq.extra.get("utc_offset")
        tz = buyer_timezone(inq.triage.country, int(offset) if offset else None, now)
        if tz is None:
            raise UsageError("the buyer's time zone is unknown (no country, no Date offset)")
        at = next_morning(now, tz)
        self._set(draft_id, status="scheduled", send_at=at.isoformat(), scheduled_by=user)
        self._event(inq.id, Event(now, user, "scheduled", f"{draft_id} {at.isoformat()}"))
        buyer_local = at.astimezone(tz)
        self._note(
            inq,
            "draft.scheduled_note",
            user=user,
            buyer_time=f"{buyer_local:%Y-%m-%d %H:%M} {buyer_local.tzname() or ''}".strip(),
            team_time=f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>",
        )
        return at

    def send_due(self, now: datetime | None = None) -> int:
        """The scheduler's job: send every scheduled draft whose time has come (once)."""
        now = now or self.clock()
        due = [d for d in self.drafts.scheduled() if datetime.fromisoformat(str(d["send_at"])) <= now]
        sent = 0
        for d in due:
            draft_id = str(d["id"])
            try:
                self.send(
                    draft_id, str(d.get("scheduled_by") or d.get("created_by") or "bot"), scheduled=True
                )
                sent += 1
            except AlreadyTaken:
                continue  # another instance (or a member's click) sent it, or its schedule changed
            except InquiryDeskError as e:
                log.error("scheduled send of draft %s failed: %s", draft_id, e)
                # Failed before its claim (a guard, a quote risk): still scheduled, marked failed.
                # A failure of the mail itself was recorded by send(); never overwrite "sent".
                self.drafts.update_if(
                    draft_id, {"status": "failed", "error": str(e)[:300]}, only=("scheduled",)
                )
        return sent

    def _note(self, inq: Inquiry, key: str, **kw: str) -> None:
        self.outbox.enqueue(
            f"note:{inq.id}:{key}:{self.clock().timestamp()}",
            "note",
            inq.id,
            {"key": key, **kw},
            self.clock(),
        )
