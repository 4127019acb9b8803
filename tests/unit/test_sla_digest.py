"""Daily digests: one per member's local day (Los Angeles and Shanghai, across DST), the owner's
list and the team's summary of yesterday."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.models import Market, Status, Tier
from bot.sla import SlaPolicy, is_digest_due, local_day_bounds, owner_digest, team_digest
from tests.unit.test_sla_factory import answered, make_inquiry

POLICY = SlaPolicy()
H = timedelta(hours=1)
M = timedelta(minutes=1)
LA = "America/Los_Angeles"
SHANGHAI = "Asia/Shanghai"


def _simulate(tz: str, start: datetime, days: int, step: timedelta = M) -> list[tuple[date, datetime]]:
    """Tick every ``step`` and record (date stored, local send time) like the digest job does."""
    last: date | None = None
    sent: list[tuple[date, datetime]] = []
    now = start
    while now < start + timedelta(days=days):
        due = is_digest_due(now, tz, time(9, 0), last)
        if due is not None:
            last = due
            sent.append((due, now.astimezone(ZoneInfo(tz))))
        now += step
    return sent


@pytest.mark.parametrize("tz", [LA, SHANGHAI])
@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 10, 30, 0, 0, tzinfo=UTC),  # US falls back on Sunday 2026-11-01
        datetime(2026, 3, 6, 0, 0, tzinfo=UTC),  # US springs forward on Sunday 2026-03-08
    ],
)
def test_each_member_gets_exactly_one_digest_per_local_day_at_nine(tz: str, start: datetime) -> None:
    sent = _simulate(tz, start, days=4)
    dates = [d for d, _ in sent]
    assert len(dates) == len(set(dates))
    first_local = start.astimezone(ZoneInfo(tz)).date()
    expected = [first_local + timedelta(days=k) for k in range(5)]
    # every full local day in the simulated span got one digest, each at 09:00 local
    assert set(expected[1:4]) <= set(dates)
    for d, local in sent:
        assert local.date() == d
        assert (local.hour, local.minute) == (9, 0)


def test_los_angeles_and_shanghai_get_their_digest_at_different_utc_times() -> None:
    day = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    la = _simulate(LA, day, days=1)
    sh = _simulate(SHANGHAI, day, days=1)
    assert [local.astimezone(UTC).hour for _, local in la] == [17]  # 09:00 PST = 17:00 UTC
    assert [local.astimezone(UTC).hour for _, local in sh] == [1]  # 09:00 CST = 01:00 UTC


def test_no_digest_after_the_cutoff_or_before_digest_time() -> None:
    morning_la = datetime(2026, 3, 2, 16, 59, tzinfo=UTC)  # 08:59 PST
    assert is_digest_due(morning_la, LA, time(9), None) is None
    noon_la = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 12:00 PST
    assert is_digest_due(noon_la, LA, time(9), None) is None
    assert is_digest_due(noon_la - M, LA, time(9), None) == date(2026, 3, 2)


def test_a_digest_already_sent_today_is_not_sent_again_after_a_restart() -> None:
    now = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 10:00 PST
    assert is_digest_due(now, LA, time(9), date(2026, 3, 2)) is None
    assert is_digest_due(now, LA, time(9), date(2026, 3, 1)) == date(2026, 3, 2)


def test_digest_time_must_be_before_the_cutoff() -> None:
    with pytest.raises(ValueError, match="before the cutoff"):
        is_digest_due(datetime(2026, 3, 2, tzinfo=UTC), LA, time(13), None)


def test_local_day_bounds_are_25_hours_on_the_fall_back_day() -> None:
    start, end = local_day_bounds(date(2026, 11, 1), LA)
    assert end - start == timedelta(hours=25)
    start, end = local_day_bounds(date(2026, 3, 8), LA)
    assert end - start == timedelta(hours=23)


# --- owner digest ----------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles, Monday


def test_owner_digest_sorts_out_overdue_due_today_followups_and_unclaimed() -> None:
    overdue = make_inquiry("over", owner="U1", sla_started_at=NOW - 9 * H)
    # LA local day ends 2026-03-03 08:00 UTC: a deadline at 07:00 UTC is today there
    today = make_inquiry("today", owner="U1", sla_started_at=datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    tomorrow = make_inquiry("tomorrow", owner="U1", sla_started_at=datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    quiet_a = answered(make_inquiry("fa", owner="U1", tier=Tier.A), NOW - 3 * 24 * H)
    quiet_b = answered(make_inquiry("fb", owner="U1", tier=Tier.B), NOW - 2 * 24 * H)  # not due yet
    unclaimed = make_inquiry("new", owner=None, sla_started_at=NOW - H)
    someone_else = make_inquiry("other", owner="U2", sla_started_at=NOW - 9 * H)
    won = make_inquiry("won", owner="U1", sla_started_at=NOW - 9 * H, status=Status.WON)
    d = owner_digest(
        "U1", [overdue, today, tomorrow, quiet_a, quiet_b, unclaimed, someone_else, won], NOW, POLICY, tz=LA
    )
    assert d.local_date == date(2026, 3, 2)
    assert [i.inquiry_id for i in d.overdue] == ["over"]
    assert [i.inquiry_id for i in d.due_today] == ["today"]
    assert d.due_today[0].at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert [(i.inquiry_id, i.step) for i in d.followups[Tier.A]] == [("fa", "day3")]
    assert d.followups[Tier.B] == () and d.followups[Tier.C] == ()
    assert [i.inquiry_id for i in d.new_unclaimed] == ["new"]
    assert not d.is_empty


def test_due_today_depends_on_the_owner_time_zone() -> None:
    inq = make_inquiry("x", owner="U1", sla_started_at=datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    assert [i.inquiry_id for i in owner_digest("U1", [inq], NOW, POLICY, tz=LA).due_today] == ["x"]
    shanghai_now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert owner_digest("U1", [inq], shanghai_now, POLICY, tz=SHANGHAI).due_today == ()


def test_snoozed_followups_are_left_out_of_the_digest() -> None:
    quiet = answered(make_inquiry("fa", owner="U1", tier=Tier.A, snoozed_until=NOW + H), NOW - 3 * 24 * H)
    assert owner_digest("U1", [quiet], NOW, POLICY, tz=LA).is_empty


def test_an_owner_with_nothing_to_do_gets_an_empty_digest() -> None:
    assert owner_digest("U9", [make_inquiry(owner="U1")], NOW, POLICY, tz=LA).is_empty


# --- team digest -----------------------------------------------------------------------------


def test_team_digest_summarises_yesterday_in_the_team_time_zone() -> None:
    now = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 09:30 Tuesday in Shanghai; yesterday = Monday local
    y0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # Monday 00:00 in Shanghai
    fast = replace(
        make_inquiry("fast", market=Market.EU, tier=Tier.A, created_at=y0 + H),
        sla_started_at=None,
        first_response_at=y0 + 3 * H,
        answered_at=y0 + 3 * H,
    )
    slow = replace(
        make_inquiry("slow", market=Market.SEA, tier=Tier.B, created_at=y0 + 2 * H),
        sla_started_at=None,
        first_response_at=y0 + 8 * H,  # 6 h > the 4 h SEA window
        answered_at=y0 + 8 * H,
    )
    missed = make_inquiry("missed", market=Market.SEA, tier=Tier.C, created_at=y0 + 10 * H)
    day_before = make_inquiry("old", created_at=y0 - 10 * H)  # breached the day before, not yesterday
    spam = make_inquiry("spam", created_at=y0 + H, is_inquiry=False, status=Status.NOT_INQUIRY)
    d = team_digest([fast, slow, missed, day_before, spam], now, SHANGHAI, POLICY)
    assert d.day == date(2026, 3, 2)
    assert d.new_total == 3
    assert d.new_by_market == {Market.EU: 1, Market.SEA: 2}
    assert d.new_by_tier == {Tier.A: 1, Tier.B: 1, Tier.C: 1}
    assert d.first_responses == 2
    assert d.answered_within_sla == 1
    assert d.breaches == 2  # "slow" answered late, "missed" still unanswered past 14:00 UTC
    assert d.median_first_response == 4 * H  # median of 2 h and 6 h


def test_team_digest_for_the_fall_back_day_covers_25_hours() -> None:
    now = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # Monday 09:00 PST; yesterday was 25 h long
    late = make_inquiry("late", created_at=datetime(2026, 11, 2, 7, 30, tzinfo=UTC))  # Sun 23:30 PST
    early = make_inquiry("early", created_at=datetime(2026, 11, 1, 7, 30, tzinfo=UTC))  # Sun 00:30 PDT
    before = make_inquiry("before", created_at=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # Sat 23:30 PDT
    d = team_digest([late, early, before], now, LA)
    assert d.day == date(2026, 11, 1)
    assert d.new_total == 2
    assert d.median_first_response is None
