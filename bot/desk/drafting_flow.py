"""Drafting as the desk sees it: request → "drafting…" in the thread → the draft → save/send.

Slack listeners only enqueue work here; a small pool of worker threads (``LLM_WORKERS``)
calls the model, so a slow LLM never holds a Bolt thread or the 3-second ack. Drafts are
stored (``drafts.json``) before they are shown. Nothing is ever sent without a
member's click: the model's output is text for a person to check, never an action.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from email.utils import formataddr, getaddresses
from functools import partial
from typing import Any, TypeVar

from bot.adapters.mail.outgoing import ImapWriter, MailOutError, SmtpSender, compose_reply
from bot.blocks.card import blocking_warnings
from bot.blocks.draft import draft_error_blocks, draft_messages, drafting_placeholder
from bot.blocks.localize import draft_flag
from bot.core.errors import DraftingError, InquiryDeskError, NotFound, PermissionDenied, UsageError
from bot.core.i18n import t
from bot.core.models import Event, Inquiry, MessageRecord
from bot.desk.chat import Chat, TemporaryChatError
from bot.desk.ingest import mark_answered
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.drafting.service import Draft, Drafter, request_from_inquiry
from bot.sla.buyer_time import buyer_timezone, next_morning
from bot.trust.quote_risk import Finding, QuotePolicy, check_quote

log = logging.getLogger(__name__)

LLM_WORKERS = 2
SLACK_ATTEMPTS = 6
T = TypeVar("T")


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


class DraftingFlow:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        chat: Chat,
        drafter: Drafter,
        clock: Callable[[], datetime],
        *,
        lang: str,
        channel: str,
        rep_name: Callable[[str], str],
        from_addr: str,
        smtp: SmtpSender | None = None,
        imap: ImapWriter | None = None,
        workers: int = LLM_WORKERS,
        quote_policy: QuotePolicy | None = None,
        quote_rates: Mapping[str, float] | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.chat = chat
        self.drafter = drafter
        self.clock = clock
        self.lang = lang
        self.channel = channel
        self.rep_name = rep_name
        self.from_addr = from_addr
        self.smtp = smtp
        self.imap = imap
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
        self.quote_policy = quote_policy
        self.quote_rates = dict(quote_rates or {"USD": 1.0})
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- drafts
    def request(self, inq_id: str, user: str, *, scenario: str | None = None, instruction: str = "") -> None:
        """Acknowledge at once; the draft appears in the card's thread when ready."""
        inq = self.store.require(inq_id)
        if not inq.card_ts:
            if inq.extra.get("backlog") and inq.triage.is_inquiry:
                # From a backlog summary (bot.desk.backlog), asked for from the App Home: card it now.
                self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, self.clock())
                raise UsageError("its card is being posted now: click Draft again in a moment")
            raise UsageError("the card is not posted yet")
        self.pool.submit(self._draft_job, inq_id, user, scenario, instruction)

    def _draft_job(self, inq_id: str, user: str, scenario: str | None, instruction: str) -> None:
        try:
            self.run_draft(inq_id, user, scenario=scenario, instruction=instruction)
        except Exception:  # the pool would swallow it: log with the traceback instead
            log.exception("drafting for inquiry %s failed", inq_id)

    def run_draft(
        self, inq_id: str, user: str, *, scenario: str | None = None, instruction: str = ""
    ) -> str | None:
        """Synchronous drafting (the worker's job); returns the draft id, or None on failure."""
        inq = self.store.require(inq_id)
        channel = inq.card_channel or self.channel
        text, blocks = drafting_placeholder(self.lang)
        placeholder = self._slack(lambda: self.chat.post(channel, text, blocks, inq.card_ts))
        request = request_from_inquiry(
            inq,
            team_language=self.lang,
            rep_name=self.rep_name(user),
            instruction=instruction,
            scenario=scenario,
        )
        try:
            draft = self.drafter.draft(request)
        except DraftingError as e:
            log.warning("LLM drafting failed for inquiry %s: %s", inq_id, type(e).__name__)
            err_text, err_blocks = draft_error_blocks(
                inq_id, t("draft.llm_failed", self.lang, error=str(e)[:200]), self.lang
            )
            self._slack(lambda: self.chat.update(channel, placeholder, err_text, err_blocks))
            return None
        risks = self.quote_risks(draft.body)
        if risks:
            draft = replace(draft, flags=(*draft.flags, *(f"{f.code}: {f.detail}" for f in risks)))
        draft_id = self._save_draft(inq, draft, user, placeholder)
        messages = draft_messages(
            inq_id,
            draft_id,
            draft.subject,
            draft.body,
            draft.translation_of_email,
            draft.translation_of_draft,
            draft.is_template,
            [draft_flag(f, self.lang) for f in draft.flags],
            draft.scenario,
            self.lang,
        )
        # Stored before it is shown: whoever sees the draft in Slack finds its event in the store.
        self.store.update(
            inq_id,
            lambda i: replace(
                i, events=(*i.events, Event(self.clock(), user, "drafted", f"{draft_id} {draft.scenario}"))
            ),
        )
        d_text, d_blocks = messages[0]
        self._slack(lambda: self.chat.update(channel, placeholder, d_text, d_blocks))
        # A long draft continues in the thread, numbered "(2/3)": the rep sees all of it.
        for more_text, more_blocks in messages[1:]:
            self._slack(partial(self.chat.post, channel, more_text, more_blocks, inq.card_ts))
        return draft_id

    def _slack(self, call: Callable[[], T]) -> T:
        """A Slack call from a drafting worker, retried through rate limits and brief outages
        (honouring Retry-After); the last error is raised (and logged by the job)."""
        for attempt in range(SLACK_ATTEMPTS):
            try:
                return call()
            except TemporaryChatError as e:
                if attempt == SLACK_ATTEMPTS - 1:
                    raise
                wait = e.retry_after if e.retry_after is not None else 2.0**attempt
                log.warning("Slack busy while drafting (%s); retrying in %.0f s", e, min(wait, 30.0))
                time.sleep(min(wait, 30.0))
        raise AssertionError("unreachable")

    def _save_draft(self, inq: Inquiry, draft: Draft, user: str, ts: str) -> str:
        return self.store.drafts.add(
            {
                "inquiry_id": inq.id,
                "subject": draft.subject,
                "body": draft.body,
                "to": inq.buyer_addr,
                "language": draft.language,
                "flags": list(draft.flags),
                "scenario": draft.scenario,
                "is_template": draft.is_template,
                "ts": ts,
                "status": "drafted",
                "created_by": user,
                "created_at": self.clock().isoformat(),
            }
        )

    def quote_risks(self, text: str) -> list[Finding]:
        """Prices under the floor, payment terms, lead times, bank details (prompts/ policy)."""
        if self.quote_policy is None:
            return []
        return check_quote(text, self.quote_policy, rates=self.quote_rates)

    def get_draft(self, draft_id: str) -> dict[str, Any]:
        doc = self.store.drafts.get(draft_id)
        if doc is None:
            raise NotFound(f"no draft {draft_id}")
        return doc

    def _set_draft(self, draft_id: str, **fields: Any) -> None:
        self.store.drafts.update(draft_id, fields)

    def regenerate(
        self, draft_id: str, user: str, *, scenario: str | None = None, instruction: str = ""
    ) -> None:
        d = self.get_draft(draft_id)
        self.request(
            str(d["inquiry_id"]), user, scenario=scenario or str(d["scenario"]), instruction=instruction
        )

    # ------------------------------------------------------------ save/send
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
    ) -> Any:
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

    def save_to_drafts(self, draft_id: str, user: str) -> str:
        d = self.get_draft(draft_id)
        inq = self.store.require(str(d["inquiry_id"]))
        self._guard(inq)
        if self.imap is None:
            raise UsageError("no mailbox configured (IMAP_HOST) to save drafts to")
        msg = self._compose(inq, d, user, None, None, None)
        try:
            folder = self.imap.append("drafts", msg, ["\\Draft"])
        except MailOutError as e:
            raise UsageError(str(e)) from e
        self._set_draft(draft_id, status="saved")
        self.store.update(
            inq.id, lambda i: replace(i, events=(*i.events, Event(self.clock(), user, "saved", draft_id)))
        )
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
    ) -> None:
        """Send after a member's click (or the Edit & send modal), copy to Sent, stop the clock.

        Quote risks in the text (price under the floor, terms, lead time, bank details) stop
        the send with :class:`QuoteRisk` unless ``confirm_risks``: the member's second,
        explicit confirmation, which is recorded on the inquiry and in the audit trail."""
        d = self.get_draft(draft_id)
        if d.get("status") in ("sent", "sending"):
            raise UsageError("this draft was already sent")
        inq = self.store.require(str(d["inquiry_id"]))
        self._guard(inq)
        risks = self.quote_risks(body if body is not None else str(d["body"]))
        if risks and not confirm_risks:
            raise QuoteRisk(draft_id, risks)
        if risks:
            codes = ",".join(sorted({f.code for f in risks}))
            self.store.update(
                inq.id,
                lambda i: replace(
                    i,
                    events=(
                        *i.events,
                        Event(self.clock(), user, "quote_risk_confirmed", f"{draft_id} {codes}"),
                    ),
                ),
            )
        if self.smtp is None:
            raise UsageError("no SMTP server configured (SMTP_HOST) to send with")
        msg = self._compose(inq, d, user, subject, body, to)
        with self._lock:
            if self.get_draft(draft_id).get("status") in ("sent", "sending"):
                raise UsageError("this draft was already sent")
            self._set_draft(draft_id, status="sending")
            try:
                self.smtp.send(msg)
            except MailOutError as e:
                self._set_draft(draft_id, status="failed", error=str(e)[:300])
                raise UsageError(str(e)) from e
            self._set_draft(draft_id, status="sent", message_id=str(msg["Message-ID"]))
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
        if self.imap is not None:
            try:
                self.imap.append("sent", msg, ["\\Seen"])
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
        if self.smtp is None:
            raise UsageError("no SMTP server configured (SMTP_HOST) to send with")
        now = self.clock()
        offset = inq.extra.get("utc_offset")
        tz = buyer_timezone(inq.triage.country, int(offset) if offset else None, now)
        if tz is None:
            raise UsageError("the buyer's time zone is unknown (no country, no Date offset)")
        at = next_morning(now, tz)
        self._set_draft(draft_id, status="scheduled", send_at=at.isoformat(), scheduled_by=user)
        self.store.update(
            inq.id,
            lambda i: replace(
                i, events=(*i.events, Event(now, user, "scheduled", f"{draft_id} {at.isoformat()}"))
            ),
        )
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
        due = [d for d in self.store.drafts.scheduled() if datetime.fromisoformat(str(d["send_at"])) <= now]
        sent = 0
        for d in due:
            try:
                self.send(str(d["id"]), str(d.get("scheduled_by") or d.get("created_by") or "bot"))
                sent += 1
            except InquiryDeskError as e:
                log.error("scheduled send of draft %s failed: %s", d["id"], e)
                self._set_draft(str(d["id"]), status="failed", error=str(e)[:300])
        return sent

    def _note(self, inq: Inquiry, key: str, **kw: str) -> None:
        self.outbox.enqueue(
            f"note:{inq.id}:{key}:{self.clock().timestamp()}",
            "note",
            inq.id,
            {"key": key, **kw},
            self.clock(),
        )
