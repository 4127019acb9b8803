"""Backfill as a summary (issue #16): old mail found by a catch-up becomes one summary card.

When the watcher catches up (first start, or after an outage) on mail whose INTERNALDATE is
older than ``BACKFILL_SUMMARY_AFTER_MINUTES``, each such mail is stored as usual but marked
``extra["backlog"] = <batch>`` and owes no card: an inquiry gets no card and no SLA clock, a
"check first" mail no review card (no clock either, as always), filtered mail is only counted. When
every folder that fed the batch has caught up (:meth:`Backlog.caught_up`, called by the watcher
after each pass), ONE summary card is owed (``backlog-summary:<batch>``). Its buttons:

- *Post the A and B cards*: owes ``backlog-release:<batch>`` once (a second click is refused);
  the delivery worker then owes ``card:<id>`` for the batch's open A and B inquiries, A first,
  oldest first, and ``review:<id>`` for its mail held for a check (it needs a person's call and
  has no other way to reach one), all at low priority, so a new mail's card always goes first;
- *Show in App Home*: the clicker's Home switches to the "backlog" queue (not yet carded).

SLA choice: a backlog inquiry's clock starts when its card is posted (after the click, or when
a person acts on it from the App Home, which owes its card), never at its old arrival time, so
10,000 old mails do not page the team at once. A fresh follow-up from the buyer owes the card
at once (the thread is live again); old follow-ups are posted into the thread when the card is.

State (idempotent across restarts): the open batch in the store's meta (``backlog:open``: id
and the folders still catching up), a per-batch record (``backlog:batch:<id>``: the summary's
ts, who released it), and keyed outbox entries for every post.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.blocks.home_queue import HomeFilter
from bot.config.settings import Config
from bot.core.models import BacklogCounts, Inquiry, Lane
from bot.desk.outbox import Outbox, OutboxItem
from bot.desk.ports import Blocks, Store

log = logging.getLogger(__name__)

OPEN_KEY = "backlog:open"
SEQ_KEY = "backlog:seq"
SUMMARY_KIND = "backlog_summary"
RELEASE_KIND = "backlog_release"
RELEASED_TIERS = ("A", "B")
RELEASE_SPACING = timedelta(milliseconds=1)
RELEASE_CHUNK = 250  # cards owed per delivery pass  # keeps the owed cards in order (A first, oldest first)


def state_key(batch: str) -> str:
    return f"backlog:batch:{batch}"


def summary_key(batch: str) -> str:
    return f"backlog-summary:{batch}"


def release_key(batch: str) -> str:
    return f"backlog-release:{batch}"


def batch_of(inq: Inquiry) -> str | None:
    value = inq.extra.get("backlog")
    return str(value) if value else None


def dormant(inq: Inquiry) -> bool:
    """A backlog mail whose card is not posted (nor owed through a person's action)."""
    return batch_of(inq) is not None and not inq.card_ts


def tier_of(inq: Inquiry) -> str:
    tier = inq.tier or inq.triage.tier
    return tier.value if tier else "?"


def count(members: Iterable[Inquiry]) -> BacklogCounts:
    tiers: Counter[str] = Counter()
    markets: Counter[str] = Counter()
    held = filtered = inquiries = carded = releasable = held_unposted = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    for inq in members:
        oldest = inq.created_at if oldest is None else min(oldest, inq.created_at)
        newest = inq.created_at if newest is None else max(newest, inq.created_at)
        if inq.triage.is_inquiry:
            inquiries += 1
            tiers[tier_of(inq)] += 1
            markets[inq.triage.market.value] += 1
            carded += bool(inq.card_ts)
            releasable += releasable_card(inq)
        elif inq.triage.lane is Lane.REVIEW:
            held += 1
            held_unposted += not inq.card_ts
        else:
            filtered += 1
    return BacklogCounts(
        inquiries,
        dict(tiers),
        dict(markets),
        held,
        filtered,
        oldest,
        newest,
        carded,
        releasable,
        held_unposted,
    )


def releasable_card(inq: Inquiry) -> bool:
    return (
        inq.triage.is_inquiry and not inq.status.closed and not inq.card_ts and tier_of(inq) in RELEASED_TIERS
    )


def card_posted(inq: Inquiry, now: datetime) -> Inquiry:
    """A backlog inquiry's card went up: its SLA clock starts now (unless answered or closed)."""
    if (
        batch_of(inq) is None
        or inq.sla_started_at is not None
        or inq.answered_at is not None
        or inq.status.closed
        or not inq.triage.is_inquiry
    ):
        return inq
    return replace(inq, sla_started_at=now)


def unposted_followups(inq: Inquiry) -> list[str]:
    """Buyer messages after the first that never reached the card's thread."""
    return [m.message_id for m in inq.messages[1:] if m.direction == "in" and not m.slack_ts]


SummaryRenderer = Callable[[str, BacklogCounts, dict[str, Any]], tuple[str, Blocks]]
PostOnce = Callable[[OutboxItem, str, str, Blocks | None], str]


class Backlog:
    """Marks old mail, closes batches, and delivers the summary and the release."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        clock: Callable[[], datetime],
        after: timedelta,
        *,
        channel: str = "",
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.after = after
        self.channel = channel

    def show_in_home(self, user: str) -> None:
        """Switch ``user``'s App Home to the backlog queue (inquiries with no card yet)."""
        self.store.set_home_state(user, HomeFilter(queue="backlog").to_doc())

    # ------------------------------------------------------------ ingest side

    def is_old(self, arrived: datetime) -> bool:
        return arrived < self.clock() - self.after

    def join(self, folder: str) -> str:
        """The open batch's id (opened now if none), with ``folder`` among its feeders."""
        with self.store.transaction():
            doc = self.store.get_meta(OPEN_KEY)
            if not isinstance(doc, dict):
                seq = int(self.store.get_meta(SEQ_KEY, 0) or 0) + 1
                self.store.set_meta(SEQ_KEY, seq)
                doc = {"id": str(seq), "folders": [folder], "opened": self.clock().isoformat()}
                self.store.set_meta(OPEN_KEY, doc)
                log.info("backlog %s opened: old mail goes into one summary", seq)
            elif folder not in doc.get("folders", []):
                doc = {**doc, "folders": [*doc.get("folders", []), folder]}
                self.store.set_meta(OPEN_KEY, doc)
            return str(doc["id"])

    def caught_up(self, folder: str) -> str | None:
        """``folder`` delivered everything it had; when it was the last feeder of the open batch,
        the batch closes and owes its summary. Returns the closed batch's id, if any."""
        with self.store.transaction():
            doc = self.store.get_meta(OPEN_KEY)
            if not isinstance(doc, dict) or folder not in doc.get("folders", []):
                return None
            rest = [f for f in doc.get("folders", []) if f != folder]
            if rest:
                self.store.set_meta(OPEN_KEY, {**doc, "folders": rest})
                return None
            batch = str(doc["id"])
            # Owed before the open marker goes: a crash in between repeats a keyed no-op.
            self.outbox.enqueue(summary_key(batch), SUMMARY_KIND, None, {"batch": batch}, self.clock())
            self.store.set_meta(OPEN_KEY, None)
        log.info("backlog %s closed: one summary card owed", batch)
        return batch

    def owe_card(self, inq: Inquiry) -> None:
        """A person or the buyer made a dormant mail live: its card now, at normal priority."""
        if not dormant(inq):
            return
        if inq.triage.is_inquiry:
            self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, self.clock())
        elif inq.triage.lane is Lane.REVIEW:
            self.outbox.enqueue(f"review:{inq.id}", "review_card", inq.id, None, self.clock())

    # -------------------------------------------------------------- queries
    def members(self, batch: str) -> list[Inquiry]:
        return [i for i in self.store.all_inquiries() if batch_of(i) == batch]

    def counts(self, batch: str) -> BacklogCounts:
        return count(self.members(batch))

    def state(self, batch: str) -> dict[str, Any]:
        doc = self.store.get_meta(state_key(batch))
        return dict(doc) if isinstance(doc, dict) else {}

    def _set_state(self, batch: str, **change: Any) -> dict[str, Any]:
        with self.store.transaction():
            doc = {**self.state(batch), **change}
            self.store.set_meta(state_key(batch), doc)
            return doc

    # ---------------------------------------------------------------- clicks
    def release(self, batch: str, user: str) -> bool:
        """*Post the A and B cards*: owe them once. False when already owed (or no such batch)."""
        if not batch.isdigit() or int(batch) > int(self.store.get_meta(SEQ_KEY, 0) or 0):
            return False
        now = self.clock()
        with self.store.transaction():
            owed = self.outbox.enqueue(
                release_key(batch), RELEASE_KIND, None, {"batch": batch, "user": user}, now
            )
            if owed:
                self._set_state(batch, released_by=user, released_at=now.isoformat())
        if owed:
            log.info("backlog %s: the A and B cards were asked for", batch)
        return owed

    # -------------------------------------------------------------- delivery
    def deliver_summary(self, item: OutboxItem, post_once: PostOnce, render: SummaryRenderer) -> None:
        batch = str(item.payload["batch"])
        text, blocks = render(batch, self.counts(batch), self.state(batch))
        ts = post_once(item, self.channel, text, blocks)
        self._set_state(batch, ts=ts, channel=self.channel)

    def deliver_release(
        self,
        item: OutboxItem,
        update: Callable[[str, str, str, Blocks | None], None],
        render: SummaryRenderer,
    ) -> bool:
        """Owe the batch's A and B cards, then its held ones, ``RELEASE_CHUNK`` per call (the
        worker goes on with other items in between, so a new mail's card never waits for
        thousands of inserts). Keyed: a repeat after a crash owes nothing twice. True when all
        are owed (the summary then shows who asked); False: call again."""
        batch = str(item.payload["batch"])
        state = self.state(batch)
        plan = state.get("plan")
        if not isinstance(plan, list):
            members = self.members(batch)
            chosen = sorted(
                (i for i in members if releasable_card(i)),
                key=lambda i: (tier_of(i), i.created_at, int(i.id) if i.id.isdigit() else 0),
            )
            held = sorted(
                (i for i in members if i.triage.lane is Lane.REVIEW and not i.card_ts),
                key=lambda i: (i.created_at, int(i.id) if i.id.isdigit() else 0),
            )
            plan = [["card", i.id] for i in chosen] + [["review", i.id] for i in held]
            state = self._set_state(
                batch, plan=plan, next=0, owed=len(chosen), held=len(held), start=self.clock().isoformat()
            )
        start = datetime.fromisoformat(str(state["start"]))
        first = int(state.get("next", 0))
        with self.store.batch():
            for n, (kind, inq_id) in enumerate(plan[first : first + RELEASE_CHUNK], start=first):
                due = start + n * RELEASE_SPACING
                if kind == "card":
                    self.outbox.enqueue(f"card:{inq_id}", "card", inq_id, None, due, low=True)
                else:
                    self.outbox.enqueue(f"review:{inq_id}", "review_card", inq_id, None, due, low=True)
            done = first + RELEASE_CHUNK >= len(plan)
            state = self._set_state(
                batch, next=min(len(plan), first + RELEASE_CHUNK), plan=None if done else plan
            )
        if not done:
            return False
        if state.get("ts") and state.get("channel"):
            text, blocks = render(batch, self.counts(batch), state)
            update(str(state["channel"]), str(state["ts"]), text, blocks)
        log.info("backlog %s: %d card(s) owed", batch, len(plan))
        return True


def from_config(
    config: Config, store: Store, outbox: Outbox, clock: Callable[[], datetime]
) -> Backlog | None:
    """The backlog summary as configured (``BACKFILL_SUMMARY_AFTER_MINUTES``, 0: off)."""
    minutes = config.backfill_summary_after_minutes
    if minutes is None or config.slack is None:
        return None
    return Backlog(store, outbox, clock, timedelta(minutes=minutes), channel=config.slack.channel)
