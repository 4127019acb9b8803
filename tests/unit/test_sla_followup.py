"""Follow-up cadence after our answer: by tier, the day 3/7/10 steps, cancel and stop rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.models import Status, Tier
from bot.sla import FollowupPolicy, FollowupStep, PingKind, SlaPolicy, Target, due_pings, parse_steps
from tests.unit.test_sla_factory import T0, answered, make_inquiry, record, run_ticks

POLICY = SlaPolicy()
D = timedelta(days=1)
H = timedelta(hours=1)
ANSWER = T0 + 2 * H


def _followups(tier: Tier, days: float, step: timedelta = H) -> list[tuple[timedelta, str, str | None]]:
    inq = answered(make_inquiry(tier=tier, owner="U1"), ANSWER)
    emitted, _ = run_ticks(inq, ANSWER, ANSWER + days * D, POLICY, step=step)
    return [(p.due_at - ANSWER, p.rung, p.step) for _, p in emitted if p.kind is PingKind.FOLLOWUP]


def test_tier_a_is_reminded_every_day_with_steps_on_days_3_7_10() -> None:
    got = _followups(Tier.A, 11)
    assert [due for due, _, _ in got] == [n * D for n in range(1, 12)]
    steps = {due.days: step for due, _, step in got}
    assert steps[1] is None and steps[2] is None
    assert steps[3] == "day3" and steps[6] == "day3"
    assert steps[7] == "day7" and steps[9] == "day7"
    assert steps[10] == "day10" and steps[11] == "day10"


def test_tier_b_is_reminded_twice_a_week() -> None:
    got = _followups(Tier.B, 11)
    assert got == [
        (3.5 * D, "1", "day3"),
        (7 * D, "2", "day7"),
        (10.5 * D, "3", "day10"),
    ]


def test_tier_c_is_reminded_monthly() -> None:
    got = _followups(Tier.C, 61, step=6 * H)
    assert got == [(30 * D, "1", "day10"), (60 * D, "2", "day10")]


def test_untiered_inquiries_use_the_configured_fallback_cadence() -> None:
    inq = answered(make_inquiry(tier=None, owner="U1"), ANSWER)
    assert due_pings([inq], ANSWER + 29 * D, POLICY).pings == ()
    assert [p.rung for p in due_pings([inq], ANSWER + 30 * D, POLICY).pings] == ["1"]


def test_followup_pings_name_the_answer_cycle_and_go_to_the_owner() -> None:
    inq = answered(make_inquiry("q9", tier=Tier.A, owner="U1"), ANSWER)
    (ping,) = due_pings([inq], ANSWER + D, POLICY).pings
    assert ping.key == f"fu:q9:{ANSWER.isoformat()}:1"
    assert ping.kind is PingKind.FOLLOWUP
    assert ping.target is Target.OWNER_DM
    assert ping.cycle_start == ANSWER and ping.tier is Tier.A and ping.deadline is None


def test_followups_for_an_unclaimed_inquiry_go_to_the_team_thread() -> None:
    inq = answered(make_inquiry(tier=Tier.A, owner=None), ANSWER)
    (ping,) = due_pings([inq], ANSWER + D, POLICY).pings
    assert ping.target is Target.THREAD_TEAM


def test_missed_followups_collapse_into_the_latest() -> None:
    inq = answered(make_inquiry(tier=Tier.A, owner="U1"), ANSWER)
    result = due_pings([inq], ANSWER + 4 * D + H, POLICY)
    assert [(p.rung, p.step) for p in result.pings] == [("4", "day3")]
    prefix = f"fu:inq1:{ANSWER.isoformat()}:"
    assert result.superseded_keys == tuple(f"{prefix}{n}" for n in (1, 2, 3))
    assert due_pings([record(inq, result.keys_to_record)], ANSWER + 4 * D + 2 * H, POLICY).pings == ()


def test_a_restart_does_not_repeat_a_followup() -> None:
    inq = answered(make_inquiry(tier=Tier.B, owner="U1"), ANSWER)
    first = due_pings([inq], ANSWER + 3.5 * D, POLICY)
    stored = record(inq, first.keys_to_record)
    assert due_pings([stored], ANSWER + 3.5 * D + H, POLICY).pings == ()
    assert [p.rung for p in due_pings([stored], ANSWER + 7 * D, POLICY).pings] == ["2"]


def test_a_buyer_reply_cancels_followups_and_starts_the_sla_clock() -> None:
    inq = answered(make_inquiry(tier=Tier.A, owner="U1"), ANSWER)
    replied = replace(inq, sla_started_at=ANSWER + D + H)
    pings = due_pings([replied], ANSWER + 2 * D, POLICY).pings
    assert [p.kind for p in pings] == [PingKind.SLA_BREACH]


def test_our_next_answer_starts_a_new_cycle_with_new_keys() -> None:
    inq = answered(make_inquiry(tier=Tier.A, owner="U1"), ANSWER)
    first = due_pings([inq], ANSWER + 2 * D, POLICY)
    inq = record(inq, first.keys_to_record)
    second_answer = ANSWER + 2 * D + H
    inq = replace(inq, answered_at=second_answer)
    assert due_pings([inq], second_answer + 23 * H, POLICY).pings == ()
    (ping,) = due_pings([inq], second_answer + D, POLICY).pings
    assert ping.key == f"fu:inq1:{second_answer.isoformat()}:1" and ping.step is None


@pytest.mark.parametrize("status", [Status.WON, Status.LOST, Status.NOT_INQUIRY])
def test_won_and_lost_stop_all_reminders(status: Status) -> None:
    quiet = replace(answered(make_inquiry(tier=Tier.A, owner="U1"), ANSWER), status=status)
    waiting = make_inquiry("w", owner="U1", status=status)
    emitted, _ = run_ticks(quiet, ANSWER, ANSWER + 12 * D, POLICY, step=6 * H)
    assert emitted == []
    assert due_pings([quiet, waiting], ANSWER + 30 * D, POLICY).pings == ()


def test_snooze_postpones_followups() -> None:
    inq = answered(make_inquiry(tier=Tier.A, owner="U1", snoozed_until=ANSWER + 2 * D + 5 * H), ANSWER)
    emitted, _ = run_ticks(inq, ANSWER, ANSWER + 3 * D + H, POLICY, step=H)
    assert [(p.rung, p.due_at - ANSWER) for _, p in emitted] == [("2", 2 * D + 5 * H), ("3", 3 * D)]


def test_reminders_stop_after_the_configured_silence() -> None:
    policy = SlaPolicy(followup=FollowupPolicy(stop_after_days=3))
    inq = answered(make_inquiry(tier=Tier.A, owner="U1"), ANSWER)
    emitted, _ = run_ticks(inq, ANSWER, ANSWER + 10 * D, policy, step=6 * H)
    assert [p.rung for _, p in emitted] == ["1", "2", "3"]


def test_cadence_and_steps_are_configurable() -> None:
    policy = SlaPolicy(
        followup=FollowupPolicy(every_days={Tier.A: 2, Tier.B: 5, Tier.C: 14}, steps=parse_steps("2,4"))
    )
    inq = answered(make_inquiry(tier=Tier.B, owner="U1"), ANSWER)
    emitted, _ = run_ticks(inq, ANSWER, ANSWER + 10 * D, policy, step=6 * H)
    assert [(p.due_at - ANSWER, p.step) for _, p in emitted] == [(5 * D, "day4"), (10 * D, "day4")]


def test_parse_steps_reads_days_and_rejects_nonsense() -> None:
    assert parse_steps("3, 7,10") == (
        FollowupStep(3, "day3"),
        FollowupStep(7, "day7"),
        FollowupStep(10, "day10"),
    )
    assert parse_steps("day2,4.5d") == (FollowupStep(2, "day2"), FollowupStep(4.5, "day4.5"))
    for bad in ("7,3", "x", "0,3", "3,3"):
        with pytest.raises(ValueError, match="follow-up step"):
            parse_steps(bad)


def test_followup_policy_validates_cadence() -> None:
    with pytest.raises(ValueError, match="tier B"):
        FollowupPolicy(every_days={Tier.A: 1, Tier.C: 30})
    with pytest.raises(ValueError, match="strictly increasing"):
        FollowupPolicy(steps=(FollowupStep(7, "a"), FollowupStep(3, "b")))
