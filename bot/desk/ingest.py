"""Ingest: one fetched email in, one stored record out (new inquiry, follow-up or filtered).

The watcher calls :meth:`Ingestor.deliver` for every message; it parses, dedupes by
Message-ID (the parser synthesises one from the content hash when it is missing),
attaches follow-ups to their inquiry (In-Reply-To/References, or the same buyer and
normalised subject), triages new mail and owes the Slack side effects to the outbox.
Mail found in the Sent folder stops the SLA clock of the inquiry it answers.

Nothing raises out for bad mail: a message the parser could only partly read is still
stored with its defects listed. A failure to *store* does raise, so the watcher does not
advance its checkpoint past a message that was not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.core.models import (
    Category,
    Event,
    Inquiry,
    Lane,
    MessageRecord,
    ParsedEmail,
    Status,
    Triage,
    Warning,
)
from bot.desk.backlog import Backlog, dormant
from bot.desk.learning import Learning
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.desk.prework import MIN_BATCH, Prework, for_triage, sender_of
from bot.desk.routing import Router, routed
from bot.desk.triage_context import Trust
from bot.intake.parse import parse_email
from bot.intake.subject import normalize_subject
from bot.triage import ThreadHints, TriageConfig, triage
from bot.triage.filter import classify
from bot.triage.lanes import with_signals
from bot.triage.second_opinion import SecondOpinion
from bot.triage.signals.headers import server_says_forged
from bot.triage.tier import grade
from bot.trust import authentication_results

log = logging.getLogger(__name__)

MAX_STORED_TEXT = 8000
#: Senders whose thread hints one fetch batch keeps (a batch is 25 mails; a bound all the same).
MEMO_MAX = 1000


class Fetched(Protocol):
    @property
    def uid(self) -> int: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def internaldate(self) -> datetime: ...


@dataclass(frozen=True)
class IngestResult:
    # "new" | "review" | "filtered" | "followup" | "duplicate" | "answered" | "unmatched_sent"
    outcome: str
    inquiry_id: str | None
    message_id: str


class Ingestor:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        config: TriageConfig,
        clock: Callable[[], datetime],
        *,
        keep_raw: bool = False,
        sent_folders: frozenset[str] = frozenset(),
        router: Router | None = None,
        trust: Trust | None = None,
        prework: Prework | None = None,
        second_opinion: SecondOpinion | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        self.second_opinion = second_opinion
        self.backlog = backlog  # old mail of a catch-up goes into one summary (bot.desk.backlog)
        self.store = store
        self.outbox = outbox
        self.config = config
        self.clock = clock
        self.keep_raw = keep_raw  # the raw bytes of each mail go to the store (RawMail)
        self.sent_folders = sent_folders
        self.router = router
        self.trust = trust
        self.prework = prework
        self.learning = Learning(store, config.own_domains)
        # Each sender's thread hints, asked once per fetch batch instead of twice per mail: the
        # batch being prepared and the one being delivered (the watcher works one batch ahead).
        # Dropped when this ingestor stores an inquiry of that sender (see _hints_for).
        self._hint_memo: dict[str, ThreadHints] = {}
        self._hint_memo_before: dict[str, ThreadHints] = {}
        if trust is not None:
            # From an index (not every inquiry): start-up stays fast at a million inquiries.
            trust.learn_domains(store.buyer_domains())

    # ----------------------------------------------------------------- entry
    def prepare(self, raws: Sequence[bytes]) -> None:
        """A batch is about to be delivered: parse and triage it on the other cores."""
        self._hint_memo_before, self._hint_memo = self._hint_memo, {}
        if self.prework is not None and len(raws) >= MIN_BATCH:
            self.prework.submit([(raw, self._hints_for(sender_of(raw))) for raw in raws])

    def deliver(self, folder: str, fetched: Fetched) -> IngestResult:
        sent = folder in self.sent_folders
        verdict: Triage | None = None
        auth: Sequence[str] = ()
        complete = True
        if self.prework is not None:
            # Parse, triage and the trust headers run in a budgeted worker, not in this thread.
            ahead = self.prework.submitted(fetched.raw)
            hints = None if sent else ThreadHints() if ahead else self._hints_for(sender_of(fetched.raw))
            outcome, used = self.prework.outcome(fetched.raw, hints)
            email, verdict, auth = outcome.email, outcome.verdict, outcome.auth_results
            complete = outcome.complete
            if outcome.complete and verdict is not None and not sent and used != self._hints(email):
                # The store learnt about this sender since the batch was sent ahead: triage
                # again with what it knows now (bounded: the text is cut, the patterns linear).
                verdict = self.prework.retriage(email, self._hints(email))
        else:
            email = parse_email(fetched.raw)
            if self.trust is not None and not sent:
                auth = authentication_results(fetched.raw)
        self._keep_raw(email, fetched.raw)
        if sent:
            return self.record_sent(email, fetched.internaldate, folder=folder, uid=fetched.uid)
        if complete:  # never ask about (or re-triage here) a mail a worker could not finish
            verdict = self._second_look(email, verdict)
        return self.ingest(
            email,
            fetched.internaldate,
            folder=folder,
            uid=fetched.uid,
            auth_results=auth if self.trust is not None else (),
            verdict=verdict,
            catch_up=True,
        )

    def _second_look(self, email: ParsedEmail, verdict: Triage | None) -> Triage | None:
        """The model's opinion on a new mail in the grey zone, asked outside the store lock
        (a slow model never holds up a click); None/unchanged when not configured."""
        if self.second_opinion is None or self.store.find_by_message_id(email.message_id) is not None:
            return verdict
        if self._thread_of(email) is not None:  # a follow-up: its inquiry's lane stands
            return verdict
        ahead = verdict if verdict is not None else triage(email, self.config, self._hints(email))
        return self.second_opinion.consider(email, ahead, self.config.thresholds)

    def parse(self, raw: bytes) -> ParsedEmail:
        """One mail parsed under the worker budget (in process when there is no worker pool)."""
        if self.prework is None:
            return parse_email(raw)
        return self.prework.outcome(raw, None)[0].email

    def _keep_raw(self, email: ParsedEmail, raw: bytes) -> None:
        if self.keep_raw:  # a copy kept already stays as it is (one statement, not two)
            self.store.save_raw(email.content_hash, raw)

    # ---------------------------------------------------------------- inbound
    def ingest(
        self,
        email: ParsedEmail,
        arrived: datetime,
        *,
        folder: str = "INBOX",
        uid: int | None = None,
        auth_results: Sequence[str] = (),
        verdict: Triage | None = None,
        catch_up: bool = False,
    ) -> IngestResult:
        """Store one parsed email. ``verdict``: its triage without thread hints, computed
        ahead (see :mod:`bot.desk.prework`); recomputed here when the buyer is known. ``catch_up``:
        the watcher found it (mail older than the backlog age then joins the summary)."""
        old = catch_up and self.backlog is not None and self.backlog.is_old(arrived)
        with self.store.transaction():
            known = self.store.find_by_message_id(email.message_id)
            if known is not None:
                log.info("duplicate message skipped (uid=%s)", uid)
                self._owe_again(known, email.message_id)
                return IngestResult("duplicate", known, email.message_id)
            record = _record(email, arrived, "in", folder, uid)
            thread_id = self._thread_of(email)
            if thread_id is not None:
                return self._follow_up(thread_id, email, record, arrived, auth_results, old=old)
            return self._new(email, record, arrived, folder, auth_results, verdict, old=old)

    def _owe_again(self, inq_id: str, message_id: str) -> None:
        """Owe the Slack delivery of a message seen before, unless it was delivered.

        A crash after a message is stored but before its card or thread post is owed would
        lose that post: the watcher delivers the message again (its checkpoint did not move),
        and it lands here. The outbox refuses keys it already holds or delivered."""
        inq = self.store.get(inq_id)
        if inq is None or inq.triage.lane is Lane.FILTERED or not inq.messages:
            return
        if dormant(inq):
            return  # in a backlog summary: its card (and thread) come when someone asks
        now = self.clock()
        if inq.messages[0].message_id == message_id:
            if not inq.card_ts:
                if inq.triage.lane is Lane.REVIEW:
                    self.outbox.enqueue(f"review:{inq.id}", "review_card", inq.id, None, now)
                else:
                    self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, now)
            return
        msg = next((m for m in inq.messages if m.message_id == message_id), None)
        if msg is not None and msg.direction == "in" and msg.slack_ts is None:
            self.outbox.enqueue(f"thread:{message_id}", "followup", inq.id, {"message_id": message_id}, now)

    def _thread_of(self, email: ParsedEmail) -> str | None:
        for mid in (email.in_reply_to, *reversed(email.references)):
            if mid:
                found = self.store.find_by_message_id(mid)
                if found is not None:
                    return found
        key = normalize_subject(email.subject)
        if key and email.from_addr:
            found = self.store.find_thread(email.from_addr, key)
            if found is not None:
                inq = self.store.get(found)
                if inq is not None and inq.triage.lane is not Lane.FILTERED:
                    return found
        return None

    def _trust(self, email: ParsedEmail, verdict: Triage, auth_results: Sequence[str]) -> tuple[Warning, ...]:
        """Trust warnings for one buyer mail; remembers its bank ids for the next one."""
        if self.trust is None:
            return ()
        email = for_triage(email)  # the trust checks scan the text: its start, as triage does
        key = f"bank:{email.from_addr}"
        known = frozenset(self.store.get_meta(key, []) or [])
        warnings = self.trust.warnings(email, verdict, auth_results, known_bank_ids=known)
        seen = self.trust.bank_ids_of(email)
        if seen - known:
            self.store.set_meta(key, sorted(known | seen))
        if verdict.is_inquiry and email.from_addr:
            self.trust.learn([email.from_addr])
        return warnings

    def _follow_up(
        self,
        inq_id: str,
        email: ParsedEmail,
        record: MessageRecord,
        arrived: datetime,
        auth_results: Sequence[str] = (),
        *,
        old: bool = False,
    ) -> IngestResult:
        category, _ = classify(email, self.config.own_domains)
        # A colleague's reply stops the clock; a forgery of our domain (failing DMARC at our own
        # server) is a buyer-side message with a warning, never "answered".
        forged = server_says_forged(email, self.config.authserv_id)
        internal = category is Category.INTERNAL and forged is None
        automatic = category in (Category.AUTO_REPLY, Category.BOUNCE)
        if internal:
            record = replace(record, direction="out")
            return self._answered(inq_id, record, arrived, actor="mail", how="colleague's reply in the inbox")

        current = self.store.require(inq_id)
        # A follow-up to an inquiry of a backlog summary: an old one waits for the card (posted
        # into its thread then); a fresh one makes the inquiry live, so its card is owed now.
        asleep = dormant(current) and current.triage.lane is not Lane.FILTERED
        if asleep and not old and not automatic and self.backlog is not None:
            self.backlog.owe_card(current)
            asleep = False
        found = () if automatic else self._trust(email, current.triage, auth_results)
        new_warnings = tuple(w for w in found if w.code not in {x.code for x in current.triage.warnings})

        def change(inq: Inquiry) -> Inquiry:
            # A review item has no clock until a person calls it a real buyer.
            restart = not automatic and not inq.status.closed and inq.triage.is_inquiry and not asleep
            return replace(
                inq,
                triage=replace(inq.triage, warnings=(*inq.triage.warnings, *new_warnings)),
                messages=(*inq.messages, record),
                sla_started_at=(inq.sla_started_at or arrived) if restart else inq.sla_started_at,
                events=(
                    *inq.events,
                    Event(self.clock(), "mail", "followup", "auto-reply" if automatic else ""),
                ),
            )

        inq = self.store.update(inq_id, change)
        self._forget_hints(inq.buyer_addr)
        now = self.clock()
        if inq.triage.lane is not Lane.FILTERED and not asleep:  # into the card's (or review card's) thread
            self.outbox.enqueue(
                f"thread:{record.message_id}", "followup", inq.id, {"message_id": record.message_id}, now
            )
            self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
            for w in new_warnings:
                self.outbox.enqueue(
                    f"warn:{record.message_id}:{w.code}",
                    "note",
                    inq.id,
                    {"key": "note.warning", "code": w.code, "text": w.detail},
                    now,
                )
        log.info("follow-up stored on inquiry %s", inq.id)
        return IngestResult("followup", inq.id, email.message_id)

    def _new(
        self,
        email: ParsedEmail,
        record: MessageRecord,
        arrived: datetime,
        folder: str,
        auth_results: Sequence[str] = (),
        ahead: Triage | None = None,
        *,
        old: bool = False,
    ) -> IngestResult:
        verdict = ahead if ahead is not None else triage(email, self.config, self._hints(email))
        verdict = self._learnt(email, record, verdict)
        if verdict.lane is not Lane.FILTERED:  # a review card shows the trust warnings too
            verdict = replace(
                verdict, warnings=_merge(verdict.warnings, self._trust(email, verdict, auth_results))
            )
        review = verdict.lane is Lane.REVIEW
        inq_id = self.store.next_id()
        now = self.clock()
        inq = Inquiry(
            id=inq_id,
            created_at=arrived,
            buyer_addr=email.from_addr,
            buyer_name=email.from_name,
            subject=email.subject,
            subject_key=normalize_subject(email.subject),
            triage=verdict,
            status=Status.NEW if verdict.is_inquiry or review else Status.NOT_INQUIRY,
            tier=verdict.tier,
            sla_started_at=arrived if verdict.is_inquiry else None,
            messages=(record,),
            events=(Event(now, "mail", "received", verdict.reason),),
        )
        if email.date_utc_offset_minutes is not None:
            inq = replace(inq, extra={**inq.extra, "utc_offset": str(email.date_utc_offset_minutes)})
        if (verdict.is_inquiry or review) and folder.lower() not in ("inbox",):
            inq = replace(inq, extra={**inq.extra, "found_in": folder})
        backlog = self.backlog.join(folder) if old and self.backlog is not None else None
        if backlog is not None:  # no card and no clock yet: counted in one summary card
            inq = replace(inq, sla_started_at=None, extra={**inq.extra, "backlog": backlog})
        if verdict.is_inquiry:
            inq = routed(inq, self.router, now)
        self.store.add(inq)
        self._forget_hints(inq.buyer_addr)
        if verdict.is_inquiry and backlog is not None:
            log.info("inquiry %s stored into backlog %s (no card yet)", inq.id, backlog)
            return IngestResult("new", inq.id, email.message_id)
        if verdict.is_inquiry:
            self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, now)
            log.info(
                "inquiry %s stored (tier %s, %s)",
                inq.id,
                verdict.tier and verdict.tier.value,
                verdict.market.value,
            )
            return IngestResult("new", inq.id, email.message_id)
        if review:
            # A "check first" card: no clock, no routing, no pings until a person decides.
            if backlog is None:  # a backlog one comes with the A and B cards (bot.desk.backlog)
                self.outbox.enqueue(f"review:{inq.id}", "review_card", inq.id, None, now)
            log.info("mail %s held for review (risk %g)", inq.id, verdict.risk.score)
            return IngestResult("review", inq.id, email.message_id)
        log.info("filtered mail %s stored: %s", inq.id, verdict.category.value)
        return IngestResult("filtered", inq.id, email.message_id)

    def _learnt(self, email: ParsedEmail, record: MessageRecord, verdict: Triage) -> Triage:
        """``verdict`` with what the team's clicks taught (reputation, text model), lane decided
        again. A sender the team confirmed as a buyer is an inquiry even if the filter called
        the mail a newsletter or spam (an auto-reply or a bounce stays filtered)."""
        if not email.from_addr or verdict.category in (
            Category.AUTO_REPLY,
            Category.BOUNCE,
            Category.INTERNAL,
        ):
            return verdict
        signals = self.learning.signals(email.from_addr, email.subject, record.new_text)
        if not signals:
            return verdict
        if verdict.category is not Category.INQUIRY:
            if not self.learning.trusted(signals):
                return verdict
            tier, tier_reasons = grade(email, verdict.language)
            verdict = replace(
                verdict,
                category=Category.INQUIRY,
                reason=f"a sender the team confirmed as a buyer (the filter said: {verdict.reason})",
                tier=tier,
                reasons=(*tier_reasons, *verdict.reasons),
            )
        return with_signals(verdict, signals, self.config.thresholds)

    def _forget_hints(self, sender: str) -> None:
        self._hint_memo.pop(sender, None)
        self._hint_memo_before.pop(sender, None)

    def _hints(self, email: ParsedEmail) -> ThreadHints:
        return self._hints_for(email.from_addr)

    def _hints_for(self, sender: str) -> ThreadHints:
        """Earlier inquiries from the same buyer tell us their language and country. With a
        worker pool (the watcher's batches) the answer is kept for two batches or until this
        ingestor stores an inquiry of ``sender``; a change made elsewhere meanwhile (a click)
        is seen two batches later at most."""
        memo = self._hint_memo if self.prework is not None else None
        if memo is not None:
            known = memo.get(sender) or self._hint_memo_before.get(sender)
            if known is not None:
                memo[sender] = known
                return known
        earlier = self.store.latest_inquiry_of_buyer(sender) if sender else None
        hints = (
            ThreadHints(language=earlier.triage.language, country=earlier.triage.country)
            if earlier is not None
            else ThreadHints()
        )
        if memo is not None and len(memo) < MEMO_MAX:
            memo[sender] = hints
        return hints

    # -------------------------------------------------------------- outbound
    def record_sent(
        self, email: ParsedEmail, sent_at: datetime, *, folder: str = "Sent", uid: int | None = None
    ) -> IngestResult:
        """A reply sent from any mail client: stop the clock of the inquiry it answers."""
        with self.store.transaction():
            if self.store.find_by_message_id(email.message_id) is not None:
                return IngestResult(
                    "duplicate", self.store.find_by_message_id(email.message_id), email.message_id
                )
            inq_id = None
            for mid in (email.in_reply_to, *reversed(email.references)):
                if mid and (inq_id := self.store.find_by_message_id(mid)) is not None:
                    break
            if inq_id is None:
                key = normalize_subject(email.subject)
                for rcpt in email.to:
                    if key and (inq_id := self.store.find_thread(rcpt, key)) is not None:
                        break
            if inq_id is None:
                return IngestResult("unmatched_sent", None, email.message_id)
            record = _record(email, sent_at, "out", folder, uid)
            return self._answered(inq_id, record, sent_at, actor="mail", how="reply sent from a mail client")

    def _answered(
        self, inq_id: str, record: MessageRecord, at: datetime, *, actor: str, how: str
    ) -> IngestResult:
        def change(inq: Inquiry) -> Inquiry:
            return mark_answered(inq, at, actor, how, self.clock(), record)

        inq = self.store.update(inq_id, change)
        now = self.clock()
        self.outbox.enqueue(
            f"thread:{record.message_id}", "note", inq.id, {"key": "note.answered", "how": how}, now
        )
        self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
        log.info("inquiry %s answered (%s)", inq.id, how)
        return IngestResult("answered", inq.id, record.message_id)


def mark_answered(
    inq: Inquiry, at: datetime, actor: str, how: str, now: datetime, record: MessageRecord | None = None
) -> Inquiry:
    """The team answered: stop the SLA clock, remember the first response time."""
    messages = inq.messages if record is None else (*inq.messages, record)
    return replace(
        inq,
        messages=messages,
        sla_started_at=None,
        answered_at=at,
        first_response_at=inq.first_response_at or at,
        events=(*inq.events, Event(now, actor, "replied", how)),
    )


def _merge(first: tuple[Warning, ...], more: tuple[Warning, ...]) -> tuple[Warning, ...]:
    """``first`` then the warnings of ``more`` whose code is not there yet."""
    codes = {w.code for w in first}
    return (*first, *(w for w in more if w.code not in codes))


def _record(email: ParsedEmail, at: datetime, direction: str, folder: str, uid: int | None) -> MessageRecord:
    text = email.new_text or email.text
    return MessageRecord(
        message_id=email.message_id,
        direction=direction,
        received_at=at,
        from_addr=email.from_addr,
        subject=email.subject,
        new_text=text[:MAX_STORED_TEXT],
        attachments=email.attachments[:200],
        defects=email.defects[:20],
        folder=folder,
        uid=uid,
    )
