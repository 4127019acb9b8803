"""The buyer's local time: which time zone a buyer is in, and their next working morning.

The zones of a country come from CLDR (Babel's ``territory_zones``) and are loaded from the IANA
database through ``zoneinfo`` (the ``tzdata`` package when the system has none); for countries with
several zones, the UTC offset the buyer's own mail client wrote in the Date header picks one, else
the country's business centre (``data/main_zones.json``, hand-kept). Without a country, the Date
offset alone gives a fixed-offset zone. A country whose zones cannot be loaded at all is an error
(``TimeZoneDataError``), never a silent "no zone".
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global

from bot.triage.geo import TimeZoneDataError

log = logging.getLogger(__name__)

__all__ = ["TimeZoneDataError", "buyer_timezone", "country_zones", "main_zones", "next_morning", "zones_of"]

MORNING_START = time(9, 0)
MORNING_SEND = time(9, 15)


@functools.cache
def main_zones() -> dict[str, str]:
    """Country -> its business-centre zone, for countries with several zones."""
    raw = json.loads(resources.files("bot.sla").joinpath("data/main_zones.json").read_text("utf-8"))
    return {k: str(v) for k, v in raw.items() if not k.startswith("_")}


@functools.cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code -> IANA zone names, from CLDR's territory -> zones data (Babel)."""
    table = get_global("territory_zones")
    return {
        code.upper(): tuple(z for z in zones if not z.startswith("Etc/"))
        for code, zones in table.items()
        if len(code) == 2 and code.isalpha()
    }


@functools.cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %s is not in the IANA database; skipped (is tzdata installed?)", name)
        return None


def zones_of(country: str) -> tuple[ZoneInfo, ...]:
    """The loaded zones of ``country``, its business centre first; () for a country CLDR does not
    place in any zone. Raises TimeZoneDataError when it has zones but none of them loads."""
    code = country.upper()
    listed = country_zones().get(code, ())
    main = main_zones().get(code)
    names = ((main,) if main else ()) + tuple(z for z in listed if z != main)
    zones = tuple(z for z in (_zone(n) for n in names) if z is not None)
    if names and not zones:
        raise TimeZoneDataError(
            f"no time zone of {code} ({', '.join(names[:3])}) is in the IANA database: install tzdata"
        )
    return zones


def buyer_timezone(country: str | None, utc_offset_minutes: int | None, now: datetime) -> tzinfo | None:
    """The buyer's zone: the country's zone matching the Date offset, else its main zone; with no
    known country, a fixed zone at the Date offset; None when neither is known."""
    zones = zones_of(country) if country else ()
    if zones:
        if utc_offset_minutes is not None:
            for z in zones:
                offset = now.astimezone(z).utcoffset()
                if offset is not None and offset == timedelta(minutes=utc_offset_minutes):
                    return z
        return zones[0]
    if utc_offset_minutes is not None and abs(utc_offset_minutes) <= 14 * 60:
        return timezone(timedelta(minutes=utc_offset_minutes))
    return None


def next_morning(now: datetime, tz: tzinfo, *, weekdays_only: bool = True) -> datetime:
    """The next 09:15 local time (inside the buyer's 09:00–10:00), skipping weekends."""
    local = now.astimezone(tz)
    day = local.date()
    if local.time() >= MORNING_START:
        day += timedelta(days=1)
    while weekdays_only and day.weekday() >= 5:
        day += timedelta(days=1)
    naive = datetime.combine(day, MORNING_SEND)
    return naive.replace(tzinfo=tz).astimezone(now.tzinfo or UTC)
