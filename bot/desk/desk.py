"""The desk: what members do to an inquiry (claim, release, reassign, tier, status, …).

Also the team's verdicts on mail that is not on the desk yet (issue #12): *Real buyer* and
*Junk* on a "check first" card, *Rescue* of filtered mail; with *Not an inquiry* they teach the
desk (:mod:`bot.desk.learning`) and are recorded as events, so the audit chain holds them.

Every change is one read-modify-write under the store lock, so two members clicking
"Claim" at once end with exactly one owner; the loser gets :class:`Conflict` naming the
winner. Every change records an event and owes the outbox a card refresh and a line in
the card's thread. No Slack here: handlers translate results into messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.blocks.card import status_label
from bot.core.errors import Conflict, PermissionDenied, UsageError
from bot.core.models import Category, Event, Inquiry, Lane, Status, Tier
from bot.desk.ingest import mark_answered
from bot.desk.learning import Learning, label_of
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.desk.routing import Router, routed
from bot.triage.lanes import LURE_SUSPECTED
from bot.triage.reputation import DISMISSED, JUNK, REAL

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SNOOZE = timedelta(days=90)


def parse_duration(text: str) -> timedelta:
    """'30m', '4h', '2d', '1w' -> timedelta; UsageError otherwise."""
    m = _DURATION.match(text or "")
    if not m:
        raise UsageError(f"{text!r} is not a duration like 30m, 4h, 2d or 1w")
    seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    # Checked before building the timedelta: a huge number would overflow it.
    if not 60 <= seconds <= MAX_SNOOZE.total_seconds():
        raise UsageError("a snooze lasts between 1 minute and 90 days")
    return timedelta(seconds=seconds)


class Desk:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        clock: Callable[[], datetime],
        admins: frozenset[str],
        lang: str = "en",
        *,
        channel: str = "",
        router: Router | None = None,
        learning: Learning | None = None,
    ) -> None:
        self.lang = lang
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.admins = admins
        self.channel = channel  # the desk channel: a review card elsewhere is replaced by a card here
        self.router = router
        self.learning = learning or Learning(store)

    # ------------------------------------------------------------ plumbing
    def _change(
        self,
        inq_id: str,
        user: str,
        action: str,
        detail: str,
        change: Callable[[Inquiry], Inquiry],
        note: tuple[str, dict[str, Any]] | None,
    ) -> Inquiry:

        def apply(inq: Inquiry) -> Inquiry:
            new = change(inq)
            # Read the clock under the store lock, so the events' order is their times' order.
            return replace(new, events=(*new.events, Event(self.clock(), user, action, detail)))

        # The change and the Slack updates it owes become visible together.
        with self.store.transaction():
            inq = self.store.update(inq_id, apply)
            now = self.clock()
            if inq.triage.is_inquiry and inq.extra.get("backlog") and not inq.card_ts:
                # An inquiry of a backlog summary, acted on from the App Home: its card now.
                self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, now)
            if inq.triage.is_inquiry or inq.card_ts:
                self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
                if note is not None:
                    key, kwargs = note
                    self.outbox.enqueue(
                        f"note:{inq.id}:{len(inq.events)}", "note", inq.id, {"key": key, **kwargs}, now
                    )
        return inq

    def _may_manage(self, inq: Inquiry, user: str) -> bool:
        return inq.owner is None or inq.owner == user or user in self.admins

    def _require_manager(self, inq: Inquiry, user: str, what: str) -> None:
        if not (inq.owner == user or user in self.admins):
            raise PermissionDenied(what)

    # ------------------------------------------------------------- actions
    def claim(self, inq_id: str, user: str) -> Inquiry:
        def change(inq: Inquiry) -> Inquiry:
            if inq.owner == user:
                return inq
            if inq.owner is not None:
                raise Conflict(inq.owner)
            return replace(inq, owner=user)

        current = self.store.require(inq_id)
        if current.owner == user:
            return current
        return self._change(inq_id, user, "claimed", user, change, ("note.claimed", {"user": user}))

    def release(self, inq_id: str, user: str) -> Inquiry:
        def change(inq: Inquiry) -> Inquiry:
            if inq.owner is None:
                raise UsageError("not claimed")
            self._require_manager(inq, user, "release")
            return replace(inq, owner=None)

        return self._change(inq_id, user, "released", "", change, ("note.released", {"user": user}))

    def reassign(self, inq_id: str, user: str, new_owner: str) -> Inquiry:
        if not new_owner:
            raise UsageError("pick a member")

        def change(inq: Inquiry) -> Inquiry:
            if inq.owner is not None:
                self._require_manager(inq, user, "reassign")
            elif user != new_owner and user not in self.admins:
                raise PermissionDenied("reassign")
            return replace(inq, owner=new_owner)

        return self._change(
            inq_id,
            user,
            "reassigned",
            new_owner,
            change,
            ("note.reassigned", {"user": user, "owner": new_owner}),
        )

    def set_tier(self, inq_id: str, user: str, tier: str) -> Inquiry:
        try:
            new_tier = Tier(tier.upper())
        except ValueError as e:
            raise UsageError("tier is A, B or C") from e

        def change(inq: Inquiry) -> Inquiry:
            if not self._may_manage(inq, user):
                raise PermissionDenied("tier")
            return replace(inq, tier=new_tier)

        return self._change(
            inq_id,
            user,
            "tier",
            new_tier.value,
            change,
            ("note.tier", {"user": user, "tier": new_tier.value}),
        )

    def set_status(self, inq_id: str, user: str, status: str) -> Inquiry:
        try:
            new_status = Status(status.lower().replace(" ", "_").replace("-", "_"))
        except ValueError as e:
            raise UsageError("status is one of: " + ", ".join(s.value for s in Status)) from e

        dismissed: dict[str, str | None] = {}

        def change(inq: Inquiry) -> Inquiry:
            if new_status.closed:
                if inq.owner is not None:
                    self._require_manager(inq, user, "close")
            elif not self._may_manage(inq, user):
                raise PermissionDenied("status")
            if new_status is Status.NOT_INQUIRY and inq.status is not Status.NOT_INQUIRY:
                # "Not an inquiry" teaches the desk (issue #12).
                dismissed["previous"] = inq.extra.get("taught")
                return replace(inq, status=new_status, extra={**inq.extra, "taught": label_of(DISMISSED)})
            return replace(inq, status=new_status)

        with self.store.transaction():
            inq = self._change(
                inq_id,
                user,
                "status",
                new_status.value,
                change,
                ("note.status", {"user": user, "status": status_label(new_status, self.lang)}),
            )
            if dismissed:
                self.learning.teach(inq, DISMISSED, dismissed["previous"])
        return inq

    def snooze(self, inq_id: str, user: str, duration: str) -> Inquiry:
        until = self.clock() + parse_duration(duration)

        def change(inq: Inquiry) -> Inquiry:
            if not self._may_manage(inq, user):
                raise PermissionDenied("snooze")
            return replace(inq, snoozed_until=until)

        return self._change(
            inq_id,
            user,
            "snoozed",
            until.isoformat(),
            change,
            ("note.snoozed", {"user": user, "until": int(until.timestamp())}),
        )

    def note(self, inq_id: str, user: str, text: str) -> Inquiry:
        text = text.strip()
        if not text:
            raise UsageError("the note is empty")
        return self._change(
            inq_id,
            user,
            "note",
            text[:2000],
            lambda inq: inq,
            ("note.note", {"user": user, "text": text[:2000]}),
        )

    def mark_replied(self, inq_id: str, user: str) -> Inquiry:
        now = self.clock()

        def change(inq: Inquiry) -> Inquiry:
            if inq.sla_started_at is None:
                raise UsageError("nothing is waiting for a reply")
            return mark_answered(inq, now, user, "marked replied in Slack", now)

        with self.store.transaction():
            inq = self.store.update(inq_id, change)
            self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
            self.outbox.enqueue(
                f"note:{inq.id}:{len(inq.events)}", "note", inq.id, {"key": "note.replied", "user": user}, now
            )
        return inq

    def clear_warnings(self, inq_id: str, user: str, reason: str) -> Inquiry:
        """An admin clears the screening warnings that block Save and Send; audited."""
        if user not in self.admins:
            raise PermissionDenied("clear a screening warning")
        reason = reason.strip()
        if len(reason) < 10:
            raise UsageError("give a reason of at least 10 characters")

        def change(inq: Inquiry) -> Inquiry:
            return replace(inq, extra={**inq.extra, "warnings_cleared": user})

        return self._change(
            inq_id,
            user,
            "warning_cleared",
            reason[:500],
            change,
            ("note.warning_cleared", {"user": user, "text": reason[:500]}),
        )

    def rescue(self, inq_id: str, user: str) -> Inquiry:
        """Turn a filtered (or junked) mail into an inquiry: it gets a card and an SLA clock."""

        def check(inq: Inquiry) -> None:
            if inq.triage.is_inquiry:
                raise UsageError("already an inquiry")

        return self._promote(inq_id, user, "rescued", check)

    def real_buyer(self, inq_id: str, user: str) -> Inquiry:
        """*Real buyer* on a review card: the inquiry lane, its clock starting now."""

        def check(inq: Inquiry) -> None:
            if inq.triage.lane is Lane.INQUIRY:
                raise UsageError("already on the desk as an inquiry")
            if inq.triage.lane is not Lane.REVIEW:
                raise UsageError("this mail was junked; use Rescue to bring it back")

        return self._promote(inq_id, user, "real_buyer", check)

    def junk(self, inq_id: str, user: str) -> Inquiry:
        """*Junk* on a review card: filtered, the card says who junked it, the desk learns."""
        now = self.clock()
        previous: dict[str, str | None] = {}

        def change(inq: Inquiry) -> Inquiry:
            if inq.triage.lane is not Lane.REVIEW:
                raise UsageError("only a mail held for review can be junked")
            previous["label"] = inq.extra.get("taught")
            return replace(
                inq,
                triage=replace(
                    inq.triage,
                    lane=Lane.FILTERED,
                    is_inquiry=False,
                    category=Category.SPAM,
                    reason=f"junked by {user} (was: {inq.triage.reason})",
                ),
                status=Status.NOT_INQUIRY,
                extra={**inq.extra, "taught": label_of(JUNK)},
                events=(*inq.events, Event(now, user, "junked", "review")),
            )

        with self.store.transaction():
            inq = self.store.update(inq_id, change)
            self.learning.teach(inq, JUNK, previous.get("label"))
            if inq.card_ts:
                self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
                self.outbox.enqueue(
                    f"note:{inq.id}:{len(inq.events)}",
                    "note",
                    inq.id,
                    {"key": "note.junked", "user": user},
                    now,
                )
        return inq

    def _promote(self, inq_id: str, user: str, action: str, check: Callable[[Inquiry], None]) -> Inquiry:
        """Into the inquiry lane (rescue, real buyer): clock from now, routing, the desk learns.

        A review card in the desk channel becomes the normal card in place; one in another
        channel (``REVIEW_CHANNEL``) is updated to say where the mail went, and the normal card
        is posted in the desk channel."""
        now = self.clock()
        previous: dict[str, str | None] = {}

        def change(inq: Inquiry) -> Inquiry:
            check(inq)
            previous["label"] = inq.extra.get("taught")
            tier = inq.triage.tier or Tier.C
            was = inq.triage.lane.value
            new = replace(
                inq,
                triage=replace(
                    inq.triage,
                    lane=Lane.INQUIRY,
                    is_inquiry=True,
                    category=Category.INQUIRY,
                    reason=f"{'rescued by' if action == 'rescued' else 'real buyer per'} {user}"
                    f" (was: {inq.triage.reason})",
                    tier=tier,
                    # A person looked at it: the lure warning has had its say (the event keeps it).
                    warnings=tuple(w for w in inq.triage.warnings if w.code != LURE_SUSPECTED),
                ),
                tier=inq.tier or tier,
                status=Status.NEW,
                sla_started_at=now,
                extra={**inq.extra, "taught": label_of(REAL)},
                events=(*inq.events, Event(now, user, action, was)),
            )
            if inq.card_ts and self.channel and inq.card_channel != self.channel:
                new = replace(
                    new,
                    card_ts=None,
                    card_channel=None,
                    extra={**new.extra, "review_ts": inq.card_ts, "review_channel": inq.card_channel or ""},
                )
            return routed(new, self.router, now)

        with self.store.transaction():
            inq = self.store.update(inq_id, change)
            self.learning.teach(inq, REAL, previous.get("label"))
            if inq.card_ts:  # the review card, in the desk channel: it becomes the normal card
                self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
                self.outbox.enqueue(
                    f"note:{inq.id}:{len(inq.events)}",
                    "note",
                    inq.id,
                    {"key": f"note.{action}", "user": user},
                    now,
                )
            else:
                self.outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, now)
                if inq.extra.get("review_ts"):
                    self.outbox.enqueue(
                        f"review_update:{inq.id}", "review_update", inq.id, None, now, once=False
                    )
        return inq
