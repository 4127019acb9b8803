"""The buyer's local time: which time zone a buyer is in, and their next working morning.

The zone comes from the country (the system's ``zone.tab``) and, for countries with
several zones, the UTC offset the buyer's own mail client wrote in the Date header.
Without either, the Date offset alone gives a fixed-offset zone.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONE_TABS = (Path("/usr/share/zoneinfo/zone.tab"), Path("/usr/share/zoneinfo/zone1970.tab"))
# Where a country spans several zones and the buyer's offset is unknown: its business centre.
MAIN_ZONE = {
    "US": "America/New_York",
    "CA": "America/Toronto",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "RU": "Europe/Moscow",
    "AU": "Australia/Sydney",
    "ID": "Asia/Jakarta",
    "CN": "Asia/Shanghai",
    "KZ": "Asia/Almaty",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "MY": "Asia/Kuala_Lumpur",
    "DE": "Europe/Berlin",
}
MORNING_START = time(9, 0)
MORNING_SEND = time(9, 15)


@functools.cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code -> IANA zones, from the system's tz database (empty if missing)."""
    zones: dict[str, list[str]] = {}
    for tab in ZONE_TABS:
        if not tab.exists():
            continue
        for line in tab.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) >= 3:
                for code in parts[0].split(","):
                    zones.setdefault(code.strip().upper(), []).append(parts[2].strip())
        if zones:
            break
    return {k: tuple(v) for k, v in zones.items()}


def buyer_timezone(country: str | None, utc_offset_minutes: int | None, now: datetime) -> tzinfo | None:
    code = (country or "").upper()
    listed = country_zones().get(code, ())
    main = MAIN_ZONE.get(code)
    candidates = ((main,) if main else ()) + tuple(z for z in listed if z != main)
    zones = []
    for name in candidates:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
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
