"""A crash between posting a card and recording its ts must not post the card twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.blocks.render import Renderer
from bot.desk.delivery import DeliveryWorker
from bot.desk.outbox import Outbox
from bot.sla.engine import SlaPolicy
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import make_inquiry

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _worker(store: TinyStore, slack: FakeSlack) -> DeliveryWorker:
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack.base_url))
    renderer = Renderer(SlaPolicy(), "en")
    return DeliveryWorker(
        store, Outbox(store), chat, "CINQ", lambda: NOW, renderer.card, renderer.note, min_interval=0
    )


def test_card_posted_before_a_crash_is_adopted_not_reposted(tmp_path: Path, slack_server: FakeSlack) -> None:
    store = open_store(tmp_path, shards=2)
    store.add(make_inquiry("7"))
    outbox = Outbox(store)
    outbox.enqueue("card:7", "card", "7", None, NOW)
    # The first process posted the card and died before recording its ts.
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_server.base_url))
    ts = chat.post("CINQ", "card", [], card_of="7")
    store.update("7", lambda i: replace(i, extra={**i.extra, "card_attempted": "1"}))
    store.close()

    store = open_store(tmp_path)
    worker = _worker(store, slack_server)
    assert worker.run_once() == 1
    assert len(slack_server.calls("chat.postMessage")) == 1  # only the one from before the crash
    assert store.require("7").card_ts == ts


def test_card_never_posted_is_posted_once_with_its_metadata(tmp_path: Path, slack_server: FakeSlack) -> None:
    store = open_store(tmp_path, shards=2)
    store.add(make_inquiry("8"))
    Outbox(store).enqueue("card:8", "card", "8", None, NOW)
    worker = _worker(store, slack_server)
    worker.run_once()
    worker.run_once()
    posts = slack_server.calls("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].params["metadata"]["event_payload"]["inquiry_id"] == "8"
    assert store.require("8").card_ts == posts[0].response["ts"]


def test_a_dm_posted_before_a_crash_is_not_posted_again(tmp_path: Path, slack_server: FakeSlack) -> None:
    store = open_store(tmp_path, shards=2)
    store.add(make_inquiry("9", owner="UANNA", card_ts="1700000000.000001", card_channel="CINQ"))
    outbox = Outbox(store)
    key = "sla:9:2026-11-20T08:00:00+00:00:50%"
    payload = {"key": "ping.sla_warning.owner_dm", "owner": "UANNA", "user": "UANNA", "deadline": None}
    outbox.enqueue(key, "ping_dm", "9", payload, NOW)
    # The first process marked the post as tried, posted it, and died before marking it done.
    outbox.mark_tried(key)
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_server.base_url))
    chat.post(chat.dm_channel("UANNA"), "warning", None, tag=key)
    store.close()

    store = open_store(tmp_path)
    _worker(store, slack_server).run_once()
    assert len(slack_server.calls("chat.postMessage")) == 1
    assert Outbox(store).pending_count() == 0
