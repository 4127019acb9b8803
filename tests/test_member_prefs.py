"""Per-member preferences (issue #16 item 7): stored, and honoured by pings and digests.

The store keeps them across a restart; the SLA tick sends an owner's pings to the card's thread
when they turned DM pings off; the digest tick sends at the member's own time, in their language.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.store import open_store
from bot.core.errors import StoreError
from bot.core.prefs import MemberPrefs
from bot.desk.digests import Digests
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import T0, make_inquiry
from tests.test_reminders import Clock, _drain, _setup


def test_preferences_and_home_state_survive_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=2)
    assert store.member_prefs("UNEW") == MemberPrefs()  # never set: the team's defaults
    assert store.home_state("UNEW") == {}
    store.set_member_prefs("UANNA", MemberPrefs(time(7, 30), dm_pings=False, lang="zh"))
    store.set_member_prefs("UANNA", MemberPrefs(time(8, 0), dm_pings=False, lang="zh"))  # replaced
    store.set_member_prefs("UBEN", MemberPrefs(lang="en"))
    store.set_home_state("UANNA", {"queue": "mine", "market": "EU", "tier": "any", "page": 2})
    with pytest.raises(StoreError):
        store.set_member_prefs("", MemberPrefs())
    store.close()

    again = open_store(tmp_path, shards=2)
    assert again.member_prefs("UANNA") == MemberPrefs(time(8, 0), dm_pings=False, lang="zh")
    assert again.member_prefs("UBEN") == MemberPrefs(lang="en")
    assert again.home_state("UANNA") == {"queue": "mine", "market": "EU", "tier": "any", "page": 2}
    assert len(again.aux("members").table("prefs")) == 2
    again.close()


def test_follow_up_reminders_go_to_the_thread_when_dm_pings_are_off(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    clock = Clock(T0)
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    for inq_id, owner in (("1", "UANNA"), ("2", "UBEN")):
        inq = make_inquiry(inq_id, owner=owner, card_ts=f"1700000000.00000{inq_id}", card_channel="CINQ")
        store.add(replace(inq, sla_started_at=None, answered_at=T0, first_response_at=T0))
    store.set_member_prefs("UANNA", MemberPrefs(dm_pings=False))
    clock.now = T0 + timedelta(days=1, minutes=1)  # tier A: the daily follow-up reminder
    assert reminders.sla_tick() == 2
    _drain(worker)
    posts = slack_server.calls("chat.postMessage")
    assert [c.params["channel"] for c in posts if c.params["channel"].startswith("D")] == ["DUBEN"]
    anna = [c for c in posts if c.params.get("thread_ts") == "1700000000.000001"]
    assert len(anna) == 1 and "<@UANNA>" in anna[0].params["text"]
    assert "follow up" in anna[0].params["text"]
    # Delivered once: the next tick owes nothing more for either of them.
    assert reminders.sla_tick() == 0


def test_each_member_gets_the_digest_at_their_own_time_and_in_their_language(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 00:00 in Los Angeles
    clock = Clock(start)
    store, reminders, worker = _setup(tmp_path, slack_server, clock)
    for user in ("UEVE", "UMORN", "UDEF"):
        slack_server.set_user_tz(user, "America/Los_Angeles")
    store.add(make_inquiry("1", owner="UEVE", created_at=start - timedelta(hours=1)))
    store.add(make_inquiry("2", owner="UMORN", created_at=start - timedelta(hours=1)))
    store.add(make_inquiry("3", owner="UDEF", created_at=start - timedelta(hours=1)))
    store.set_member_prefs("UEVE", MemberPrefs(digest_time=time(17, 30), lang="zh"))  # an evening digest
    store.set_member_prefs("UMORN", MemberPrefs(digest_time=time(6, 15)))
    digests = Digests(store, reminders.outbox, reminders.policy, "en", "CINQ", clock, reminders.tz_of)
    reminders.send_digests = digests.send_owner
    sent: dict[str, datetime] = {}
    for minute in range(0, 24 * 60, 5):
        clock.now = start + timedelta(minutes=minute)
        reminders.digest_tick()
        for user in ("UEVE", "UMORN", "UDEF"):
            if user not in sent and store.get_meta(f"digest:{user}"):
                sent[user] = clock.now
    la = ZoneInfo("America/Los_Angeles")
    assert {u: t.astimezone(la).time() for u, t in sent.items()} == {
        "UMORN": time(6, 15),
        "UDEF": time(9, 0),  # no preference: the team's DIGEST_TIME
        "UEVE": time(17, 30),
    }
    _drain(worker)
    texts = {
        c.params["channel"]: c.params["text"] + str(c.blocks)
        for c in slack_server.calls("chat.postMessage")
        if c.params["channel"].startswith("D")
    }
    assert set(texts) == {"DUEVE", "DUMORN", "DUDEF"}
    assert "今日询盘" in texts["DUEVE"] and "Your inquiries today" not in texts["DUEVE"]
    assert "Your inquiries today" in texts["DUDEF"] and "今日询盘" not in texts["DUDEF"]
