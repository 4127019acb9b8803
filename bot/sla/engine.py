"""The SLA clock: deadlines, states, the warning ladder and which pings are due at ``now``.

Everything here is pure: it takes ``now`` and :class:`~bot.core.models.Inquiry` objects and returns
data. The scheduler tick calls :func:`due_pings`, records every returned key (pings *and*
``superseded_keys``) in ``pings_sent`` and hands the pings to the outbox for rendering.

The window of an inquiry is ``policy.hours[inq.triage.market]`` (``triage.sla_hours`` when the market
is missing from the policy), counted in business time when the market has a calendar.

Ladder rules (documented choices):

* A rung is a fraction of the window ("50%") or a time before the deadline ("1h", "30m").
* A rung whose instant would fall at or before the window start (e.g. "1h" on a 0.5 h window) or at
  or after the deadline is dropped; rungs landing on the same instant are merged (first label kept).
  The breach "rung" always exists.
* Keys are ``sla:{id}:{sla_started_at iso}:{rung label}`` and ``sla:{id}:{start}:breach`` (the time
  rendered in UTC, so a store that hands back another offset keeps the same keys): a new buyer
  message restarts the clock and gives new keys.
* A rung counts as sent when its key, or the key of any later rung of the same cycle, is in
  ``pings_sent``. When several unsent rungs are due at once (the bot was down), only the latest is
  emitted (breach beats warnings); the others come back in ``superseded_keys``.
* Snooze (``snoozed_until > now``) holds back warnings and follow-ups until it ends; a breach is never
  snoozed. A warning released by the end of a snooze reports ``due_at = snoozed_until``.
* Before the deadline pings go to the owner by DM (the team thread when unclaimed); a breach goes
  to the thread, mentioning the owner and the admins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.core.models import Inquiry, Market, Tier
from bot.sla.calendar import BusinessCalendar, add_business_time
from bot.sla.followup import FollowupPolicy, reminders_due, sent_index

DEFAULT_HOURS: dict[Market, float] = {Market.EU: 8.0, Market.US: 8.0, Market.SEA: 4.0, Market.OTHER: 8.0}
DEFAULT_WARN_AT = "50%,1h"


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    ANSWERED = "answered"
    CLOSED = "closed"


class PingKind(StrEnum):
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    FOLLOWUP = "followup"


class Target(StrEnum):
    OWNER_DM = "owner_dm"
    THREAD_TEAM = "thread_team"
    THREAD_OWNER_ADMINS = "thread_owner_admins"


@dataclass(frozen=True)
class Rung:
    """One warning rung: ``fraction`` of the window elapsed, or ``before`` the deadline."""

    label: str  # normalised input, used in ping keys: "50%", "1h", "30m"
    fraction: float | None = None
    before: timedelta | None = None

    def offset(self, window: timedelta) -> timedelta:
        """Time after the window start at which this rung fires (may be <= 0 or >= window)."""
        if self.fraction is not None:
            return window * self.fraction
        assert self.before is not None
        return window - self.before


_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def _parse_rung(token: str) -> Rung:
    label = token.strip().lower().replace(" ", "")
    if label.endswith("%"):
        num = label[:-1]
        if not re.fullmatch(r"\d+(\.\d+)?", num):
            raise ValueError(f"bad warning rung {token!r}: expected a percentage like '50%'")
        pct = float(num)
        if not 0 < pct < 100:
            raise ValueError(f"bad warning rung {token!r}: a percentage must be between 0 and 100 exclusive")
        return Rung(label=label, fraction=pct / 100)
    pos = 0
    seconds = 0.0
    for m in _DURATION_RE.finditer(label):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(label) or pos == 0:
        raise ValueError(
            f"bad warning rung {token!r}: expected a percentage ('50%') or a time before the deadline "
            "('1h', '30m', '1h30m')"
        )
    if seconds <= 0:
        raise ValueError(f"bad warning rung {token!r}: the time before the deadline must be > 0")
    return Rung(label=label, before=timedelta(seconds=seconds))


def parse_warn_at(s: str) -> tuple[Rung, ...]:
    """Parse "50%,1h" into rungs. "" or "none" means no warnings (breach only).

    >>> [r.label for r in parse_warn_at("50%, 1h")]
    ['50%', '1h']
    """
    if s.strip().lower() in ("", "none"):
        return ()
    rungs = tuple(_parse_rung(t) for t in s.split(",") if t.strip())
    if not rungs:
        raise ValueError(f"bad warning ladder {s!r}: no rungs")
    labels = [r.label for r in rungs]
    dupes = sorted({lbl for lbl in labels if labels.count(lbl) > 1})
    if dupes:
        raise ValueError(f"bad warning ladder {s!r}: repeated rung(s) {', '.join(dupes)}")
    return rungs


def parse_sla_hours(s: str) -> dict[Market, float]:
    """Parse "EU=8,US=8,SEA=4,OTHER=8" (missing markets keep their defaults; fractions allowed)."""
    out = dict(DEFAULT_HOURS)
    for part in s.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            market = Market(name.strip().upper())
        except ValueError as e:
            known = ", ".join(m.value for m in Market)
            raise ValueError(f"bad SLA hours {part.strip()!r}: unknown market (known: {known})") from e
        try:
            hours = float(value)
        except ValueError as e:
            raise ValueError(f"bad SLA hours {part.strip()!r}: expected MARKET=HOURS, e.g. 'SEA=4'") from e
        if not sep or not hours > 0:
            raise ValueError(f"bad SLA hours {part.strip()!r}: hours must be > 0")
        out[market] = hours
    return out


@dataclass(frozen=True)
class SlaPolicy:
    hours: Mapping[Market, float] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    warn_at: tuple[Rung, ...] = field(default_factory=lambda: parse_warn_at(DEFAULT_WARN_AT))
    calendars: Mapping[Market, BusinessCalendar] = field(default_factory=dict)
    followup: FollowupPolicy = field(default_factory=FollowupPolicy)

    def __post_init__(self) -> None:
        for market, hours in self.hours.items():
            if not hours > 0:
                raise ValueError(f"SLA hours for {market.value} must be > 0, got {hours}")


@dataclass(frozen=True)
class Ping:
    """A reminder that is due. Text-free: the caller renders it."""

    key: str
    inquiry_id: str
    kind: PingKind
    rung: str  # "50%", "1h", "breach", or the follow-up number "1", "2", ...
    target: Target
    owner: str | None
    due_at: datetime
    market: Market
    tier: Tier | None
    deadline: datetime | None = None  # SLA pings: the deadline of this cycle
    step: str | None = None  # follow-ups: sequence step to suggest, e.g. "day3"
    cycle_start: datetime | None = None  # sla_started_at (SLA) or answered_at (follow-up)


@dataclass(frozen=True)
class TickResult:
    pings: tuple[Ping, ...]
    superseded_keys: tuple[str, ...]  # record these as sent too: collapsed into a later ping

    @property
    def keys_to_record(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.pings) + self.superseded_keys


# --- deadlines ------------------------------------------------------------------------------


def window_hours(market: Market, policy: SlaPolicy, fallback: float | None = None) -> float:
    hours = policy.hours.get(market)
    if hours is None:
        if fallback is None or not fallback > 0:
            raise ValueError(f"no SLA hours for market {market.value}")
        return fallback
    return hours


def _window(inq: Inquiry, policy: SlaPolicy) -> timedelta:
    return timedelta(hours=window_hours(inq.triage.market, policy, inq.triage.sla_hours))


def _advance(start: datetime, offset: timedelta, market: Market, policy: SlaPolicy) -> datetime:
    cal = policy.calendars.get(market)
    if cal is None:
        return start + offset
    return add_business_time(cal, start, offset)


def deadline_from(start: datetime, inq: Inquiry, policy: SlaPolicy) -> datetime:
    """The deadline of a cycle starting at ``start`` for this inquiry's market."""
    return _advance(start, _window(inq, policy), inq.triage.market, policy)


def deadline(inq: Inquiry, policy: SlaPolicy) -> datetime | None:
    """When the unanswered buyer message must be answered; None when nothing is waiting."""
    if inq.sla_started_at is None:
        return None
    return deadline_from(inq.sla_started_at, inq, policy)


def first_response_deadline(inq: Inquiry, policy: SlaPolicy) -> datetime:
    """The deadline of the very first buyer message (used by stats and digests)."""
    return deadline_from(inq.created_at, inq, policy)


@dataclass(frozen=True)
class LadderEntry:
    rung: str  # label, or "breach"
    at: datetime
    key: str

    @property
    def is_breach(self) -> bool:
        return self.rung == "breach"


def ladder(inq: Inquiry, policy: SlaPolicy) -> tuple[LadderEntry, ...]:
    """The current cycle's rungs in time order, ending with the breach; () when nothing waits."""
    start = inq.sla_started_at
    if start is None:
        return ()
    window = _window(inq, policy)
    market = inq.triage.market
    prefix = f"sla:{inq.id}:{start.astimezone(UTC).isoformat()}:"
    offsets: dict[timedelta, str] = {}
    for rung in policy.warn_at:
        off = rung.offset(window)
        if timedelta(0) < off < window and off not in offsets:
            offsets[off] = rung.label
    entries = [
        LadderEntry(label, _advance(start, off, market, policy), prefix + label)
        for off, label in sorted(offsets.items())
    ]
    entries.append(LadderEntry("breach", _advance(start, window, market, policy), prefix + "breach"))
    return tuple(entries)


def breach_key(inq: Inquiry) -> str | None:
    """The breach key of the current cycle (None when no buyer message waits). Once it is in
    ``pings_sent`` the cycle owes no SLA ping: a store may leave such inquiries out of the tick."""
    if inq.sla_started_at is None:
        return None
    return f"sla:{inq.id}:{inq.sla_started_at.astimezone(UTC).isoformat()}:breach"


def earliest_event_offset(policy: SlaPolicy) -> timedelta:
    """A lower bound of the time from ``sla_started_at`` to a cycle's first ladder entry (the
    first warning or the breach), over every market: no SLA ping is due and no card leaves
    "on track" before it. Business calendars only push entries later (a business hour is at
    least a wall-clock hour). Zero when a market is missing from ``policy.hours`` (its window
    then comes from each inquiry's triage)."""
    if any(m not in policy.hours for m in Market):
        return timedelta(0)
    best: timedelta | None = None
    for hours in policy.hours.values():
        first = _first_offset(timedelta(hours=hours), policy)
        best = first if best is None else min(best, first)
    return best if best is not None else timedelta(0)


def _first_offset(window: timedelta, policy: SlaPolicy) -> timedelta:
    """Wall-clock time from the window start to the first ladder entry, without a calendar."""
    first = window
    for rung in policy.warn_at:
        off = rung.offset(window)
        if timedelta(0) < off < first:
            first = off
    return first


def at_risk_offset(market: Market, policy: SlaPolicy) -> timedelta | None:
    """The time from ``sla_started_at`` to the first ladder entry of every cycle of ``market``,
    when it is one for the whole market (its hours are in the policy, no business calendar):
    then an open inquiry of the market whose buyer message waits is at risk or breached at
    ``now`` exactly when it waits since ``now - at_risk_offset`` or earlier (a count by a
    cut-off is exact). None when it depends on the inquiry or the calendar."""
    if market not in policy.hours or market in policy.calendars:
        return None
    return _first_offset(timedelta(hours=policy.hours[market]), policy)


def shortest_window(policy: SlaPolicy) -> timedelta:
    """A lower bound of every inquiry's SLA window in wall-clock time (a deadline is never
    sooner than ``sla_started_at`` plus it): the shortest market window, zero when a market is
    missing from ``policy.hours`` (its window then comes from each inquiry's triage)."""
    if any(m not in policy.hours for m in Market):
        return timedelta(0)
    return min((timedelta(hours=h) for h in policy.hours.values()), default=timedelta(0))


def sla_state(inq: Inquiry, now: datetime, policy: SlaPolicy) -> SlaState:
    """Where the clock stands at ``now``; at_risk once the first warning rung has passed."""
    if inq.status.closed:
        return SlaState.CLOSED
    entries = ladder(inq, policy)
    if not entries:
        return SlaState.ANSWERED
    if now >= entries[-1].at:
        return SlaState.BREACHED
    if len(entries) > 1 and now >= entries[0].at:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


# --- the tick ------------------------------------------------------------------------------


def _snoozed(inq: Inquiry, now: datetime) -> bool:
    return inq.snoozed_until is not None and inq.snoozed_until > now


def _release_time(inq: Inquiry, at: datetime) -> datetime:
    """When a held-back reminder scheduled at ``at`` actually became due (snooze end, if later)."""
    if inq.snoozed_until is not None and inq.snoozed_until > at:
        return inq.snoozed_until
    return at


def _sla_pings(inq: Inquiry, now: datetime, policy: SlaPolicy) -> tuple[list[Ping], list[str]]:
    if inq.status.closed:
        return [], []
    entries = ladder(inq, policy)
    if not entries:
        return [], []
    sent = set(inq.pings_sent)
    last_sent = max((i for i, e in enumerate(entries) if e.key in sent), default=-1)
    snoozed = _snoozed(inq, now)
    due = [e for e in entries[last_sent + 1 :] if e.at <= now and (e.is_breach or not snoozed)]
    if not due:
        return [], []
    chosen = due[-1]
    superseded = [e.key for e in due[:-1]]
    if chosen.is_breach:
        # warnings held back by a snooze are moot once the deadline is gone
        superseded = [e.key for e in entries[last_sent + 1 : -1]]
    tier = inq.tier or inq.triage.tier
    if chosen.is_breach:
        kind, target, due_at = PingKind.SLA_BREACH, Target.THREAD_OWNER_ADMINS, chosen.at
    else:
        kind = PingKind.SLA_WARNING
        target = Target.OWNER_DM if inq.owner else Target.THREAD_TEAM
        due_at = _release_time(inq, chosen.at)
    ping = Ping(
        key=chosen.key,
        inquiry_id=inq.id,
        kind=kind,
        rung=chosen.rung,
        target=target,
        owner=inq.owner,
        due_at=due_at,
        market=inq.triage.market,
        tier=tier,
        deadline=entries[-1].at,
        cycle_start=inq.sla_started_at,
    )
    return [ping], superseded


def _followup_pings(inq: Inquiry, now: datetime, policy: SlaPolicy) -> tuple[list[Ping], list[str]]:
    if _snoozed(inq, now):
        return [], []
    done = sent_index(inq)
    due = [r for r in reminders_due(inq, now, policy.followup) if r.n > done]
    if not due:
        return [], []
    chosen = due[-1]
    ping = Ping(
        key=chosen.key,
        inquiry_id=inq.id,
        kind=PingKind.FOLLOWUP,
        rung=str(chosen.n),
        target=Target.OWNER_DM if inq.owner else Target.THREAD_TEAM,
        owner=inq.owner,
        due_at=_release_time(inq, chosen.due_at),
        market=inq.triage.market,
        tier=chosen.tier,
        step=chosen.step.label if chosen.step else None,
        cycle_start=inq.answered_at,
    )
    return [ping], [r.key for r in due[:-1]]


def due_pings(inquiries: Iterable[Inquiry], now: datetime, policy: SlaPolicy) -> TickResult:
    """Every SLA warning, breach and follow-up due at ``now`` and not yet sent, oldest first.

    At most one ping per inquiry and cycle per call: missed rungs collapse into the latest one
    and their keys are returned in ``superseded_keys``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    pings: list[Ping] = []
    superseded: list[str] = []
    for inq in inquiries:
        for fn in (_sla_pings, _followup_pings):
            p, s = fn(inq, now, policy)
            pings.extend(p)
            superseded.extend(s)
    pings.sort(key=lambda p: (p.due_at, p.inquiry_id, p.key))
    return TickResult(pings=tuple(pings), superseded_keys=tuple(superseded))
