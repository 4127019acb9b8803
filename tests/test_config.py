"""Configuration: defaults, presets, calendars, mentions, routing rules; every problem listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app.store import open_store
from bot.config.routing_rules import parse_rules
from bot.config.settings import load_config
from bot.core.errors import ConfigError
from bot.core.models import Market
from bot.desk.routing import Router
from tests.inquiries import make_inquiry, make_triage


def test_defaults_need_no_variables() -> None:
    c = load_config({})
    assert c.sla_hours == {Market.EU: 8, Market.US: 8, Market.SEA: 4, Market.OTHER: 8}
    assert c.imap is None and c.slack is None and c.llm is None
    assert c.sla_team_mention == "<!here>"
    assert c.embargoed_countries == frozenset({"CU", "IR", "KP", "SY"})


def test_business_hours_calendar_per_market_feeds_the_sla_policy() -> None:
    from bot.app.wiring import sla_policy
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

    store = open_store(Path(str(tmp_path)))
    router = Router(parse_rules("market:SEA=UANNA;language:es=UBEN|UCARLA"), store)
    sea = make_inquiry("1", triage=make_triage(market=Market.SEA, country="VN", language="vi"))
    es = make_inquiry("2", triage=make_triage(market=Market.OTHER, country="MX", language="es"))
    de = make_inquiry("3")
    assert router.route(sea) == "UANNA"
    assert [router.route(es) for _ in range(3)] == ["UBEN", "UCARLA", "UBEN"]
    assert router.route(de) is None
    store.close()
    # The round-robin turn survives a restart.
    again = Router(parse_rules("market:SEA=UANNA;language:es=UBEN|UCARLA"), open_store(Path(str(tmp_path))))
    assert again.route(es) == "UCARLA"


def test_bad_routing_rules_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as e:
        parse_rules("market=SEA;colour:red=U1")
    assert "market=SEA" in str(e.value) and "colour:red=U1" in str(e.value)


def test_routed_inquiry_is_owned_at_arrival(tmp_path: object) -> None:
    from pathlib import Path

    from bot.desk.ingest import Ingestor
    from bot.desk.outbox import Outbox
    from bot.triage import TriageConfig
    from tests.factories import make_email

    store = open_store(Path(str(tmp_path)))
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


# -- operator mistakes answered in one list -----------------------------------------------------

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CHANNEL": "C0123ABCD"}


def test_routing_rules_are_checked_when_the_configuration_is_read() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(
            {
                "ROUTING_RULES": "market:ASIA=U01ANNA;language:es=C0INQUIRIES;country:Germany=U02BEN;"
                "tier:A=anna;market:SEA=U03CARLA",
                "SLA_HOURS_EU": "never",
            }
        )
    problems = e.value.problems
    assert len(problems) == 5, problems  # four bad rules and the SLA, in one list
    text = str(e.value)
    assert "unknown market 'ASIA' (markets: EU, US, SEA, OTHER)" in text
    assert "'C0INQUIRIES' is a channel id; a member's user id (U…) belongs here" in text
    assert "country 'Germany' is not a two-letter code" in text
    assert "'anna' is not a user id" in text
    assert "SLA_HOURS_EU" in text and "U03CARLA" not in text  # the good rule is not listed


def test_good_routing_rules_pass_and_route() -> None:
    c = load_config({"ROUTING_RULES": "market:sea=U01ANNA; language:es=@U02BEN|U03CARLA ;tier:b=W04DIRK"})
    rules = parse_rules(c.routing_rules)
    assert [(r.field, r.value, r.users) for r in rules] == [
        ("market", "sea", ("U01ANNA",)),
        ("language", "es", ("U02BEN", "U03CARLA")),
        ("tier", "b", ("W04DIRK",)),
    ]


@pytest.mark.parametrize(
    "name", ["#inquiries", "inquiries", "c0123abcd", "U0123ABCD", "https://x.slack.com/archives/C1"]
)
def test_slack_channel_must_be_a_channel_id(name: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config({**SLACK, "SLACK_CHANNEL": name})
    assert f"SLACK_CHANNEL={name!r} must be a channel id such as C0123ABCD" in str(e.value)
    assert "inquiry-bot doctor" in str(e.value)


@pytest.mark.parametrize("channel", ["C0123ABCD", "G01PRIVATE", "CINQ"])
def test_channel_ids_are_accepted(channel: str) -> None:
    slack = load_config({**SLACK, "SLACK_CHANNEL": channel}).slack
    assert slack is not None and slack.channel == channel


def test_bot_admins_must_be_member_ids() -> None:
    assert load_config({"BOT_ADMINS": "U01ANNA, W02BEN"}).admins == {"U01ANNA", "W02BEN"}
    with pytest.raises(ConfigError) as e:
        load_config({"BOT_ADMINS": "U01ANNA,anna@brightway-led.com,C0SALES"})
    text = str(e.value)
    assert "BOT_ADMINS: 'anna@brightway-led.com' is not a user id" in text
    assert "BOT_ADMINS: 'C0SALES' is a channel id" in text


def test_mail_worker_budget_settings_are_checked_with_the_rest() -> None:
    from bot.config.settings import load_config as _load
    from bot.core.errors import ConfigError as _Err

    with pytest.raises(_Err) as err:
        _load({"MAIL_CPU_BUDGET_SECONDS": "abc", "MAIL_WORKERS": "0", "MAIL_MEMORY_BUDGET_MB": "-5"})
    text = str(err.value)
    assert "MAIL_WORKERS='0'" in text and "MAIL_CPU_BUDGET_SECONDS='abc'" in text
    assert "MAIL_MEMORY_BUDGET_MB='-5'" in text
    _load({"MAIL_CPU_BUDGET_SECONDS": "1.5", "MAIL_WORKERS": "3"})
