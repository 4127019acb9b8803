"""Builders for the SLA tests: inquiries with sensible defaults and a fixed-clock tick runner.

Kept local to the SLA tests (tests/factories.py belongs to another module's owner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.models import Category, Inquiry, Market, Status, Tier, Triage
from bot.sla import Ping, SlaPolicy, due_pings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
_UNSET = datetime.min.replace(tzinfo=UTC)


def make_inquiry(
    id: str = "inq1",
    *,
    market: Market = Market.EU,
    tier: Tier | None = Tier.B,
    created_at: datetime = T0,
    sla_started_at: datetime | None = _UNSET,
    answered_at: datetime | None = None,
    first_response_at: datetime | None = None,
    owner: str | None = None,
    status: Status = Status.NEW,
    snoozed_until: datetime | None = None,
    pings_sent: Sequence[str] = (),
    is_inquiry: bool = True,
    sla_hours: float = 8.0,
) -> Inquiry:
    """An inquiry; by default a fresh unanswered one whose clock started at ``created_at``."""
    triage = Triage(
        is_inquiry=is_inquiry,
        category=Category.INQUIRY if is_inquiry else Category.NEWSLETTER,
        reason="test",
        language="en",
        country=None,
        market=market,
        tier=tier if is_inquiry else None,
        sla_hours=sla_hours,
        reasons=(),
    )
    return Inquiry(
        id=id,
        created_at=created_at,
        buyer_addr="buyer@example.com",
        buyer_name="Buyer",
        subject="RFQ",
        subject_key="rfq",
        triage=triage,
        status=status,
        owner=owner,
        tier=tier,
        sla_started_at=created_at if sla_started_at is _UNSET else sla_started_at,
        answered_at=answered_at,
        first_response_at=first_response_at,
        snoozed_until=snoozed_until,
        pings_sent=tuple(pings_sent),
    )


def answered(inq: Inquiry, at: datetime) -> Inquiry:
    """We replied at ``at``: the clock stops and a follow-up cycle starts."""
    return replace(inq, sla_started_at=None, answered_at=at, first_response_at=inq.first_response_at or at)


def record(inq: Inquiry, keys: Sequence[str]) -> Inquiry:
    return replace(inq, pings_sent=inq.pings_sent + tuple(keys))


def run_ticks(
    inq: Inquiry, start: datetime, end: datetime, policy: SlaPolicy, step: timedelta = timedelta(seconds=60)
) -> tuple[list[tuple[datetime, Ping]], Inquiry]:
    """Tick every ``step`` from ``start`` to ``end`` inclusive, recording keys like the scheduler does.
    Returns (emission time, ping) pairs and the final inquiry."""
    emitted: list[tuple[datetime, Ping]] = []
    now = start
    while now <= end:
        result = due_pings([inq], now, policy)
        emitted.extend((now, p) for p in result.pings)
        inq = record(inq, result.keys_to_record)
        now += step
    return emitted, inq


def test_factory_builds_a_waiting_inquiry_by_default() -> None:
    inq = make_inquiry()
    assert inq.waiting_for_us and inq.sla_started_at == T0 and inq.triage.market is Market.EU


def test_answered_helper_stops_the_clock_and_keeps_first_response() -> None:
    inq = answered(make_inquiry(first_response_at=T0 + timedelta(hours=1)), T0 + timedelta(hours=5))
    assert not inq.waiting_for_us
    assert inq.first_response_at == T0 + timedelta(hours=1)
    assert inq.answered_at == T0 + timedelta(hours=5)
