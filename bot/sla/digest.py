"""Daily digests: what each owner should look at this morning, and how the team did yesterday.

* :func:`is_digest_due` decides, from one periodic tick, whether a member's digest is due in their
  own time zone (one per local day, restart- and DST-safe; the caller stores the returned date).
* :func:`owner_digest` lists one owner's overdue and due-today inquiries, follow-ups due by tier
  and the team's new unclaimed inquiries.
* :func:`team_digest` summarises "yesterday" in the team's time zone.

All functions are pure; nothing is rendered here.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.models import Inquiry, Market, Status, Tier
from bot.sla.engine import SlaPolicy, deadline, first_response_deadline
from bot.sla.followup import followup_tier, reminders_due


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting ``day`` and the next one (23 or 25 h apart on DST days)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def is_digest_due(
    now: datetime,
    tz: str,
    digest_time: time,
    last_sent_local_date: date | None,
    cutoff: time = time(12, 0),
) -> date | None:
    """The member's local date to record if their digest is due now, else None.

    Due when ``digest_time <= local time < cutoff`` and nothing was sent for today's local date.
    A bot that was down all morning skips the day rather than sending a stale digest at night.

    >>> is_digest_due(datetime(2026, 3, 2, 17, 5, tzinfo=UTC), "America/Los_Angeles", time(9), None)
    datetime.date(2026, 3, 2)
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not digest_time < cutoff:
        raise ValueError(f"digest time {digest_time} must be before the cutoff {cutoff}")
    local = now.astimezone(ZoneInfo(tz))
    today = local.date()
    if last_sent_local_date is not None and last_sent_local_date >= today:
        return None
    if digest_time <= local.time() < cutoff:
        return today
    return None


@dataclass(frozen=True)
class DigestItem:
    inquiry_id: str
    at: datetime  # SLA deadline, or when the follow-up reminder fell due
    market: Market
    tier: Tier | None
    step: str | None = None  # follow-ups: the sequence step to suggest


@dataclass(frozen=True)
class OwnerDigest:
    owner: str
    local_date: date
    overdue: tuple[DigestItem, ...]
    due_today: tuple[DigestItem, ...]
    followups: Mapping[Tier, tuple[DigestItem, ...]]
    new_unclaimed: tuple[DigestItem, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.overdue or self.due_today or self.new_unclaimed or any(self.followups.values()))


def _is_open_inquiry(inq: Inquiry) -> bool:
    return inq.triage.is_inquiry and not inq.status.closed


def owner_digest(
    owner: str, inquiries: Iterable[Inquiry], now: datetime, policy: SlaPolicy, tz: str = "UTC"
) -> OwnerDigest:
    """One owner's morning list. "Due today" means the deadline falls before the end of the
    owner's local day; snoozed inquiries still show their deadlines but hide follow-ups."""
    local_date = now.astimezone(ZoneInfo(tz)).date()
    _, end_of_day = local_day_bounds(local_date, tz)
    overdue: list[DigestItem] = []
    due_today: list[DigestItem] = []
    unclaimed: list[DigestItem] = []
    followups: dict[Tier, list[DigestItem]] = {t: [] for t in Tier}
    for inq in inquiries:
        if not _is_open_inquiry(inq):
            continue
        tier = inq.tier or inq.triage.tier
        dl = deadline(inq, policy)
        if dl is not None:
            item = DigestItem(inq.id, dl, inq.triage.market, tier)
            if inq.owner == owner:
                if dl <= now:
                    overdue.append(item)
                elif dl < end_of_day:
                    due_today.append(item)
            elif inq.owner is None and inq.status is Status.NEW:
                unclaimed.append(item)
        elif inq.owner == owner and not (inq.snoozed_until is not None and inq.snoozed_until > now):
            due = reminders_due(inq, now, policy.followup)
            if due:
                last = due[-1]
                ftier = followup_tier(inq, policy.followup)
                followups[ftier].append(
                    DigestItem(
                        inq.id, last.due_at, inq.triage.market, tier, last.step.label if last.step else None
                    )
                )

    def _sorted(items: list[DigestItem]) -> tuple[DigestItem, ...]:
        return tuple(sorted(items, key=lambda i: (i.at, i.inquiry_id)))

    return OwnerDigest(
        owner=owner,
        local_date=local_date,
        overdue=_sorted(overdue),
        due_today=_sorted(due_today),
        followups={t: _sorted(v) for t, v in followups.items()},
        new_unclaimed=_sorted(unclaimed),
    )


@dataclass(frozen=True)
class TeamDigest:
    day: date  # the local date summarised ("yesterday")
    new_total: int
    new_by_market: Mapping[Market, int] = field(default_factory=dict)
    new_by_tier: Mapping[Tier | None, int] = field(default_factory=dict)
    first_responses: int = 0  # first replies sent that day
    answered_within_sla: int = 0  # of those, within the first-response window
    breaches: int = 0  # inquiries whose deadline fell that day and was missed
    median_first_response: timedelta | None = None  # of the first replies sent that day


def team_digest(
    inquiries: Iterable[Inquiry], now: datetime, tz: str, policy: SlaPolicy | None = None
) -> TeamDigest:
    """Yesterday (local to ``tz``) for the whole team. Non-inquiries are left out.

    Breaches count each inquiry once: its first-response deadline fell yesterday and the first reply
    came late or not at all, or its current unanswered cycle's deadline fell yesterday.
    """
    policy = policy or SlaPolicy()
    yesterday = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
    start, end = local_day_bounds(yesterday, tz)
    by_market: Counter[Market] = Counter()
    by_tier: Counter[Tier | None] = Counter()
    response_times: list[timedelta] = []
    within = 0
    breached: set[str] = set()
    for inq in inquiries:
        if not inq.triage.is_inquiry or inq.status is Status.NOT_INQUIRY:
            continue
        if start <= inq.created_at < end:
            by_market[inq.triage.market] += 1
            by_tier[inq.tier or inq.triage.tier] += 1
        first_dl = first_response_deadline(inq, policy)
        fr = inq.first_response_at
        if fr is not None and start <= fr < end:
            response_times.append(fr - inq.created_at)
            if fr <= first_dl:
                within += 1
        if start <= first_dl < end and first_dl <= now and (fr is None or fr > first_dl):
            breached.add(inq.id)
        dl = deadline(inq, policy)
        if dl is not None and not inq.status.closed and start <= dl < end and dl <= now:
            breached.add(inq.id)
    return TeamDigest(
        day=yesterday,
        new_total=sum(by_market.values()),
        new_by_market=dict(by_market),
        new_by_tier=dict(by_tier),
        first_responses=len(response_times),
        answered_within_sla=within,
        breaches=len(breached),
        median_first_response=_median(response_times),
    )


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))
