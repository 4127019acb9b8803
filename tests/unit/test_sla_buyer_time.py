"""The buyer's local time: zones from CLDR + the IANA database (tzdata), never from zone.tab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.sla import buyer_time
from bot.sla.buyer_time import (
    TimeZoneDataError,
    buyer_timezone,
    country_zones,
    main_zones,
    next_morning,
    zones_of,
)

NOW = datetime(2026, 1, 14, 3, 0, tzinfo=UTC)  # a Wednesday, northern winter


def test_country_zones_come_from_cldr() -> None:
    zones = country_zones()
    assert len(zones) > 200
    assert zones["VN"] == ("Asia/Ho_Chi_Minh",)
    assert "America/Los_Angeles" in zones["US"] and "America/New_York" in zones["US"]
    assert all(not z.startswith("Etc/") for zs in zones.values() for z in zs)


def test_every_main_zone_belongs_to_its_country() -> None:
    for country, zone in main_zones().items():
        assert zone in country_zones()[country], (country, zone)
        assert zones_of(country)[0] == ZoneInfo(zone)


def test_offset_picks_the_zone_else_the_business_centre() -> None:
    assert buyer_timezone("US", -8 * 60, NOW) == ZoneInfo("America/Los_Angeles")
    assert buyer_timezone("US", None, NOW) == ZoneInfo("America/New_York")
    assert buyer_timezone("US", 5 * 60, NOW) == ZoneInfo("America/New_York")  # no US zone at +05
    assert buyer_timezone("VN", None, NOW) == ZoneInfo("Asia/Ho_Chi_Minh")
    assert buyer_timezone("de", 60, NOW) == ZoneInfo("Europe/Berlin")


def test_no_country_falls_back_to_the_date_offset() -> None:
    assert buyer_timezone(None, 330, NOW) == timezone(timedelta(minutes=330))
    assert buyer_timezone("QQ", -300, NOW) == timezone(timedelta(minutes=-300))
    assert buyer_timezone(None, None, NOW) is None
    assert buyer_timezone(None, 20 * 60, NOW) is None


def test_a_country_whose_zones_all_fail_to_load_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing tz database is said, not turned into 'no zone' (the zone.tab bug)."""
    monkeypatch.setattr(buyer_time, "country_zones", lambda: {"XA": ("Nowhere/Atlantis",)})
    with pytest.raises(TimeZoneDataError, match=r"XA .*Nowhere/Atlantis.*tzdata"):
        buyer_timezone("XA", None, NOW)


def test_next_morning_is_a_weekday_at_nine_fifteen_local() -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    friday_evening = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)  # 19:00 in Hanoi
    sent = next_morning(friday_evening, tz).astimezone(tz)
    assert (sent.weekday(), sent.hour, sent.minute) == (0, 9, 15)
