"""The SLA tick's pre-filter (``Store.due_candidates``) never loses a ping.

The tick reads only the open inquiries that may owe a ping; the pure engine still decides. Here
the same varied desk (every market, tiers, owners, answered and waiting, snoozed, warnings and
breaches already recorded, closed and filtered mail, per-inquiry windows) is ticked twice, side
by side, through a fortnight of irregular ticks with buyers writing, the team answering,
snoozing and closing in between: once with the backend's pre-filter and once with a reference
store whose read is every open inquiry (what the tick read before). Both must owe exactly the
same pings with the same payloads, and the engine must find the same pings in the pre-filter's
read as in every open inquiry, under three SLA/follow-up policies (business calendars,
unusual ladders, a market left to each inquiry's own window).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.store.memory import MemoryStore
from bot.core.models import Inquiry, Market, Status, Tier
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.desk.reminders import Reminders
from bot.sla.calendar import BusinessCalendar
from bot.sla.engine import SlaPolicy, SlaState, due_pings, earliest_event_offset, parse_warn_at, sla_state
from bot.sla.followup import FollowupPolicy, earliest_followup_delay
from tests.inquiries import make_inquiry, make_triage
from tests.store_backends import LOCAL_BACKENDS

T0 = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)  # a Monday morning in Europe

POLICIES: dict[str, SlaPolicy] = {
    "defaults": SlaPolicy(),
    "calendars": SlaPolicy(
        hours={Market.EU: 2.0, Market.US: 8.0, Market.SEA: 0.5, Market.OTHER: 24.0},
        warn_at=parse_warn_at("90%,30m,10m"),
        calendars={
            Market.EU: BusinessCalendar("Europe/Berlin"),
            Market.SEA: BusinessCalendar("Asia/Ho_Chi_Minh"),
        },
        followup=FollowupPolicy(every_days={Tier.A: 0.25, Tier.B: 2.0, Tier.C: 7.0}, stop_after_days=5.0),
    ),
    "own_windows": SlaPolicy(  # US, SEA and OTHER take each inquiry's triage.sla_hours
        hours={Market.EU: 8.0},
        warn_at=parse_warn_at(""),
        followup=FollowupPolicy(stop_after_days=None),
    ),
}


class EveryOpenInquiry(MemoryStore):
    """The reference: the tick's read is every open inquiry, as before the pre-filter."""

    def due_candidates(
        self, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
    ) -> list[Inquiry]:
        return self.open_inquiries()


class RecordingOutbox(Outbox):
    """The real outbox, also keeping what the tick enqueued (to compare payloads)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.calls: list[tuple[str, str, str | None, dict[str, Any] | None]] = []

    def enqueue(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any] | None,
        now: datetime,
        *,
        once: bool = True,
        low: bool = False,
    ) -> bool:
        self.calls.append((key, kind, inquiry_id, payload))
        return super().enqueue(key, kind, inquiry_id, payload, now, once=once, low=low)


def _desk(rng: random.Random, n: int) -> list[Inquiry]:
    markets, tiers = list(Market), [Tier.A, Tier.B, Tier.C, None]
    out = []
    for i in range(1, n + 1):
        market = markets[i % len(markets)]
        triage = make_triage(
            market=market, tier=rng.choice(tiers[:3]), sla_hours=rng.choice([0.25, 2.0, 8.0, 30.0])
        )
        ago = timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        kind = rng.randrange(10)
        fields: dict[str, Any] = {
            "triage": triage,
            "tier": rng.choice(tiers),
            "owner": rng.choice([None, "UANNA", "UBEN"]),
            "created_at": T0 - ago - timedelta(days=1),
        }
        if kind < 4:  # a buyer message waiting
            fields["sla_started_at"] = T0 - ago
            fields["answered_at"] = rng.choice([None, T0 - ago - timedelta(days=1)])
        elif kind < 8:  # answered, the buyer owes us a reply
            fields["sla_started_at"] = None
            fields["answered_at"] = T0 - timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        elif kind == 8:  # neither (an old import)
            fields["sla_started_at"] = None
        else:
            fields["status"] = rng.choice([Status.WON, Status.LOST])
        if rng.random() < 0.2:
            fields["snoozed_until"] = T0 + timedelta(hours=rng.choice([-3, 2, 30]))
        if rng.random() < 0.05:
            fields["triage"] = make_triage(is_inquiry=False, market=market)
            fields["status"] = Status.NOT_INQUIRY
        out.append(make_inquiry(str(i), **fields))
    return out


def _change(rng: random.Random, inq: Inquiry, now: datetime) -> Inquiry:
    """What the desk does between ticks: a buyer writes, we answer, snooze, close or claim."""
    roll = rng.randrange(6)
    if roll == 0:
        return replace(inq, sla_started_at=inq.sla_started_at or now)
    if roll == 1:
        return replace(inq, sla_started_at=None, answered_at=now)
    if roll == 2:
        return replace(inq, snoozed_until=now + timedelta(hours=rng.choice([1, 5, 26])))
    if roll == 3:
        return replace(inq, snoozed_until=None)
    if roll == 4:
        return replace(inq, status=Status.WON)
    return replace(inq, owner=rng.choice([None, "UANNA", "UCAT"]))


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
@pytest.mark.parametrize("backend", sorted(LOCAL_BACKENDS))
def test_the_pre_filtered_tick_owes_exactly_the_pings_of_the_full_read(
    tmp_path: Path, backend: str, policy_name: str
) -> None:
    filtered = LOCAL_BACKENDS[backend](tmp_path, None)
    try:
        side_by_side(filtered, policy_name, f"{backend}/{policy_name}", rounds=200)
    finally:
        filtered.close()


def side_by_side(filtered: Store, policy_name: str, seed: str, rounds: int) -> None:
    """Tick ``filtered`` and the reference side by side (also run on PostgreSQL, from
    tests/integration/test_pg_sla_tick_prefilter.py)."""
    policy = POLICIES[policy_name]
    rng = random.Random(seed)
    reference: Store = EveryOpenInquiry()
    desk = _desk(rng, 120)
    for store in (filtered, reference):
        for inq in desk:
            store.add(inq)
    now = T0
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    outboxes = RecordingOutbox(filtered), RecordingOutbox(reference)
    ticks = tuple(
        Reminders(s, o, policy, clock, admins=frozenset({"UADMIN"}))
        for s, o in zip((filtered, reference), outboxes, strict=True)
    )
    read_sizes: list[tuple[int, int]] = []
    total = 0
    steps = [7, 23, 61, 180, 1, 400]
    for n in range(rounds):  # 200: about 10 days of irregular ticks
        now = T0 + timedelta(minutes=sum(steps[k % len(steps)] for k in range(n)))
        for o in outboxes:
            o.calls.clear()
        waiting_before = now - earliest_event_offset(policy)
        answered_before = now - earliest_followup_delay(policy.followup)
        read = filtered.due_candidates(waiting_before, answered_before, policy.followup)
        full = filtered.open_inquiries()
        assert due_pings(read, now, policy) == due_pings(sorted(full, key=lambda i: int(i.id)), now, policy)
        read_sizes.append((len(read), len(full)))
        owed = [t.sla_tick(now) for t in ticks]
        assert owed[0] == owed[1], f"tick {n} at {now}"
        total += owed[0]
        pings = [sorted(c for c in o.calls if c[1] != "card_update") for o in outboxes]
        assert pings[0] == pings[1], f"tick {n} at {now}"
        # every card whose clock moved to at risk or breached is re-rendered, as before
        updated = [{c[2] for c in o.calls if c[1] == "card_update"} for o in outboxes]
        moved = {
            i
            for i in updated[1]
            if i is not None
            and sla_state(reference.require(i), now, policy) in (SlaState.AT_RISK, SlaState.BREACHED)
        }
        assert moved <= updated[0], f"tick {n} at {now}"
        for inq_id in {str(rng.randrange(1, 121)) for _ in range(4)}:
            change = rng.random()
            for store in (filtered, reference):
                store.update(inq_id, lambda i, c=change, at=now: _change(random.Random(c), i, at))  # type: ignore[misc]
    for inq in reference.all_inquiries():
        assert filtered.require(inq.id).pings_sent == inq.pings_sent
    assert total > 100  # the desk owed plenty: warnings, breaches and follow-ups
    kinds = {c[0].split(":")[0] for o in outboxes[:1] for c in o.calls} | {
        k.split(":")[0] for inq in reference.all_inquiries() for k in inq.pings_sent
    }
    assert {"sla", "fu"} <= kinds
    # and the read is smaller than every open inquiry once breaches are recorded
    assert sum(r for r, _ in read_sizes[-50:]) < sum(f for _, f in read_sizes[-50:])
