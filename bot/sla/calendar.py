"""Business-hours calendars: count an SLA window in working time only.

A :class:`BusinessCalendar` says when a market's desk works: which weekdays, which local hours
(in the market's IANA time zone) and which holidays. :func:`add_business_time` walks forward from
an instant, spending only working time::

    >>> cal = parse_calendar("Europe/Berlin", "09:00-18:00")
    >>> friday_5pm_berlin = datetime(2026, 3, 6, 16, tzinfo=UTC)
    >>> add_business_time(cal, friday_5pm_berlin, timedelta(hours=8))  # Monday 16:00 in Berlin
    datetime.datetime(2026, 3, 9, 15, 0, tzinfo=datetime.timezone.utc)

Local opening and closing times are resolved per day with ``zoneinfo``, so DST changes are handled.
Overnight shifts (end before start) are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3 * 366  # a window can't need more than this many calendar days to elapse


@dataclass(frozen=True)
class BusinessCalendar:
    """Working time of one market. ``workdays`` uses ``date.weekday()`` numbers (Mon=0)."""

    tz: str
    start: time = time(9, 0)
    end: time = time(18, 0)
    workdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {self.tz!r}") from e
        if not self.start < self.end:
            raise ValueError(f"business hours must end after they start: {self.start}-{self.end}")
        if not self.workdays or not self.workdays <= frozenset(range(7)):
            raise ValueError(f"workdays must be a non-empty subset of 0..6, got {sorted(self.workdays)}")

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def opening(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants the desk opens and closes on local ``day``."""
        zone = ZoneInfo(self.tz)
        opens = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return opens, closes


def add_business_time(cal: BusinessCalendar, start: datetime, delta: timedelta) -> datetime:
    """The instant when ``delta`` of working time has elapsed after ``start`` (aware, returned in UTC).

    A zero ``delta`` outside working hours gives the next opening. A window that runs out exactly at
    closing time ends at closing time, not at the next opening.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if delta < timedelta(0):
        raise ValueError("delta must not be negative")
    remaining = delta
    day = start.astimezone(ZoneInfo(cal.tz)).date()
    for _ in range(_MAX_DAYS + len(cal.holidays)):
        if cal.is_workday(day):
            opens, closes = cal.opening(day)
            seg_start = max(opens, start)
            if seg_start < closes:
                available = closes - seg_start
                if remaining <= available:
                    return (seg_start + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("business calendar has no working time in reach; check workdays and holidays")


_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_days(days: str) -> frozenset[int]:
    out: set[int] = set()
    for part in days.lower().replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in _DAY_NAMES or last not in _DAY_NAMES:
                raise ValueError(f"bad day range {part!r}; use e.g. 'mon-fri'")
            a, b = _DAY_NAMES.index(first), _DAY_NAMES.index(last)
            if a > b:
                raise ValueError(f"day range {part!r} runs backwards")
            out.update(range(a, b + 1))
        elif part in _DAY_NAMES:
            out.add(_DAY_NAMES.index(part))
        else:
            raise ValueError(f"bad day {part!r}; use mon, tue, wed, thu, fri, sat, sun")
    return frozenset(out)


def parse_calendar(
    tz: str, hours: str = "09:00-18:00", days: str = "mon-fri", holidays: Iterable[str | date] = ()
) -> BusinessCalendar:
    """Build a calendar from config strings: ``hours`` "09:00-18:00", ``days`` "mon-fri" or
    "mon,tue,thu", ``holidays`` ISO dates. Raises ValueError with a readable message."""
    m = _HOURS_RE.match(hours)
    if not m:
        raise ValueError(f"bad business hours {hours!r}; use e.g. '09:00-18:00'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as e:
        raise ValueError(f"bad business hours {hours!r}: {e}") from e
    parsed_holidays: set[date] = set()
    for h in holidays:
        if isinstance(h, date):
            parsed_holidays.add(h)
            continue
        try:
            parsed_holidays.add(date.fromisoformat(h.strip()))
        except ValueError as e:
            raise ValueError(f"bad holiday {h!r}; use YYYY-MM-DD") from e
    return BusinessCalendar(
        tz=tz, start=start, end=end, workdays=_parse_days(days), holidays=frozenset(parsed_holidays)
    )
