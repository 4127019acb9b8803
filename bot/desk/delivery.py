"""The delivery worker: takes due outbox items and performs them through the chat port.

One thread, so Slack sees at most one write at a time from us; posts to one channel are
spaced by ``min_interval`` (Slack allows about one message per second per channel).
Temporary failures (429 with Retry-After, 5xx, network) are retried with backoff,
honouring Retry-After; permanent ones are retried a few times, then moved to the dead
letter table and logged as errors (``doctor`` lists them). Every kind is idempotent:
what was delivered is recorded on the inquiry (card ts, message ts), so a repeat after a
crash finds it done. Kinds owned by other modules (drafting jobs: ``draft_placeholder``,
``draft_shown``, ``draft_more``; the backlog summary) are given to the constructor as ``kinds``.

Several instances on one store (PostgreSQL): each worker takes due items with the store's claim
(``due()`` leases them to this instance, so no other instance delivers them until the lease
ends — a crashed instance's items are taken by another then), and ``pace`` (the coordination's
shared slot per channel) spaces the posts of every instance together. While a claimed batch is
delivered its leases are renewed (:class:`bot.desk.leases.LeaseKeeper`); an item whose lease went
to another instance is skipped, before its delivery or right before its post, and logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.errors import ChatError, TemporaryChatError
from bot.core.models import Event, Inquiry, Lane
from bot.desk.backlog import card_posted, unposted_followups
from bot.desk.erase_posts import erase_posts
from bot.desk.leases import LeaseKeeper, LeaseLost
from bot.desk.outbox import Outbox, OutboxItem
from bot.desk.ports import Blocks, Chat, Store

log = logging.getLogger(__name__)

CardRenderer = Callable[[Inquiry, datetime], tuple[str, Blocks]]
NoteRenderer = Callable[[Inquiry, dict[str, Any]], tuple[str, Blocks | None]]
KindHandler = Callable[[OutboxItem, "DeliveryWorker"], None]
"""Delivers one item of a kind owned elsewhere (drafting jobs), through the worker's posts."""

MAX_PERMANENT_ATTEMPTS = 3
MAX_BACKOFF = 60.0  # seconds: after an outage, owed posts resume within a minute


class Retry(Exception):
    """Deliver this item later (e.g. the card it belongs under is not posted yet)."""

    def __init__(self, seconds: float, why: str) -> None:
        super().__init__(why)
        self.seconds = seconds


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        chat: Chat,
        channel: str,
        clock: Callable[[], datetime],
        render_card: CardRenderer,
        render_note: NoteRenderer,
        *,
        min_interval: float = 1.0,
        review_channel: str | None = None,
        render_review: CardRenderer | None = None,
        kinds: Mapping[str, KindHandler] | None = None,
        pace: Callable[[str, float], float] | None = None,
        claim_limit: int = 20,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.chat = chat
        self.channel = channel
        self.clock = clock
        self.render_card = render_card
        self.render_note = render_note
        self.min_interval = min_interval
        self.review_channel = review_channel or channel  # "check first" cards (issue #12)
        self.render_review = render_review or render_card
        self.wake = threading.Event()
        self._last_post: dict[str, float] = {}
        self.kinds = dict(kinds or {})  # outbox kinds owned by other modules (drafting, backlog)
        self.shared_pace = pace  # seconds to wait for the channel's next slot, across instances
        self.claim_limit = claim_limit
        self._lease: LeaseKeeper | None = None  # the claimed batch being delivered (run_once)
        self._current: str | None = None  # the key of the item being delivered

    # ----------------------------------------------------------------- loop
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                delivered = self.run_once(self.claim_limit)
            except Exception:  # the worker must survive anything; the item stays pending
                log.exception("delivery pass failed")
                delivered = 0
            if delivered:
                continue
            next_at = self.outbox.next_due_at()
            wait = 1.0 if next_at is None else max(0.05, min(1.0, next_at - self.clock().timestamp()))
            self.wake.wait(wait)
            self.wake.clear()

    def run_once(self, limit: int = 20) -> int:
        """Deliver what is due now; return how many items were handled (skipped ones not counted:
        another instance holds them)."""
        items = self.outbox.due(self.clock(), limit)
        if not items:
            return 0
        done = 0
        with LeaseKeeper(self.outbox.renew, self.outbox.lease_s, [i.key for i in items]) as lease:
            self._lease = lease
            try:
                for item in items:
                    if not lease.renew([item.key]):
                        log.warning("delivery %s skipped: its lease went to another instance", item.key)
                        continue
                    self._current = item.key
                    try:
                        self.deliver(item)
                    except LeaseLost:
                        log.warning(
                            "delivery %s stopped before its post: its lease went to another instance",
                            item.key,
                        )
                        continue
                    finally:
                        self._current = None
                        lease.release(item.key)
                    done += 1
                    if item.low:  # one backlog card at a time: a new mail's card may be due now
                        break
            finally:
                self._lease = None
        return done

    def deliver(self, item: OutboxItem) -> None:
        now = self.clock()
        try:
            self._dispatch(item)
        except Retry as r:
            self.outbox.retry(item.key, now + timedelta(seconds=r.seconds), str(r))
            return
        except TemporaryChatError as e:
            delay = (
                e.retry_after if e.retry_after is not None else min(MAX_BACKOFF, 2.0 ** min(item.attempts, 8))
            )
            log.warning("delivery %s postponed %.1fs: %s", item.key, delay, e)
            self.outbox.retry(item.key, now + timedelta(seconds=delay), str(e))
            return
        except ChatError as e:
            if item.attempts + 1 >= MAX_PERMANENT_ATTEMPTS:
                log.error("delivery %s failed for good: %s", item.key, e)
                self.outbox.give_up(item.key, now, str(e))
            else:
                log.warning("delivery %s failed (%s); will retry", item.key, e)
                self.outbox.retry(item.key, now + timedelta(seconds=30), str(e))
            return
        self.outbox.done(item.key, self.clock())

    # ------------------------------------------------------------- kinds
    def _pace(self, channel: str) -> None:
        """Wait for the channel's next slot; then make sure the item is still ours to post."""
        self._wait_slot(channel)
        if self._lease is not None and self._current is not None and not self._lease.holds(self._current):
            raise LeaseLost(self._current)

    def _wait_slot(self, channel: str) -> None:
        if self.shared_pace is not None:
            try:
                wait = self.shared_pace(channel, self.min_interval)
            except Exception as e:  # the shared slot is out of reach: pace this instance alone
                log.warning("shared pacing unavailable (%s); pacing locally", type(e).__name__)
            else:
                if wait > 0:
                    time.sleep(wait)
                return
        last = self._last_post.get(channel)
        if last is not None:
            gap = self.min_interval - (time.monotonic() - last)
            if gap > 0:
                time.sleep(gap)
        self._last_post[channel] = time.monotonic()

    def _post(self, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None = None) -> str:
        self._pace(channel)
        return self.chat.post(channel, text, blocks, thread_ts)

    def post_once(
        self, item: OutboxItem, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None = None
    ) -> str:
        """A post exactly once, top-level or in a thread (for kinds delivered elsewhere)."""
        return self._post_once(item, channel, text, blocks, thread_ts)

    def _post_once(
        self, item: OutboxItem, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None = None
    ) -> str:
        """A post exactly once: tagged with the outbox key, looked up after a crash."""
        if item.tried:
            found = self.chat.find_reply(channel, thread_ts, item.key)
            if found is not None:
                return found
        else:
            self.outbox.mark_tried(item.key)
        self._pace(channel)
        return self.chat.post(channel, text, blocks, thread_ts, tag=item.key)

    def _dispatch(self, item: OutboxItem) -> None:
        owned = self.kinds.get(item.kind)
        if owned is not None:
            owned(item, self)
            return
        if item.kind == "channel_message":
            channel = str(item.payload.get("channel") or self.channel)
            self._post_once(item, channel, item.payload["text"], item.payload.get("blocks"))
            return
        if item.kind == "erase_posts":  # the bot's posts about an erased person (bot.records.privacy)
            erase_posts(self.chat, self.store, self.render_note, item)
            return
        if item.kind == "dm":
            channel = self.chat.dm_channel(str(item.payload["user"]))
            self._post_once(item, channel, item.payload["text"], item.payload.get("blocks"))
            return
        inq = self.store.get(item.inquiry_id or "")
        if inq is None:
            log.error("delivery %s names unknown inquiry %s; dropped", item.key, item.inquiry_id)
            return
        if item.kind == "card":
            self._card(inq)
        elif item.kind == "review_card":
            self._review_card(inq)
        elif item.kind == "review_update":
            # The review card of a mail that moved on (its normal card went to the desk channel).
            review_ts, review_channel = inq.extra.get("review_ts"), inq.extra.get("review_channel")
            if review_ts and review_channel:
                text, blocks = self.render_review(inq, self.clock())
                self.chat.update(review_channel, review_ts, text, blocks)
        elif item.kind == "card_update":
            if inq.card_ts and inq.card_channel:
                text, blocks = self.render_card(inq, self.clock())
                self.chat.update(inq.card_channel, inq.card_ts, text, blocks)
        elif item.kind == "followup":
            self._followup(item, inq, str(item.payload.get("message_id", "")))
        elif item.kind in ("note", "ping_thread"):
            if not inq.card_ts:
                if inq.triage.lane is not Lane.FILTERED:
                    raise Retry(5, "card not posted yet")
                return  # filtered mail has no card and needs no story
            note_text, note_blocks = self.render_note(inq, item.payload)
            self._post_once(item, inq.card_channel or self.channel, note_text, note_blocks, inq.card_ts)
        elif item.kind == "ping_dm":
            dm_text, dm_blocks = self.render_note(inq, item.payload)
            self._post_once(item, self.chat.dm_channel(str(item.payload["user"])), dm_text, dm_blocks)
        else:
            log.error("unknown outbox kind %s (%s); dropped", item.kind, item.key)

    def _card(self, inq: Inquiry, channel: str | None = None, event: str = "card_posted") -> None:
        channel = channel or self.channel
        if inq.card_ts:
            return  # delivered before a crash: nothing to repeat
        ts: str | None = None
        if inq.extra.get("card_attempted") == channel or inq.extra.get("card_attempted") == "1":
            # An earlier attempt may have reached Slack before we could record it.
            ts = self.chat.find_card(channel, inq.id)
        if ts is None:
            self.store.update(
                inq.id, lambda cur: replace(cur, extra={**cur.extra, "card_attempted": channel})
            )
            text, blocks = self.render_card(inq, self.clock())
            self._pace(channel)
            ts = self.chat.post(channel, text, blocks, None, card_of=inq.id)
        now = self.clock()
        posted = self.store.update(
            inq.id,
            lambda cur: card_posted(  # a backlog inquiry's SLA clock starts now (bot.desk.backlog)
                replace(
                    cur,
                    card_ts=ts,
                    card_channel=channel,
                    events=(*cur.events, Event(now, "bot", event, ts)),
                ),
                now,
            ),
        )
        for message_id in unposted_followups(posted) if posted.extra.get("backlog") else ():
            # Old follow-ups of a backlog inquiry waited for its card: into the thread now.
            self.outbox.enqueue(f"thread:{message_id}", "followup", inq.id, {"message_id": message_id}, now)
        log.info("%s for inquiry %s", event.replace("_", " "), inq.id)

    def _review_card(self, inq: Inquiry) -> None:
        """A "check first" card, in the review channel; nothing when a person already decided
        (the normal card is owed under ``card:<id>`` then) or it was posted before a crash."""
        if inq.triage.lane is not Lane.REVIEW or inq.card_ts:
            return
        self._card(inq, self.review_channel, "review_card_posted")

    def _followup(self, item: OutboxItem, inq: Inquiry, message_id: str) -> None:
        msg = next((m for m in inq.messages if m.message_id == message_id), None)
        if msg is None or msg.slack_ts:
            return
        if not inq.card_ts:
            raise Retry(5, "card not posted yet")
        text, blocks = self.render_note(inq, {"key": "note.followup", "message_id": message_id})
        ts = self._post_once(item, inq.card_channel or self.channel, text, blocks, inq.card_ts)

        def record(cur: Inquiry) -> Inquiry:
            msgs = tuple(replace(m, slack_ts=ts) if m.message_id == message_id else m for m in cur.messages)
            return replace(cur, messages=msgs)

        self.store.update(inq.id, record)
