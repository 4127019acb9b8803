"""Follow-up cadence: when to nudge an owner whose buyer went quiet after our answer.

Pure schedule maths, no pings: :mod:`bot.sla.engine` turns the result into :class:`~bot.sla.engine.Ping`.

A cycle starts at ``answered_at`` (our last reply) while no buyer message is waiting. Reminder
``n`` (1, 2, ...) is due at ``answered_at + n * every_days[tier]`` (A daily, B twice a week, C monthly
by default) until ``stop_after_days`` has passed. Each reminder carries the sequence step reached
by then (day 3, 7, 10 after our answer by default): the latest step whose day has come, so the
owner gets a one-click "polite follow-up after silence" draft for it. A tier C reminder on day 30
therefore suggests the day-10 step. A buyer reply sets ``sla_started_at`` and ends the cycle; our
next answer starts a new one (new ``answered_at``, new keys). Closed inquiries get nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.models import Inquiry, Tier

_DEFAULT_EVERY: dict[Tier, float] = {Tier.A: 1.0, Tier.B: 3.5, Tier.C: 30.0}


@dataclass(frozen=True)
class FollowupStep:
    """One step of the follow-up sequence: ``day`` days after our answer, named ``label``."""

    day: float
    label: str


DEFAULT_STEPS: tuple[FollowupStep, ...] = (
    FollowupStep(3, "day3"),
    FollowupStep(7, "day7"),
    FollowupStep(10, "day10"),
)


@dataclass(frozen=True)
class FollowupPolicy:
    every_days: Mapping[Tier, float] = field(default_factory=lambda: dict(_DEFAULT_EVERY))
    steps: tuple[FollowupStep, ...] = DEFAULT_STEPS
    untiered: Tier = Tier.C  # cadence for an inquiry with no tier
    stop_after_days: float | None = 90.0  # no reminders after this long of silence; None = never stop

    def __post_init__(self) -> None:
        for tier in Tier:
            every = self.every_days.get(tier)
            if every is None or not every > 0:
                raise ValueError(f"follow-up cadence for tier {tier.value} must be > 0 days, got {every}")
        days = [s.day for s in self.steps]
        if any(d <= 0 for d in days) or days != sorted(days) or len(set(days)) != len(days):
            raise ValueError(f"follow-up steps must be positive and strictly increasing, got {days}")
        if self.stop_after_days is not None and not self.stop_after_days > 0:
            raise ValueError("stop_after_days must be > 0 or None")


@dataclass(frozen=True)
class FollowupReminder:
    n: int  # 1-based index within the cycle
    key: str  # "fu:{id}:{answered_at iso, UTC}:{n}"
    due_at: datetime
    tier: Tier
    step: FollowupStep | None  # sequence step reached by due_at; None before the first step


def parse_steps(s: str) -> tuple[FollowupStep, ...]:
    """Parse "3,7,10" (days after our answer) into steps labelled "day3", "day7", "day10"."""
    steps: list[FollowupStep] = []
    for part in s.split(","):
        part = part.strip().lower().removeprefix("day").removesuffix("d")
        if not part:
            continue
        if not re.fullmatch(r"\d+(\.\d+)?", part):
            raise ValueError(f"bad follow-up step {part!r} in {s!r}; use days, e.g. '3,7,10'")
        day = float(part)
        label = f"day{int(day)}" if day.is_integer() else f"day{day:g}"
        steps.append(FollowupStep(day, label))
    days = [st.day for st in steps]
    if any(d <= 0 for d in days) or days != sorted(days) or len(set(days)) != len(days):
        raise ValueError(f"follow-up steps must be positive and strictly increasing, got {s!r}")
    return tuple(steps)


def earliest_followup_delay(policy: FollowupPolicy) -> timedelta:
    """A lower bound of the time from ``answered_at`` to a cycle's first reminder, over every
    tier (the shortest cadence): no follow-up is due before it."""
    return timedelta(days=min(policy.every_days[t] for t in Tier))


def last_reminder(tier: Tier, policy: FollowupPolicy) -> int | None:
    """The number of the last reminder a cycle of this tier can have (0: none at all), as
    :func:`reminder_at` counts them; None when reminders never stop."""
    if policy.stop_after_days is None:
        return None
    every, stop = policy.every_days[tier], timedelta(days=policy.stop_after_days)
    n = math.floor(policy.stop_after_days / every)
    while timedelta(days=every * (n + 1)) <= stop:
        n += 1
    while n > 0 and timedelta(days=every * n) > stop:
        n -= 1
    return n


def cycle_tier(inq: Inquiry) -> Tier | None:
    """The tier a follow-up cycle goes by before the policy's default for untiered ones."""
    return inq.tier or inq.triage.tier


def followup_tier(inq: Inquiry, policy: FollowupPolicy) -> Tier:
    return cycle_tier(inq) or policy.untiered


def followup_active(inq: Inquiry) -> bool:
    """True while we answered last and the inquiry is open: the buyer owes us a reply."""
    return inq.answered_at is not None and inq.sla_started_at is None and not inq.status.closed


def cycle_prefix(inq: Inquiry) -> str:
    assert inq.answered_at is not None
    return f"fu:{inq.id}:{inq.answered_at.astimezone(UTC).isoformat()}:"


def reminder_at(inq: Inquiry, n: int, policy: FollowupPolicy) -> FollowupReminder | None:
    """Reminder ``n`` of the current cycle, or None past ``stop_after_days`` / when inactive."""
    if not followup_active(inq) or n < 1:
        return None
    assert inq.answered_at is not None
    tier = followup_tier(inq, policy)
    elapsed = timedelta(days=policy.every_days[tier] * n)
    if policy.stop_after_days is not None and elapsed > timedelta(days=policy.stop_after_days):
        return None
    step: FollowupStep | None = None
    for s in policy.steps:
        if timedelta(days=s.day) <= elapsed:
            step = s
    return FollowupReminder(
        n=n, key=f"{cycle_prefix(inq)}{n}", due_at=inq.answered_at + elapsed, tier=tier, step=step
    )


def reminders_due(inq: Inquiry, now: datetime, policy: FollowupPolicy) -> list[FollowupReminder]:
    """All reminders of the current cycle whose time has come by ``now``, oldest first
    (ignores snooze and what was already sent; the engine applies both)."""
    if not followup_active(inq):
        return []
    assert inq.answered_at is not None
    every = policy.every_days[followup_tier(inq, policy)]
    elapsed_days = (now - inq.answered_at) / timedelta(days=1)
    if elapsed_days < every:
        return []
    count = math.floor(elapsed_days / every + 1e-9)
    out = []
    for n in range(1, count + 1):
        r = reminder_at(inq, n, policy)
        if r is None:
            break
        if r.due_at <= now:
            out.append(r)
    return out


def sent_index(inq: Inquiry) -> int:
    """The highest reminder number of the current cycle already in ``pings_sent`` (0 if none)."""
    if inq.answered_at is None:
        return 0
    prefix = cycle_prefix(inq)
    best = 0
    for key in inq.pings_sent:
        if key.startswith(prefix):
            tail = key[len(prefix) :]
            if tail.isdigit():
                best = max(best, int(tail))
    return best
