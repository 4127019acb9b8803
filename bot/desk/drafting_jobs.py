"""Drafting jobs: request → "drafting…" in the card's thread → the draft (or an error) there.

Slack listeners only enqueue work here; a small pool of worker threads (``LLM_WORKERS``)
calls the model, so a slow LLM never holds a Bolt thread or the 3-second ack. Every Slack
post goes through the outbox, like every other side effect, as three kinds the delivery
worker runs through :meth:`DraftingJobs.delivery_kinds`:

- ``draft_placeholder`` (key ``drafting:<job>``): the "drafting…" message in the card's thread;
  its ts is recorded on the inquiry (``extra["draft_placeholders"]``, job → ts);
- ``draft_shown`` (key ``draft-shown:<job>``): the placeholder replaced by the draft's first
  message, or by the error with its Retry button (waits for the placeholder);
- ``draft_more`` (key ``draft-more:<job>:<n>``): a long draft's numbered follow-ups "(2/3)",
  one item per message, each owing the next, so they keep their order.

Posts are tagged with their key (found again after a crash), a recorded placeholder is not
posted again, and an update is idempotent, so a crash or a retry shows each message once. Keys
are unique per job (a fresh id per draft) and only the item before owes the next, so the outbox
need not remember them once delivered (``once=False``: one store write less per message).
Drafts are stored before they are shown. Nothing is ever sent from here: the model's output is
text for a person to check (see :mod:`bot.desk.draft_sending`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.blocks.draft import draft_error_blocks, draft_messages, drafting_placeholder
from bot.blocks.localize import draft_flag
from bot.core.errors import DraftingError, NotFound, UsageError
from bot.core.i18n import t
from bot.core.models import Event, Inquiry
from bot.desk.delivery import DeliveryWorker, KindHandler, Retry
from bot.desk.draft_sending import QuoteGate
from bot.desk.outbox import Outbox, OutboxItem
from bot.desk.ports import Blocks, DraftRepo, InquiryRepo
from bot.drafting.service import Drafter, request_from_inquiry

log = logging.getLogger(__name__)

LLM_WORKERS = 2
KIND_PLACEHOLDER = "draft_placeholder"
KIND_SHOWN = "draft_shown"
KIND_MORE = "draft_more"
PLACEHOLDERS = "draft_placeholders"  # inquiry extra: JSON {job: placeholder ts}
KEEP_PLACEHOLDERS = 10  # the last few jobs of an inquiry; older ones are long shown
WAIT_FOR_PLACEHOLDER = 1.0  # seconds before a draft looks again for its placeholder
MAX_PLACEHOLDER_WAITS = 300  # then the placeholder is taken as lost: the draft is posted instead


def placeholders(inq: Inquiry) -> dict[str, str]:
    """The inquiry's drafting placeholders, job → ts (empty when none or unreadable)."""
    try:
        found = json.loads(inq.extra.get(PLACEHOLDERS) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def with_placeholder(inq: Inquiry, job: str, ts: str) -> Inquiry:
    """``inq`` with the placeholder of ``job`` recorded (only the last ``KEEP_PLACEHOLDERS``)."""
    known = {**placeholders(inq), job: ts}
    kept = dict(list(known.items())[-KEEP_PLACEHOLDERS:])
    return replace(inq, extra={**inq.extra, PLACEHOLDERS: json.dumps(kept)})


def _messages(payload: dict[str, Any]) -> list[tuple[str, Blocks]]:
    return [(str(text), list(blocks)) for text, blocks in payload.get("messages", [])]


class DraftingJobs:
    def __init__(
        self,
        store: InquiryRepo,
        drafts: DraftRepo,
        outbox: Outbox,
        drafter: Drafter,
        clock: Callable[[], datetime],
        *,
        lang: str,
        rep_name: Callable[[str], str],
        gate: QuoteGate,
        workers: int = LLM_WORKERS,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.drafter = drafter
        self.clock = clock
        self.lang = lang
        self.rep_name = rep_name
        self.gate = gate
        self.drafts = drafts
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")

    def submit(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the drafting pool (slow work after a listener's ack)."""
        self.pool.submit(job)

    # ---------------------------------------------------------------- requests
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

    def regenerate(
        self, draft_id: str, user: str, *, scenario: str | None = None, instruction: str = ""
    ) -> None:
        d = self.drafts.get(draft_id)
        if d is None:
            raise NotFound(f"no draft {draft_id}")
        self.request(
            str(d["inquiry_id"]), user, scenario=scenario or str(d["scenario"]), instruction=instruction
        )

    def _draft_job(self, inq_id: str, user: str, scenario: str | None, instruction: str) -> None:
        try:
            self.run_draft(inq_id, user, scenario=scenario, instruction=instruction)
        except Exception:  # the pool would swallow it: log with the traceback instead
            log.exception("drafting for inquiry %s failed", inq_id)

    def run_draft(
        self, inq_id: str, user: str, *, scenario: str | None = None, instruction: str = ""
    ) -> str | None:
        """Synchronous drafting (the worker's job); returns the draft id, or None on failure.
        What it shows in Slack is owed to the outbox (delivered by the delivery worker)."""
        inq = self.store.require(inq_id)
        job = f"{inq_id}:{uuid.uuid4().hex[:12]}"
        self.outbox.enqueue(
            f"drafting:{job}", KIND_PLACEHOLDER, inq_id, {"job": job}, self.clock(), once=False
        )
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
            error = draft_error_blocks(
                inq_id, t("draft.llm_failed", self.lang, error=str(e)[:200]), self.lang
            )
            self._show(inq_id, job, [error], None)
            return None
        risks = self.gate.risks(draft.body)
        if risks:
            draft = replace(draft, flags=(*draft.flags, *(f"{f.code}: {f.detail}" for f in risks)))
        draft_id = self.drafts.add(
            {
                "inquiry_id": inq.id,
                "subject": draft.subject,
                "body": draft.body,
                "to": inq.buyer_addr,
                "language": draft.language,
                "flags": list(draft.flags),
                "scenario": draft.scenario,
                "is_template": draft.is_template,
                "ts": "",  # the placeholder's, once shown (draft_shown)
                "status": "drafted",
                "created_by": user,
                "created_at": self.clock().isoformat(),
            }
        )
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
        self._show(inq_id, job, messages, draft_id)
        return draft_id

    def _show(self, inq_id: str, job: str, messages: list[tuple[str, Blocks]], draft_id: str | None) -> None:
        payload = {"job": job, "draft_id": draft_id or "", "messages": [list(m) for m in messages]}
        self.outbox.enqueue(f"draft-shown:{job}", KIND_SHOWN, inq_id, payload, self.clock(), once=False)

    # ---------------------------------------------------------------- delivery
    def delivery_kinds(self) -> dict[str, KindHandler]:
        """The outbox kinds of drafting, for the delivery worker."""
        return {
            KIND_PLACEHOLDER: self.deliver_placeholder,
            KIND_SHOWN: self.deliver_shown,
            KIND_MORE: self.deliver_more,
        }

    def _inquiry(self, item: OutboxItem) -> Inquiry | None:
        inq = self.store.get(item.inquiry_id or "")
        if inq is None:
            log.error("delivery %s names unknown inquiry %s; dropped", item.key, item.inquiry_id)
        return inq

    def deliver_placeholder(self, item: OutboxItem, worker: DeliveryWorker) -> None:
        inq = self._inquiry(item)
        job = str(item.payload.get("job", ""))
        if inq is None or job in placeholders(inq):
            return  # gone, or posted and recorded before a crash
        if not inq.card_ts:
            raise Retry(5, "card not posted yet")
        text, blocks = drafting_placeholder(self.lang)
        ts = worker.post_once(item, inq.card_channel or worker.channel, text, blocks, inq.card_ts)
        self.store.update(inq.id, lambda cur: with_placeholder(cur, job, ts))

    def deliver_shown(self, item: OutboxItem, worker: DeliveryWorker) -> None:
        """The placeholder replaced by the draft (or the error); if the placeholder never got
        posted (given up for good), the draft is posted in the thread after a while instead."""
        inq = self._inquiry(item)
        messages = _messages(item.payload)
        if inq is None or not messages:
            return
        job = str(item.payload.get("job", ""))
        channel = inq.card_channel or worker.channel
        text, blocks = messages[0]
        ts = placeholders(inq).get(job)
        if ts is not None:
            worker.chat.update(channel, ts, text, blocks)
        elif item.attempts < MAX_PLACEHOLDER_WAITS:
            raise Retry(WAIT_FOR_PLACEHOLDER, "the drafting placeholder is not posted yet")
        else:
            ts = worker.post_once(item, channel, text, blocks, inq.card_ts)
        draft_id = str(item.payload.get("draft_id") or "")
        if draft_id:
            self.drafts.update(draft_id, {"ts": ts})
        self._more(inq.id, job, 1, messages[1:])

    def deliver_more(self, item: OutboxItem, worker: DeliveryWorker) -> None:
        """One numbered follow-up of a long draft in the card's thread, then the next is owed."""
        inq = self._inquiry(item)
        messages = _messages(item.payload)
        if inq is None or not messages or not inq.card_ts:
            return
        text, blocks = messages[0]
        worker.post_once(item, inq.card_channel or worker.channel, text, blocks, inq.card_ts)
        self._more(inq.id, str(item.payload.get("job", "")), int(item.payload.get("n", 1)) + 1, messages[1:])

    def _more(self, inq_id: str, job: str, n: int, messages: list[tuple[str, Blocks]]) -> None:
        if messages:
            payload = {"job": job, "n": n, "messages": [list(m) for m in messages]}
            self.outbox.enqueue(f"draft-more:{job}:{n}", KIND_MORE, inq_id, payload, self.clock(), once=False)
