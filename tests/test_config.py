"""Configuration: defaults, presets, calendars, mentions, routing rules; every problem listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.models import Market
from bot.routing import Router, parse_rules
from bot.store.repo import Store
from tests.inquiries import make_inquiry, make_triage


def test_defaults_need_no_variables() -> None:
    c = load_config({})
    assert c.sla_hours == {Market.EU: 8, Market.US: 8, Market.SEA: 4, Market.OTHER: 8}
    assert c.imap is None and c.slack is None and c.llm is None
    assert c.sla_team_mention == "<!here>"
    assert c.embargoed_countries == frozenset({"CU", "IR", "KP", "SY"})


def test_business_hours_calendar_per_market_feeds_the_sla_policy() -> None:
    from bot.app import sla_policy
    from bot.sla.engine import deadline

    c = load_config({"SLA_CALENDAR_EU": "Europe/Berlin 09:00-18:00 mon-fri", "SLA_HOLIDAYS_EU": "2026-12-25"})
    policy = sla_policy(c)
    friday_evening = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    inq = make_inquiry("1", created_at=friday_evening, sla_started_at=friday_evening)
    due = deadline(inq, policy)
    assert due is not None and due.weekday() == 0  # 1 h on Friday, 7 h on Monday


def test_every_bad_sla_setting_is_listed() -> None:
    with pytest.raises(ConfigError) as e:
        load_config({"SLA_WARN_AT": "soonish", "SLA_CALENDAR_SEA": "Mars/Olympus", "SLA_HOURS_US": "-1"})
    text = str(e.value)
    assert "SLA_WARN_AT" in text and "SLA_CALENDAR_SEA" in text and "SLA_HOURS_US" in text


@pytest.mark.parametrize(
    ("value", "mention"),
    [
        ("", "<!here>"),
        ("channel", "<!channel>"),
        ("none", ""),
        ("S0SALES", "<!subteam^S0SALES>"),
        ("U123", "<@U123>"),
    ],
)
def test_team_mention_setting(value: str, mention: str) -> None:
    assert load_config({"SLA_TEAM_MENTION": value} if value else {}).sla_team_mention == mention


def test_provider_preset_fills_and_explicit_values_win() -> None:
    c = load_config({"MAIL_PROVIDER": "exmail", "IMAP_USER": "sales@x.cn", "IMAP_PASSWORD": "client-pass"})
    assert c.imap is not None and c.imap.host == "imap.exmail.qq.com" and c.imap.port == 993
    assert c.smtp is not None and c.smtp.host == "smtp.exmail.qq.com"
    c2 = load_config(
        {"MAIL_PROVIDER": "exmail", "IMAP_HOST": "imap.example.cn", "IMAP_USER": "a", "IMAP_PASSWORD": "b"}
    )
    assert c2.imap is not None and c2.imap.host == "imap.example.cn"


def test_routing_rules_route_by_market_and_round_robin(tmp_path: object) -> None:
    from pathlib import Path

    store = Store(Path(str(tmp_path)))
    router = Router(parse_rules("market:SEA=UANNA;language:es=UBEN|UCARLA"), store)
    sea = make_inquiry("1", triage=make_triage(market=Market.SEA, country="VN", language="vi"))
    es = make_inquiry("2", triage=make_triage(market=Market.OTHER, country="MX", language="es"))
    de = make_inquiry("3")
    assert router.route(sea) == "UANNA"
    assert [router.route(es) for _ in range(3)] == ["UBEN", "UCARLA", "UBEN"]
    assert router.route(de) is None
    store.close()
    # The round-robin turn survives a restart.
    again = Router(parse_rules("market:SEA=UANNA;language:es=UBEN|UCARLA"), Store(Path(str(tmp_path))))
    assert again.route(es) == "UCARLA"


def test_bad_routing_rules_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as e:
        parse_rules("market=SEA;colour:red=U1")
    assert "market=SEA" in str(e.value) and "colour:red=U1" in str(e.value)


def test_routed_inquiry_is_owned_at_arrival(tmp_path: object) -> None:
    from pathlib import Path

    from bot.ingest import Ingestor
    from bot.outbox import Outbox
    from bot.triage import TriageConfig
    from tests.factories import make_email

    store = Store(Path(str(tmp_path)))
    router = Router(parse_rules("market:EU=UDIRK"), store)
    ingestor = Ingestor(store, Outbox(store), TriageConfig(), lambda: datetime.now(UTC), router=router)
    mail = make_email(
        from_addr="anna@licht.de",
        new_text="Wir brauchen 500 Stück LED Panels, FOB Shenzhen.",
        subject="Anfrage",
    )
    inq = store.require(ingestor.ingest(mail, datetime.now(UTC)).inquiry_id or "")
    assert inq.owner == "UDIRK" and inq.routed_to == "UDIRK"
    assert any(e.action == "routed" for e in inq.events)
