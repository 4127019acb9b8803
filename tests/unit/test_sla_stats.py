"""Statistics: first-response median/p90, SLA compliance by market and owner, tier mix, outcomes,
the weekly series and its PNG chart."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.blocks.chart import weekly_chart_png
from bot.core.models import Inquiry, Market, Status, Tier
from bot.sla import SlaPolicy, compute_stats, parse_stats_period, weekly_series
from bot.sla.stats import Compliance, percentile
from tests.unit.test_sla_factory import make_inquiry

H = timedelta(hours=1)
D = timedelta(days=1)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday


def _responded(id: str, created: datetime, after: timedelta, **kw: object) -> Inquiry:
    inq = make_inquiry(id, created_at=created, **kw)  # type: ignore[arg-type]
    return replace(inq, sla_started_at=None, first_response_at=created + after, answered_at=created + after)


def test_parse_stats_period() -> None:
    assert parse_stats_period("7d") == 7
    assert parse_stats_period("30d") == 30
    assert parse_stats_period("") == 7
    assert parse_stats_period(" 14 ") == 14
    assert parse_stats_period("2w") == 14
    for bad in ("0d", "abc", "7x", "-3d", "400d", "7 days"):
        with pytest.raises(ValueError, match="bad period"):
            parse_stats_period(bad)


def test_median_and_p90_of_first_response_on_known_data() -> None:
    inquiries = [_responded(f"q{n}", NOW - 2 * D, n * H) for n in range(1, 11)]  # 1 h .. 10 h
    stats = compute_stats(inquiries, NOW, 7)
    assert stats.first_responses == 10
    assert stats.first_response_median == 5.5 * H
    assert stats.first_response_p90 == 9 * H  # nearest rank: 9th of 10


def test_percentile_nearest_rank_edges() -> None:
    assert percentile([], 90) is None
    assert percentile([H], 90) == H
    assert percentile([3 * H, H, 2 * H], 50) == 2 * H
    assert percentile([H, 2 * H], 100) == 2 * H


def test_compliance_by_market_and_owner() -> None:
    created = NOW - 3 * D
    inquiries = [
        _responded("eu-ok", created, 7 * H, market=Market.EU, owner="U1"),
        _responded("eu-late", created, 9 * H, market=Market.EU, owner="U2"),
        _responded("sea-ok", created, 3 * H, market=Market.SEA, owner="U1"),
        _responded("sea-late", created, 5 * H, market=Market.SEA, owner="U1"),
        make_inquiry("us-missed", market=Market.US, created_at=created),  # never answered
        make_inquiry("us-pending", market=Market.US, created_at=NOW - H),  # still inside its window
    ]
    stats = compute_stats(inquiries, NOW, 7)
    assert stats.inquiries == 6
    assert stats.compliance == Compliance(within=2, total=5)
    assert stats.compliance.rate == pytest.approx(0.4)
    assert stats.compliance_by_market == {
        Market.EU: Compliance(1, 2),
        Market.SEA: Compliance(1, 2),
        Market.US: Compliance(0, 1),
    }
    assert stats.compliance_by_owner == {
        "U1": Compliance(2, 3),
        "U2": Compliance(0, 1),
        None: Compliance(0, 1),
    }


def test_compliance_uses_the_business_calendar_when_configured() -> None:
    from bot.sla import parse_calendar

    policy = SlaPolicy(calendars={Market.EU: parse_calendar("UTC", "09:00-18:00")})
    friday_5pm = datetime(2026, 3, 13, 17, 0, tzinfo=UTC)
    monday_reply = _responded("q", friday_5pm, 3 * D - 2 * H)  # Monday 15:00 UTC, within 8 business h
    assert compute_stats([monday_reply], NOW, 30, policy).compliance == Compliance(1, 1)
    assert compute_stats([monday_reply], NOW, 30).compliance == Compliance(0, 1)


def test_tier_mix_outcomes_and_what_is_left_out() -> None:
    inquiries = [
        make_inquiry("a", tier=Tier.A, created_at=NOW - D, status=Status.WON),
        make_inquiry("b1", tier=Tier.B, created_at=NOW - D, status=Status.LOST),
        make_inquiry("b2", tier=Tier.B, created_at=NOW - D, status=Status.LOST),
        make_inquiry("c", tier=Tier.C, created_at=NOW - D),
        make_inquiry("old", tier=Tier.A, created_at=NOW - 8 * D, status=Status.WON),  # outside 7 days
        make_inquiry("spam", created_at=NOW - D, status=Status.NOT_INQUIRY, is_inquiry=False),
    ]
    stats = compute_stats(inquiries, NOW, 7)
    assert stats.inquiries == 4
    assert stats.tier_mix == {Tier.A: 1, Tier.B: 2, Tier.C: 1}
    assert (stats.won, stats.lost) == (1, 2)
    assert stats.since == NOW - 7 * D and stats.until == NOW
    assert compute_stats(inquiries, NOW, 30).won == 2


def test_stats_of_nothing_are_empty_not_errors() -> None:
    stats = compute_stats([], NOW, 7)
    assert stats.inquiries == 0
    assert stats.first_response_median is None and stats.first_response_p90 is None
    assert stats.compliance.rate is None


def test_weekly_series_buckets_by_iso_week() -> None:
    monday = date(2026, 3, 16)
    this_week = datetime(2026, 3, 16, 10, tzinfo=UTC)
    last_week = this_week - 7 * D
    inquiries = [
        _responded("a", this_week, 2 * H),
        _responded("b", this_week, 4 * H),
        _responded("c", this_week, 10 * H),  # late
        _responded("d", last_week, 1 * H),
        make_inquiry("e", created_at=this_week - 30 * D),  # before the 4-week range
    ]
    points = weekly_series(inquiries, NOW, weeks=4)
    assert [p.week_start for p in points] == [monday - timedelta(weeks=k) for k in (3, 2, 1, 0)]
    assert [p.new for p in points] == [0, 0, 1, 3]
    assert [p.answered_within_sla for p in points] == [0, 0, 1, 2]
    assert [p.median_first_response_hours for p in points] == [None, None, 1.0, 4.0]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_weekly_chart_is_a_real_png() -> None:
    start = datetime(2026, 1, 26, 9, tzinfo=UTC)
    inquiries = [
        _responded(f"q{n}", start + n * 13 * H, (n % 12 + 1) * H, market=Market.SEA if n % 3 else Market.EU)
        for n in range(60)
    ]
    data = weekly_chart_png(inquiries, NOW, weeks=8)
    assert _png_size(data) == (800, 400)
    assert len(data) > 10_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_weekly_chart_renders_with_no_data() -> None:
    data = weekly_chart_png([], NOW, weeks=8)
    assert _png_size(data) == (800, 400)
    assert len(data) > 5_000
