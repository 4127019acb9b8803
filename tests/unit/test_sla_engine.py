"""The SLA clock: ladder per market, targets, restarts, collapse of missed pings, snooze, calendars."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Market, Status
from bot.sla import (
    PingKind,
    SlaPolicy,
    SlaState,
    Target,
    add_business_time,
    deadline,
    due_pings,
    ladder,
    parse_calendar,
    parse_sla_hours,
    parse_warn_at,
    sla_state,
)
from tests.unit.test_sla_factory import T0, make_inquiry, record, run_ticks

POLICY = SlaPolicy()
H = timedelta(hours=1)
S = timedelta(seconds=1)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_warn_at_reads_fractions_and_times_before_deadline() -> None:
    rungs = parse_warn_at(" 50% , 1h, 1h30m, 45m ")
    assert [r.label for r in rungs] == ["50%", "1h", "1h30m", "45m"]
    assert rungs[0].fraction == 0.5
    assert rungs[1].before == H
    assert rungs[2].before == timedelta(minutes=90)
    assert rungs[3].before == timedelta(minutes=45)


def test_parse_warn_at_empty_means_breach_only() -> None:
    assert parse_warn_at("") == ()
    assert parse_warn_at("none") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "expected a percentage"),
        ("150%", "between 0 and 100"),
        ("0%", "between 0 and 100"),
        ("1x", "expected a percentage"),
        ("-1h", "expected a percentage"),
        ("0m", "must be > 0"),
        ("50%,50%", "repeated"),
        ("h1", "expected a percentage"),
        (",", "no rungs"),
    ],
)
def test_parse_warn_at_rejects_bad_input_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_warn_at(text)


def test_parse_sla_hours_overrides_defaults_and_rejects_bad_entries() -> None:
    hours = parse_sla_hours("SEA=2, us=0.5")
    assert hours == {Market.EU: 8.0, Market.US: 0.5, Market.SEA: 2.0, Market.OTHER: 8.0}
    for bad in ("XX=3", "EU=abc", "EU=0", "EU"):
        with pytest.raises(ValueError, match="bad SLA hours"):
            parse_sla_hours(bad)


def test_policy_rejects_non_positive_hours() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        SlaPolicy(hours={Market.EU: 0})


# --- ladder per market ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("market", "expected_hours"),
    [
        (Market.EU, [4, 7, 8]),
        (Market.US, [4, 7, 8]),
        (Market.OTHER, [4, 7, 8]),
        (Market.SEA, [2, 3, 4]),
    ],
)
def test_ladder_fires_at_half_window_one_hour_before_and_at_deadline(
    market: Market, expected_hours: list[int]
) -> None:
    inq = make_inquiry(market=market, owner="U1")
    entries = ladder(inq, POLICY)
    assert [e.rung for e in entries] == ["50%", "1h", "breach"]
    assert [e.at - T0 for e in entries] == [h * H for h in expected_hours]
    assert deadline(inq, POLICY) == T0 + expected_hours[-1] * H


@pytest.mark.parametrize(("market", "window_h"), [(Market.EU, 8), (Market.SEA, 4)])
def test_ticks_every_minute_send_each_rung_once_and_never_more_than_a_tick_late(
    market: Market, window_h: int
) -> None:
    start = T0 + timedelta(seconds=17)  # arrival not aligned with the tick grid
    inq = make_inquiry(market=market, owner="U1", sla_started_at=start)
    emitted, final = run_ticks(inq, T0, T0 + window_h * H + 5 * timedelta(minutes=1), POLICY)
    assert [p.rung for _, p in emitted] == ["50%", "1h", "breach"]
    assert [p.due_at - start for _, p in emitted] == [window_h / 2 * H, (window_h - 1) * H, window_h * H]
    for at, p in emitted:
        assert timedelta(0) <= at - p.due_at <= timedelta(seconds=60)
    keys = [p.key for _, p in emitted]
    assert len(set(keys)) == 3
    assert set(keys) <= set(final.pings_sent)


def test_warnings_go_to_the_owner_by_dm_and_the_breach_to_the_thread_with_admins() -> None:
    emitted, _ = run_ticks(make_inquiry(owner="U1"), T0, T0 + 9 * H, POLICY)
    by_rung = {p.rung: p for _, p in emitted}
    assert by_rung["50%"].target is Target.OWNER_DM and by_rung["50%"].kind is PingKind.SLA_WARNING
    assert by_rung["1h"].target is Target.OWNER_DM
    assert by_rung["breach"].target is Target.THREAD_OWNER_ADMINS
    assert by_rung["breach"].kind is PingKind.SLA_BREACH
    assert all(p.owner == "U1" and p.deadline == T0 + 8 * H for p in by_rung.values())


def test_warnings_for_an_unclaimed_inquiry_go_to_the_team_thread() -> None:
    emitted, _ = run_ticks(make_inquiry(owner=None), T0, T0 + 9 * H, POLICY)
    targets = {p.rung: p.target for _, p in emitted}
    assert targets == {
        "50%": Target.THREAD_TEAM,
        "1h": Target.THREAD_TEAM,
        "breach": Target.THREAD_OWNER_ADMINS,
    }


def test_keys_name_the_inquiry_the_buyer_message_and_the_rung() -> None:
    emitted, _ = run_ticks(make_inquiry("q7"), T0, T0 + 9 * H, POLICY)
    start = T0.isoformat()
    assert [p.key for _, p in emitted] == [
        f"sla:q7:{start}:50%",
        f"sla:q7:{start}:1h",
        f"sla:q7:{start}:breach",
    ]


# --- fractional and short windows ------------------------------------------------------------


def test_fractional_window_of_36_seconds_drops_the_one_hour_rung() -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: 0.01})
    entries = ladder(make_inquiry(), policy)
    assert [(e.rung, e.at - T0) for e in entries] == [("50%", 18 * S), ("breach", 36 * S)]


def test_fractional_window_ticked_every_10_seconds_sends_warning_then_breach() -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: 0.01})
    emitted, _ = run_ticks(make_inquiry(), T0, T0 + 60 * S, policy, step=10 * S)
    assert [(at - T0, p.rung) for at, p in emitted] == [(20 * S, "50%"), (40 * S, "breach")]


def test_fractional_window_shorter_than_a_tick_collapses_to_the_breach() -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: 0.01})
    emitted, final = run_ticks(make_inquiry(), T0, T0 + 3 * timedelta(minutes=1), policy)
    assert [(at - T0, p.rung) for at, p in emitted] == [(60 * S, "breach")]
    assert f"sla:inq1:{T0.isoformat()}:50%" in final.pings_sent


def test_rung_before_the_window_start_is_dropped() -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: 0.5})
    assert [e.rung for e in ladder(make_inquiry(), policy)] == ["50%", "breach"]


def test_rungs_landing_on_the_same_instant_are_merged() -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: 2}, warn_at=parse_warn_at("50%,1h,75%"))
    entries = ladder(make_inquiry(), policy)
    assert [(e.rung, e.at - T0) for e in entries] == [("50%", H), ("75%", 1.5 * H), ("breach", 2 * H)]


def test_window_falls_back_to_triage_hours_for_a_market_missing_from_the_policy() -> None:
    policy = SlaPolicy(hours={Market.EU: 8})
    assert deadline(make_inquiry(market=Market.SEA, sla_hours=6), policy) == T0 + 6 * H


# --- states ---------------------------------------------------------------------------------


def test_state_moves_from_on_track_to_at_risk_to_breached() -> None:
    inq = make_inquiry()
    assert sla_state(inq, T0 + 3 * H, POLICY) is SlaState.ON_TRACK
    assert sla_state(inq, T0 + 4 * H, POLICY) is SlaState.AT_RISK
    assert sla_state(inq, T0 + 8 * H - S, POLICY) is SlaState.AT_RISK
    assert sla_state(inq, T0 + 8 * H, POLICY) is SlaState.BREACHED
    assert sla_state(inq, T0 + 8 * H, POLICY) == "breached"


def test_state_is_answered_or_closed_when_nothing_is_owed() -> None:
    done = make_inquiry(sla_started_at=None, answered_at=T0 + H)
    assert sla_state(done, T0 + 20 * H, POLICY) is SlaState.ANSWERED
    for status in (Status.WON, Status.LOST, Status.NOT_INQUIRY):
        assert sla_state(make_inquiry(status=status), T0 + 20 * H, POLICY) is SlaState.CLOSED


# --- restarts, collapse, cycles ---------------------------------------------------------------


def test_a_restart_in_the_middle_of_the_ladder_sends_nothing_twice() -> None:
    inq = make_inquiry(owner="U1")
    first = due_pings([inq], T0 + 4 * H + 30 * S, POLICY)
    assert [p.rung for p in first.pings] == ["50%"]
    stored = record(inq, first.keys_to_record)  # what the store holds after the crash
    assert due_pings([stored], T0 + 4 * H + 30 * S, POLICY).pings == ()
    assert due_pings([stored], T0 + 6 * H, POLICY).pings == ()
    later = due_pings([stored], T0 + 7 * H + 10 * S, POLICY)
    assert [p.rung for p in later.pings] == ["1h"]
    assert later.superseded_keys == ()


def test_a_later_rung_already_sent_covers_earlier_ones() -> None:
    inq = make_inquiry(pings_sent=[f"sla:inq1:{T0.isoformat()}:1h"])
    assert due_pings([inq], T0 + 7 * H + S, POLICY).pings == ()


def test_pings_missed_while_down_collapse_into_the_breach() -> None:
    inq = make_inquiry(owner="U1")
    result = due_pings([inq], T0 + 9 * H, POLICY)
    assert [p.rung for p in result.pings] == ["breach"]
    start = T0.isoformat()
    assert result.superseded_keys == (f"sla:inq1:{start}:50%", f"sla:inq1:{start}:1h")
    again = due_pings([record(inq, result.keys_to_record)], T0 + 10 * H, POLICY)
    assert again.pings == () and again.superseded_keys == ()


def test_missed_warnings_collapse_into_the_latest_warning() -> None:
    result = due_pings([make_inquiry(owner="U1")], T0 + 7 * H + 30 * S, POLICY)
    assert [p.rung for p in result.pings] == ["1h"]
    assert result.superseded_keys == (f"sla:inq1:{T0.isoformat()}:50%",)


def test_a_buyer_follow_up_restarts_the_clock_with_new_keys() -> None:
    inq = make_inquiry(owner="U1")
    first = due_pings([inq], T0 + 4 * H, POLICY)
    inq = record(inq, first.keys_to_record)
    # we answered at 5 h, the buyer wrote again at 6 h
    restarted = replace(inq, answered_at=T0 + 5 * H, sla_started_at=T0 + 6 * H)
    assert due_pings([restarted], T0 + 9 * H, POLICY).pings == ()  # the old deadline no longer counts
    second = due_pings([restarted], T0 + 10 * H, POLICY)
    assert [p.rung for p in second.pings] == ["50%"]
    assert second.pings[0].key != first.pings[0].key
    assert second.pings[0].deadline == T0 + 14 * H


def test_answering_stops_the_clock() -> None:
    inq = make_inquiry(owner="U1", sla_started_at=None, answered_at=T0 + 2 * H)
    result = due_pings([inq], T0 + 9 * H, POLICY)
    assert [p for p in result.pings if p.kind is not PingKind.FOLLOWUP] == []
    assert deadline(inq, POLICY) is None


@pytest.mark.parametrize("status", [Status.WON, Status.LOST, Status.NOT_INQUIRY])
def test_closed_inquiries_get_no_pings(status: Status) -> None:
    inq = make_inquiry(owner="U1", status=status)
    assert due_pings([inq], T0 + 9 * H, POLICY).pings == ()


def test_pings_for_several_inquiries_come_oldest_first() -> None:
    a = make_inquiry("a", sla_started_at=T0 + H)
    b = make_inquiry("b", market=Market.SEA)
    result = due_pings([a, b], T0 + 5 * H + 30 * S, POLICY)
    assert [(p.inquiry_id, p.rung) for p in result.pings] == [("b", "breach"), ("a", "50%")]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_pings([make_inquiry()], datetime(2026, 3, 2, 12), POLICY)


# --- snooze --------------------------------------------------------------------------------


def test_snooze_holds_warnings_until_it_ends() -> None:
    inq = make_inquiry(owner="U1", snoozed_until=T0 + 6 * H)
    assert due_pings([inq], T0 + 5 * H, POLICY).pings == ()
    emitted, _ = run_ticks(inq, T0, T0 + 7 * H + 2 * timedelta(minutes=1), POLICY)
    assert [(p.rung, p.due_at, at - T0) for at, p in emitted] == [
        ("50%", T0 + 6 * H, 6 * H),
        ("1h", T0 + 7 * H, 7 * H),
    ]


def test_snooze_never_moves_a_breach() -> None:
    inq = make_inquiry(owner="U1", snoozed_until=T0 + 24 * H)
    assert deadline(inq, POLICY) == T0 + 8 * H
    emitted, final = run_ticks(inq, T0, T0 + 9 * H, POLICY)
    assert [(p.rung, at - T0) for at, p in emitted] == [("breach", 8 * H)]
    assert sla_state(inq, T0 + 8 * H, POLICY) is SlaState.BREACHED
    start = T0.isoformat()
    assert {f"sla:inq1:{start}:50%", f"sla:inq1:{start}:1h"} <= set(final.pings_sent)


# --- business-hours calendar ----------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def _berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def _cal_policy(holidays: tuple[str, ...] = ()) -> SlaPolicy:
    cal = parse_calendar("Europe/Berlin", "09:00-18:00", "mon-fri", holidays)
    return SlaPolicy(calendars={Market.EU: cal})


def test_friday_evening_arrival_breaches_on_monday_in_business_hours() -> None:
    inq = make_inquiry(sla_started_at=_berlin(2026, 3, 6, 17, 0))  # Friday 17:00
    policy = _cal_policy()
    assert deadline(inq, policy) == _berlin(2026, 3, 9, 16, 0)  # 1 h Friday + 7 h Monday
    entries = ladder(inq, policy)
    assert [(e.rung, e.at) for e in entries] == [
        ("50%", _berlin(2026, 3, 9, 12, 0)),
        ("1h", _berlin(2026, 3, 9, 15, 0)),
        ("breach", _berlin(2026, 3, 9, 16, 0)),
    ]
    assert sla_state(inq, _berlin(2026, 3, 8, 23, 0), policy) is SlaState.ON_TRACK  # Sunday night


def test_weekend_arrival_starts_counting_at_monday_opening() -> None:
    inq = make_inquiry(sla_started_at=_berlin(2026, 3, 7, 11, 0))  # Saturday
    assert deadline(inq, _cal_policy()) == _berlin(2026, 3, 9, 17, 0)


def test_holidays_are_skipped() -> None:
    inq = make_inquiry(sla_started_at=_berlin(2026, 3, 6, 17, 0))
    assert deadline(inq, _cal_policy(("2026-03-09",))) == _berlin(2026, 3, 10, 16, 0)


def test_business_time_follows_the_dst_change() -> None:
    # Berlin moves to summer time on Sunday 2026-03-29: Friday is UTC+1, Monday UTC+2
    inq = make_inquiry(sla_started_at=_berlin(2026, 3, 27, 17, 0))
    dl = deadline(inq, _cal_policy())
    assert dl == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)
    assert dl.astimezone(BERLIN).hour == 16


def test_window_ending_exactly_at_closing_time_ends_at_closing() -> None:
    cal = parse_calendar("Europe/Berlin", "09:00-18:00")
    assert add_business_time(cal, _berlin(2026, 3, 6, 10, 0), 8 * H) == _berlin(2026, 3, 6, 18, 0)


def test_markets_without_a_calendar_count_wall_clock_time() -> None:
    inq = make_inquiry(market=Market.US, sla_started_at=_berlin(2026, 3, 6, 17, 0))
    assert deadline(inq, _cal_policy()) == _berlin(2026, 3, 7, 1, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tz": "Mars/Base"}, "unknown time zone"),
        ({"tz": "UTC", "hours": "18:00-09:00"}, "end after they start"),
        ({"tz": "UTC", "hours": "9-18"}, "bad business hours"),
        ({"tz": "UTC", "days": "fri-mon"}, "runs backwards"),
        ({"tz": "UTC", "days": "funday"}, "bad day"),
        ({"tz": "UTC", "holidays": ["25/12/2026"]}, "bad holiday"),
    ],
)
def test_parse_calendar_rejects_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_calendar(**kwargs)  # type: ignore[arg-type]


def test_parse_calendar_reads_day_lists_and_holidays() -> None:
    cal = parse_calendar("Asia/Jakarta", "08:30-17:00", "mon-thu,sat", ["2026-08-17"])
    assert cal.workdays == frozenset({0, 1, 2, 3, 5})
    assert cal.holidays == frozenset({date(2026, 8, 17)})
    assert not cal.is_workday(date(2026, 8, 17))


# --- invariants over random windows and tick rates -------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    window_h=st.floats(min_value=0.005, max_value=2.5),
    arrival_offset_s=st.integers(min_value=0, max_value=59),
    tick_s=st.integers(min_value=15, max_value=60),
    owner=st.sampled_from([None, "U1"]),
)
def test_any_ladder_ticked_regularly_ends_in_one_breach_sent_once_and_never_late(
    window_h: float, arrival_offset_s: int, tick_s: int, owner: str | None
) -> None:
    policy = SlaPolicy(hours={**POLICY.hours, Market.EU: window_h})
    start = T0 + arrival_offset_s * S
    inq = make_inquiry(owner=owner, sla_started_at=start)
    tick = tick_s * S
    emitted, final = run_ticks(inq, T0, start + window_h * H + 2 * tick, policy, step=tick)
    keys = [p.key for _, p in emitted]
    assert len(keys) == len(set(keys))
    assert emitted[-1][1].kind is PingKind.SLA_BREACH
    assert sum(p.kind is PingKind.SLA_BREACH for _, p in emitted) == 1
    assert [p.due_at for _, p in emitted] == sorted(p.due_at for _, p in emitted)
    for at, p in emitted:
        assert timedelta(0) <= at - p.due_at < tick
    assert {e.key for e in ladder(final, policy)} <= set(final.pings_sent)


def test_keys_do_not_depend_on_the_offset_the_store_hands_back() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    utc_inq = make_inquiry(owner="U1")
    local_inq = make_inquiry(owner="U1", sla_started_at=T0.astimezone(shanghai))
    at = T0 + 4 * H
    assert due_pings([utc_inq], at, POLICY).pings[0].key == due_pings([local_inq], at, POLICY).pings[0].key
