"""Drafting jobs post through the outbox: placeholder, draft (or error), numbered follow-ups.

Real parts throughout: the TinyDB store, the outbox, the delivery worker, ``slack_sdk`` against
the loopback fake Slack, and the real ``openai`` client against the loopback model server (or
the offline templates when no model is configured).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.adapters.llm_openai import OpenAILlm
from bot.adapters.slack.chat import SlackChat
from bot.app.store import open_store
from bot.core.models import Inquiry
from bot.desk.delivery import DeliveryWorker, Retry
from bot.desk.draft_sending import QuoteGate
from bot.desk.drafting_jobs import (
    KIND_MORE,
    KIND_PLACEHOLDER,
    KIND_SHOWN,
    MAX_PLACEHOLDER_WAITS,
    DraftingJobs,
    placeholders,
)
from bot.desk.outbox import Outbox, OutboxItem
from bot.desk.ports import Blocks
from bot.drafting.service import Drafter
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import Call, FakeSlack
from tests.inquiries import make_inquiry
from tests.slack_helpers import deliver_until

CARD_TS = "1700000000.000001"


def _no_render(inq: Inquiry, *_: Any) -> tuple[str, Blocks]:
    raise AssertionError(f"drafting renders no card or note (inquiry {inq.id})")


class Rig:
    def __init__(self, tmp: Path, slack: FakeSlack, llm: FakeLlmServer | None) -> None:
        self.store = open_store(tmp, shards=16)
        self.store.add(make_inquiry("1", card_ts=CARD_TS, card_channel="CINQ"))
        self.outbox = Outbox(self.store)
        chat = SlackChat(WebClient(token="xoxb-test", base_url=slack.base_url))
        client = OpenAILlm("sk-test", llm.base_url, "test-model", timeout=5, max_retries=0) if llm else None
        clock = lambda: datetime.now(UTC)  # noqa: E731
        self.jobs = DraftingJobs(
            self.store,
            self.store.drafts,
            self.outbox,
            Drafter(client),
            clock,
            lang="en",
            rep_name=lambda user: "Li Wei",
            gate=QuoteGate(None),
        )
        self.worker = DeliveryWorker(
            self.store,
            self.outbox,
            chat,
            "CINQ",
            clock,
            _no_render,
            _no_render,
            min_interval=0,
            kinds=self.jobs.delivery_kinds(),
        )

    def deliver(self) -> None:
        while self.worker.run_once():
            pass

    def kinds_owed(self) -> list[str]:
        return sorted(i.kind for i in self.outbox.due(datetime.now(UTC)))


@pytest.fixture
def rig(tmp_path: Path, slack_server: FakeSlack) -> Iterator[Rig]:
    r = Rig(tmp_path, slack_server, None)
    try:
        yield r
    finally:
        r.store.close()


def _thread(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts") == CARD_TS]


def test_a_draft_is_owed_to_the_outbox_then_replaces_its_placeholder(
    rig: Rig, slack_server: FakeSlack
) -> None:
    draft_id = rig.jobs.run_draft("1", "UREP")
    assert draft_id == "d1"
    assert slack_server.calls("chat.postMessage") == []  # nothing posted by the job itself
    assert rig.kinds_owed() == [KIND_PLACEHOLDER, KIND_SHOWN]
    rig.deliver()
    [placeholder] = _thread(slack_server)
    assert "⏳" in json.dumps(placeholder.blocks, ensure_ascii=False)
    [update] = slack_server.calls("chat.update")
    assert update.params["ts"] == placeholder.response["ts"]
    assert "draft_send" in json.dumps(update.blocks)
    stored = rig.jobs.drafts.get(draft_id)
    assert stored is not None and stored["ts"] == placeholder.response["ts"]
    assert list(placeholders(rig.store.require("1")).values()) == [placeholder.response["ts"]]
    assert rig.outbox.pending_count() == 0


def test_the_draft_waits_for_its_placeholder_and_slack_sees_each_message_once(
    rig: Rig, slack_server: FakeSlack
) -> None:
    slack_server.rate_limit(1, retry_after=1, method="chat.postMessage")
    rig.jobs.run_draft("1", "UREP")
    rig.deliver()  # the placeholder is rate-limited: postponed; the draft waits for it
    assert slack_server.calls("chat.update") == []
    assert rig.outbox.pending_count() == 2
    deliver_until(rig.worker, lambda: rig.outbox.pending_count() == 0, 10, "the draft delivered")
    assert len([c for c in _thread(slack_server) if c.status == 200]) == 1
    assert len(slack_server.calls("chat.update")) == 1
    # The same job owed again (a repeat after a crash) posts nothing new: its placeholder is on
    # record, and the draft replaces it in place.
    [job] = placeholders(rig.store.require("1"))
    now = datetime.now(UTC)
    assert rig.outbox.enqueue(f"drafting:{job}", KIND_PLACEHOLDER, "1", {"job": job}, now, once=False)
    rig.deliver()
    assert len([c for c in _thread(slack_server) if c.status == 200]) == 1
    assert rig.outbox.pending_count() == 0


def test_a_model_failure_replaces_the_placeholder_with_a_retry_button(
    tmp_path: Path, slack_server: FakeSlack, llm_server: FakeLlmServer
) -> None:
    llm_server.fail(500, times=10)
    rig = Rig(tmp_path, slack_server, llm_server)
    try:
        assert rig.jobs.run_draft("1", "UREP") is None
        rig.deliver()
        [update] = slack_server.calls("chat.update")
        assert "draft_retry" in json.dumps(update.blocks)
        assert rig.jobs.drafts.get("d1") is None  # no draft stored for a failure
    finally:
        rig.store.close()


def test_a_long_draft_continues_in_order_one_message_per_outbox_item(
    tmp_path: Path, slack_server: FakeSlack, llm_server: FakeLlmServer
) -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "we quote FOB Shenzhen, 30 days. " * 8 for i in range(40))
    llm_server.reply(
        json.dumps({"draft": body, "translation_of_email": "x" * 3000, "translation_of_draft": "y" * 6000})
    )
    rig = Rig(tmp_path, slack_server, llm_server)
    try:
        rig.jobs.run_draft("1", "UREP")
        rig.worker.run_once(limit=2)  # placeholder and draft; the follow-ups are owed one by one
        owed = rig.outbox.due(datetime.now(UTC))
        assert [i.kind for i in owed] == [KIND_MORE] and owed[0].key.endswith(":1")
        rig.deliver()
        [update] = slack_server.calls("chat.update")
        total = int(update.blocks[0]["text"]["text"].rsplit("/", 1)[1].rstrip(")"))
        posts = [c for c in _thread(slack_server) if c.response.get("ts") != update.params["ts"]]
        assert total >= 3 and len(posts) == total - 1
        numbers = [int(json.dumps(p.blocks).split("/", 1)[0].rsplit("(", 1)[1]) for p in posts]
        assert numbers == list(range(2, total + 1))  # "(2/N)" … "(N/N)", in order
    finally:
        rig.store.close()


def test_request_refuses_before_the_card_is_posted(rig: Rig) -> None:
    rig.store.add(make_inquiry("2", card_ts=None))
    with pytest.raises(Exception, match="not posted"):
        rig.jobs.request("2", "UREP")
    assert rig.outbox.pending_count() == 0


def test_a_draft_whose_placeholder_was_lost_is_posted_in_the_thread_after_a_while(
    rig: Rig, slack_server: FakeSlack
) -> None:
    messages = [["the draft", [{"type": "section", "text": {"type": "mrkdwn", "text": "the draft"}}]]]
    payload = {"job": "1:lost", "draft_id": "", "messages": messages}
    waiting = OutboxItem("draft-shown:1:lost", KIND_SHOWN, "1", payload, attempts=0, not_before=0.0)
    with pytest.raises(Retry):
        rig.jobs.deliver_shown(waiting, rig.worker)
    assert slack_server.calls("chat.postMessage") == []
    lost = replace(waiting, attempts=MAX_PLACEHOLDER_WAITS)
    rig.jobs.deliver_shown(lost, rig.worker)
    [post] = _thread(slack_server)
    assert post.params["text"] == "the draft" and slack_server.calls("chat.update") == []
