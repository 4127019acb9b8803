"""The SLA tick wired to the store and outbox: pings owed once, delivered to the right place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.blocks.render import Renderer
from bot.core.models import Market
from bot.desk.delivery import DeliveryWorker
from bot.desk.outbox import Outbox
from bot.desk.reminders import Reminders
from bot.sla.engine import SlaPolicy, parse_warn_at
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import T0, make_inquiry, make_triage


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _setup(tmp_path: Path, slack: FakeSlack, clock: Clock) -> tuple[TinyStore, Reminders, DeliveryWorker]:
    store = open_store(tmp_path, shards=2)
    outbox = Outbox(store)
    policy = SlaPolicy(warn_at=parse_warn_at("50%,1h"))
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack.base_url))
    renderer = Renderer(policy, "en")
    worker = DeliveryWorker(store, outbox, chat, "CINQ", clock, renderer.card, renderer.note, min_interval=0)
    reminders = Reminders(store, outbox, policy, clock, admins=frozenset({"UADMIN"}), chat=chat)
    return store, reminders, worker


def _drain(worker: DeliveryWorker) -> None:
    while worker.run_once():
        pass


def test_sea_ladder_reaches_the_owner_then_the_thread_once_each(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    clock = Clock(T0)
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    sea = make_triage(market=Market.SEA, country="VN", language="vi", sla_hours=4.0)
    store.add(make_inquiry("1", triage=sea, owner="UANNA", card_ts="1700000000.000001", card_channel="CINQ"))
    sent_at: list[timedelta] = []
    for minute in range(0, 5 * 60, 1):  # one tick a minute for five hours
        clock.now = T0 + timedelta(minutes=minute)
        if reminders.sla_tick():
            sent_at.append(clock.now - T0)
        _drain(worker)
    assert sent_at == [timedelta(hours=2), timedelta(hours=3), timedelta(hours=4)]
    dms = [c for c in slack_server.calls("chat.postMessage") if c.params["channel"] == "DUANNA"]
    assert len(dms) == 2  # 50 % and 1 h before the deadline
    breach = [c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert len(breach) == 1
    assert "<@UANNA>" in breach[0].params["text"] and "<@UADMIN>" in breach[0].params["text"]


def test_restart_mid_ladder_sends_nothing_twice(tmp_path: Path, slack_server: FakeSlack) -> None:
    clock = Clock(T0 + timedelta(hours=4, minutes=1))
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    store.add(make_inquiry("1", card_ts="1700000000.000001", card_channel="CINQ"))  # EU, 8 h, unclaimed
    assert reminders.sla_tick() == 1
    _drain(worker)
    store.close()
    store2, reminders2, worker2 = _setup(tmp_path, slack_server, clock)
    assert reminders2.sla_tick() == 0  # same moment, new process: already owed
    clock.now = T0 + timedelta(hours=7, minutes=30)  # down while the 1 h rung passed
    assert reminders2.sla_tick() == 1
    clock.now = T0 + timedelta(hours=12)  # down over the breach: one message, not a replay
    assert reminders2.sla_tick() == 1
    _drain(worker2)
    thread_posts = [c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert len(thread_posts) == 3
    assert len(store2.require("1").pings_sent) == 3


def test_answered_inquiry_gets_no_pings_and_follow_up_cadence_starts(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    clock = Clock(T0)
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    inq = make_inquiry("1", owner="UANNA", card_ts="1700000000.000001", card_channel="CINQ")
    store.add(replace(inq, sla_started_at=None, answered_at=T0, first_response_at=T0))
    clock.now = T0 + timedelta(hours=9)
    assert reminders.sla_tick() == 0
    clock.now = T0 + timedelta(days=1, minutes=1)  # tier A: daily follow-up reminder
    assert reminders.sla_tick() == 1
    _drain(worker)
    assert [c.params["channel"] for c in slack_server.calls("chat.postMessage")] == ["DUANNA"]


def test_digest_once_per_local_day_in_owner_time_zone(tmp_path: Path, slack_server: FakeSlack) -> None:
    from bot.desk.digests import Digests

    clock = Clock(datetime(2026, 11, 20, 16, 30, tzinfo=UTC))  # 08:30 in Los Angeles
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    slack_server.set_user_tz("ULA", "America/Los_Angeles")
    slack_server.set_user_tz("USH", "Asia/Shanghai")
    store.add(make_inquiry("1", owner="ULA", created_at=clock.now - timedelta(hours=1)))
    store.add(make_inquiry("2", owner="USH", created_at=clock.now - timedelta(hours=1)))
    digests = Digests(store, reminders.outbox, reminders.policy, "en", "CINQ", clock, reminders.tz_of)
    reminders.send_digests = digests.send_owner
    sent = []
    for minute in range(0, 24 * 60, 10):
        clock.now = datetime(2026, 11, 20, 16, 30, tzinfo=UTC) + timedelta(minutes=minute)
        if reminders.digest_tick():
            sent.append(clock.now)
    _drain(worker)
    by_channel = [c.params["channel"] for c in slack_server.calls("chat.postMessage")]
    assert sorted(by_channel) == ["DULA", "DUSH"]
    # 09:00 Los Angeles = 17:00 UTC; 09:00 Shanghai = 01:00 UTC next day.
    assert [t.hour for t in sent] == [17, 1]


def test_unclaimed_warning_mentions_the_team_and_followup_offers_a_draft(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    clock = Clock(T0 + timedelta(hours=4, minutes=1))
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    store.add(make_inquiry("1", card_ts="1700000000.000001", card_channel="CINQ"))  # unclaimed, EU
    answered = make_inquiry("2", owner="UANNA", card_ts="1700000000.000002", card_channel="CINQ")
    store.add(replace(answered, sla_started_at=None, answered_at=T0, first_response_at=T0))
    reminders.sla_tick()  # 4 h in: the unclaimed one's 50 % warning goes to the card's thread
    clock.now = T0 + timedelta(days=1, minutes=1)
    reminders.sla_tick()  # a day later: its breach, and the answered one's follow-up reminder
    _drain(worker)
    posts = slack_server.calls("chat.postMessage")
    team = [c for c in posts if c.params.get("thread_ts") == "1700000000.000001"]
    assert len(team) == 2 and all(c.params["text"].startswith("<!here>") for c in team)
    followup = next(c for c in posts if c.params["channel"] == "DUANNA")
    buttons = [e for b in followup.blocks for e in b.get("elements", []) or [] if e.get("type") == "button"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("inquiry_draft", "2")]


def test_team_digest_summarises_yesterday(tmp_path: Path, slack_server: FakeSlack) -> None:
    from bot.core.models import Tier
    from bot.desk.digests import Digests

    now = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, the team's morning
    clock = Clock(now)
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    yesterday = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai time on the 20th
    on_time = replace(
        make_inquiry("1", created_at=yesterday),
        sla_started_at=None,
        answered_at=yesterday + timedelta(hours=2),
        first_response_at=yesterday + timedelta(hours=2),
    )
    sea = make_triage(market=Market.SEA, country="VN", language="vi", sla_hours=4.0)
    late = make_inquiry("2", created_at=yesterday, triage=sea, tier=Tier.B)  # never answered: breached
    store.add(on_time)
    store.add(late)
    digests = Digests(
        store,
        reminders.outbox,
        reminders.policy,
        "en",
        "CINQ",
        clock,
        reminders.tz_of,
        team_timezone="Asia/Shanghai",
    )
    digests.send_team(list(store.all_inquiries()), now)
    _drain(worker)
    digest = next(c for c in slack_server.calls("chat.postMessage") if "Yesterday" in str(c.blocks))
    text = str(digest.blocks)
    assert "2026-11-20" in text and "2 new inquiries" in text
    assert "EU 1" in text and "SEA 1" in text and "Breaches: 1" in text and "2.0 h" in text
