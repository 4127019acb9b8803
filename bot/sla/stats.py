"""Team statistics over a period: first-response times, SLA compliance, tier mix, outcomes.

Pure computations for ``/inquiry-stats 7d`` and the weekly chart. Only real inquiries count
(``triage.is_inquiry`` and status not ``not_inquiry``), selected by ``created_at`` in the period.

* First-response time is ``first_response_at - created_at``; the p90 uses the nearest-rank method
  (the smallest value with at least 90 % of values at or below it).
* SLA compliance looks at the first response only: within when it came by the first-response
  deadline. An unanswered inquiry still inside its window is not judged yet (not in ``total``).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.core.models import Inquiry, Market, Status, Tier
from bot.sla.engine import SlaPolicy, first_response_deadline

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 7


def parse_stats_period(s: str) -> int:
    """ "7d" -> 7, "30d" -> 30, "" -> 7 (also "14" and "2w"). ValueError on anything else."""
    text = s.strip().lower()
    if not text:
        return DEFAULT_PERIOD_DAYS
    m = re.fullmatch(r"(\d+)\s*([dw]?)", text)
    if not m:
        raise ValueError(f"bad period {s!r}: use a number of days like '7d' or '30d'")
    days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise ValueError(f"bad period {s!r}: must be between 1 and {MAX_PERIOD_DAYS} days")
    return days


@dataclass(frozen=True)
class Compliance:
    within: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.within / self.total if self.total else None


@dataclass(frozen=True)
class Stats:
    days: int
    since: datetime
    until: datetime
    inquiries: int
    first_responses: int
    first_response_median: timedelta | None
    first_response_p90: timedelta | None
    compliance: Compliance
    compliance_by_market: Mapping[Market, Compliance] = field(default_factory=dict)
    compliance_by_owner: Mapping[str | None, Compliance] = field(default_factory=dict)  # None: unclaimed
    tier_mix: Mapping[Tier | None, int] = field(default_factory=dict)
    won: int = 0
    lost: int = 0


def is_real_inquiry(inq: Inquiry) -> bool:
    return inq.triage.is_inquiry and inq.status is not Status.NOT_INQUIRY


def percentile(values: Iterable[timedelta], pct: float) -> timedelta | None:
    """Nearest-rank percentile (``pct`` in (0, 100]); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[timedelta]) -> timedelta | None:
    secs = [v.total_seconds() for v in values]
    return timedelta(seconds=statistics.median(secs)) if secs else None


def first_response_judgement(inq: Inquiry, now: datetime, policy: SlaPolicy) -> bool | None:
    """True/False when the first response was within/outside its window, None when not judged yet."""
    dl = first_response_deadline(inq, policy)
    if inq.first_response_at is not None:
        return inq.first_response_at <= dl
    return False if now >= dl else None


def compute_stats(
    inquiries: Iterable[Inquiry], now: datetime, days: int, policy: SlaPolicy | None = None
) -> Stats:
    """Statistics for inquiries created in ``[now - days, now)``."""
    if days < 1:
        raise ValueError("days must be >= 1")
    policy = policy or SlaPolicy()
    since = now - timedelta(days=days)
    selected = [i for i in inquiries if is_real_inquiry(i) and since <= i.created_at < now]
    times = [i.first_response_at - i.created_at for i in selected if i.first_response_at is not None]
    overall = [0, 0]
    by_market: dict[Market, list[int]] = defaultdict(lambda: [0, 0])
    by_owner: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for inq in selected:
        verdict = first_response_judgement(inq, now, policy)
        if verdict is None:
            continue
        for bucket in (overall, by_market[inq.triage.market], by_owner[inq.owner]):
            bucket[0] += int(verdict)
            bucket[1] += 1
    tiers: Counter[Tier | None] = Counter(i.tier or i.triage.tier for i in selected)
    return Stats(
        days=days,
        since=since,
        until=now,
        inquiries=len(selected),
        first_responses=len(times),
        first_response_median=median(times),
        first_response_p90=percentile(times, 90),
        compliance=Compliance(*overall),
        compliance_by_market={m: Compliance(*v) for m, v in by_market.items()},
        compliance_by_owner={o: Compliance(*v) for o, v in by_owner.items()},
        tier_mix=dict(tiers),
        won=sum(1 for i in selected if i.status is Status.WON),
        lost=sum(1 for i in selected if i.status is Status.LOST),
    )


@dataclass(frozen=True)
class Overturned:
    """How often the team overturned the desk's lane in a period (issue #12), from the events."""

    review_to_inquiry: int = 0  # *Real buyer* on a "check first" card
    review_to_junk: int = 0  # *Junk* on a "check first" card
    inquiry_to_not_inquiry: int = 0  # *Not an inquiry* on an inquiry card
    filtered_to_rescued: int = 0  # *Rescue* of filtered (or junked) mail

    @property
    def total(self) -> int:
        return (
            self.review_to_inquiry
            + self.review_to_junk
            + self.inquiry_to_not_inquiry
            + self.filtered_to_rescued
        )


def overturned(inquiries: Iterable[Inquiry], now: datetime, days: int) -> Overturned:
    """The team's lane changes with their click in ``[now - days, now]``."""
    since = now - timedelta(days=days)
    counts: Counter[str] = Counter()
    for inq in inquiries:
        for e in inq.events:
            if not since <= e.at <= now:
                continue
            if e.action in ("real_buyer", "junked", "rescued"):
                counts[e.action] += 1
            elif e.action == "status" and e.detail == Status.NOT_INQUIRY.value:
                counts["not_inquiry"] += 1
    return Overturned(
        review_to_inquiry=counts["real_buyer"],
        review_to_junk=counts["junked"],
        inquiry_to_not_inquiry=counts["not_inquiry"],
        filtered_to_rescued=counts["rescued"],
    )


@dataclass(frozen=True)
class WeekPoint:
    week_start: date  # Monday (UTC) of the ISO week
    new: int
    answered_within_sla: int
    median_first_response_hours: float | None


def weekly_series(
    inquiries: Iterable[Inquiry], now: datetime, weeks: int = 8, policy: SlaPolicy | None = None
) -> tuple[WeekPoint, ...]:
    """Per ISO week (UTC, Monday start; the last one contains ``now``), by ``created_at``: new
    inquiries, how many got their first response within the window, median first response hours."""
    if weeks < 1:
        raise ValueError("weeks must be >= 1")
    policy = policy or SlaPolicy()
    today = now.astimezone(UTC).date()
    last_monday = today - timedelta(days=today.weekday())
    mondays = [last_monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    first = datetime.combine(mondays[0], time(0), tzinfo=UTC)
    buckets: dict[date, list[Inquiry]] = {m: [] for m in mondays}
    for inq in inquiries:
        if not is_real_inquiry(inq) or not first <= inq.created_at < now:
            continue
        d = inq.created_at.astimezone(UTC).date()
        buckets[d - timedelta(days=d.weekday())].append(inq)
    points = []
    for monday in mondays:
        items = buckets[monday]
        times = [i.first_response_at - i.created_at for i in items if i.first_response_at is not None]
        med = median(times)
        points.append(
            WeekPoint(
                week_start=monday,
                new=len(items),
                answered_within_sla=sum(1 for i in items if first_response_judgement(i, now, policy)),
                median_first_response_hours=med / timedelta(hours=1) if med is not None else None,
            )
        )
    return tuple(points)
