"""The delivery worker end to end: 429 storms, outages, permanent errors and restarts lose nothing
and post nothing twice (real WebClient, fake Slack Web API, store on ``tmp_path``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.wiring import Desktop
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import CHANNEL, T_ARRIVED, cards, drain, make_desktop

STORM_DEADLINE_S = 12.0


def ingest_inquiries(desktop: Desktop, count: int, first: int = 1) -> list[str]:
    ids = []
    for n in range(first, first + count):
        email = make_email(
            subject=f"Quotation for {n * 100} LED high bay lights, order {n}",
            new_text=f"Please quote {n * 100} pcs of 150W LED high bay lights, FOB price and MOQ.",
            from_addr=f"purchasing{n}@buyer-{n}.com",
        )
        result = desktop.ingestor.ingest(email, T_ARRIVED)
        assert result.outcome == "new" and result.inquiry_id is not None
        ids.append(result.inquiry_id)
    return ids


def deliver_everything(
    desktop: Desktop, deadline_s: float = STORM_DEADLINE_S, *, skip_waits: bool = False
) -> None:
    """Drive the worker until the outbox is empty (postponed items included).

    In real time by default; with ``skip_waits`` the worker's clock jumps to the next due item
    instead of the test waiting for it."""
    deadline = time.monotonic() + deadline_s
    jump = [timedelta(0)]
    if skip_waits:
        desktop.worker.clock = lambda: datetime.now(UTC) + jump[0]
    while desktop.outbox.pending_count():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{desktop.outbox.pending_count()} deliveries still pending")
        if desktop.worker.run_once():
            continue
        next_at = desktop.outbox.next_due_at()
        if skip_waits and next_at is not None:
            jump[0] = datetime.fromtimestamp(next_at, UTC) - datetime.now(UTC) + timedelta(milliseconds=1)
        else:
            time.sleep(0.05)  # poll: the next item is postponed by Retry-After / backoff


def assert_one_card_each(desktop: Desktop, slack_server: FakeSlack, ids: list[str]) -> None:
    posted = cards(slack_server)
    assert len(posted) == len(ids)
    by_ts = {c.response["ts"]: c for c in posted}
    assert len(by_ts) == len(ids)
    for inq_id in ids:
        inq = desktop.store.require(inq_id)
        assert inq.card_ts in by_ts, f"inquiry {inq_id} has no posted card"
        assert any(inq.subject in s for s in _texts(by_ts[inq.card_ts].params["text"]))
    assert desktop.outbox.dead() == []


def _texts(value: object) -> list[str]:
    return [value] if isinstance(value, str) else []


def test_a_rate_limit_storm_loses_no_card_and_doubles_none(desktop: Desktop, slack_server: FakeSlack) -> None:
    ids = ingest_inquiries(desktop, 4)
    slack_server.rate_limit(4, retry_after=1, method="chat.postMessage")

    started = time.monotonic()
    deliver_everything(desktop)

    assert len([a for a in slack_server.attempts("chat.postMessage") if a.status == 429]) == 4
    assert_one_card_each(desktop, slack_server, ids)
    assert time.monotonic() - started >= 1.0, "Retry-After was honoured"


def test_an_outage_loses_no_card_and_doubles_none(desktop: Desktop, slack_server: FakeSlack) -> None:
    ids = ingest_inquiries(desktop, 4)
    slack_server.outage(6, status=503)

    deliver_everything(desktop)

    assert len([a for a in slack_server.attempts() if a.status == 503]) == 6
    assert_one_card_each(desktop, slack_server, ids)


def test_notes_wait_for_their_card_through_an_outage(desktop: Desktop, slack_server: FakeSlack) -> None:
    [inq_id] = ingest_inquiries(desktop, 1)
    desktop.services.desk.claim(inq_id, "UALICE")
    slack_server.outage(2, status=500, method="chat.postMessage")

    deliver_everything(desktop, skip_waits=True)

    assert_one_card_each(desktop, slack_server, [inq_id])
    ts = desktop.store.require(inq_id).card_ts
    notes = [c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts") == ts]
    assert len(notes) == 1 and "<@UALICE>" in notes[0].params["text"]


def test_a_restart_mid_delivery_posts_nothing_twice(slack_server: FakeSlack, tmp_path: Path) -> None:
    first = make_desktop(slack_server, tmp_path)
    ids = ingest_inquiries(first, 5)
    assert first.worker.run_once(limit=2) == 2
    assert len(cards(slack_server)) == 2
    first.store.close()

    second = make_desktop(slack_server, tmp_path)
    try:
        drain(second.worker)
        assert drain(second.worker) == 0
        posted = cards(slack_server)
        assert len(posted) == 5
        owners = {}
        for inq_id in ids:
            inq = second.store.require(inq_id)
            assert inq.card_ts is not None
            owners[inq.card_ts] = inq_id
        assert len(set(owners.values())) == 5
        assert {c.response["ts"] for c in posted} == set(owners)
    finally:
        second.store.close()


def test_a_crash_after_posting_but_before_marking_done_repeats_nothing(
    slack_server: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_desktop(slack_server, tmp_path)
    [inq_id] = ingest_inquiries(first, 1)

    def crash(key: str, now: datetime) -> None:
        raise SystemExit("killed between the post and the outbox bookkeeping")

    monkeypatch.setattr(first.outbox, "done", crash)
    with pytest.raises(SystemExit):
        first.worker.run_once()
    assert len(cards(slack_server)) == 1
    first.store.close()

    second = make_desktop(slack_server, tmp_path)
    try:
        assert second.outbox.pending_count() >= 1, "the card item survived the crash"
        drain(second.worker)
        assert len(cards(slack_server)) == 1
        assert second.store.require(inq_id).card_ts == cards(slack_server)[0].response["ts"]
        assert second.outbox.pending_count() == 0
    finally:
        second.store.close()


def test_a_permanent_error_is_retried_then_dead_lettered(desktop: Desktop, slack_server: FakeSlack) -> None:
    [inq_id] = ingest_inquiries(desktop, 1)
    slack_server.fail_method("chat.postMessage", "channel_not_found")
    now = [datetime.now(UTC)]
    desktop.worker.clock = lambda: now[0]

    for _ in range(5):
        desktop.worker.run_once()
        now[0] += timedelta(seconds=31)

    assert len(slack_server.calls("chat.postMessage")) == 3
    dead = desktop.outbox.dead()
    assert [d["key"] for d in dead] == [f"card:{inq_id}"]
    assert "channel_not_found" in dead[0]["last_error"]
    assert desktop.store.require(inq_id).card_ts is None
    assert slack_server.calls("chat.postMessage")[0].params["channel"] == CHANNEL
