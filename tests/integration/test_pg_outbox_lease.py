"""Outbox lease renewal on a real PostgreSQL with two delivery workers (issue #15).

Two store instances (distinct lease holders) on one database, each with the desk's delivery
worker posting to the loopback fake Slack, and a short lease (1.5 s) so a Slack call "slower than
the lease" is a held request, not a 30 s sleep. While the first worker's post hangs, it renews
its lease and the second never gets the item: one post. When the first dies mid-delivery
(SIGKILLed: it stops renewing), the second takes the item over once the last lease ran out and
posts it once (or finds the dead one's post in Slack). An item whose lease went to another
instance mid-batch is not posted.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from bot.adapters.store.postgres.store import PostgresStore
from bot.desk.outbox import Outbox
from tests.fakes.slack_server import Call, FakeSlack
from tests.lease_worker import lease_worker
from tests.paths import REPO

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

LEASE_S = 1.5  # short for a test, long enough that a busy machine does not starve the heartbeat
KEY = "digest:2026-11-28"
DEADLINE_S = 15.0


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two instances of the store on one database, with short leases."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    a.outbox.lease_s = b.outbox.lease_s = LEASE_S
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _wait(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _lease(url: str, key: str) -> tuple[str | None, float]:
    """Who holds the pending item ``key`` and until when (epoch seconds)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT leased_by, leased_until FROM outbox WHERE key = %s AND state = 'pending'", (key,)
        ).fetchone()
    assert row is not None, f"{key} is not pending"
    return row[0], float(row[1] or 0)


def _owe(store: PostgresStore, key: str, text: str, at: datetime | None = None) -> None:
    assert Outbox(store).enqueue(key, "channel_message", None, {"text": text}, at or datetime.now(UTC))


def _posts(slack: FakeSlack, key: str) -> list[Call]:
    """The posts Slack processed that carry the outbox key ``key``."""

    def tag(c: Call) -> Any:
        return ((c.params.get("metadata") or {}).get("event_payload") or {}).get("key")

    return [c for c in slack.calls("chat.postMessage") if tag(c) == key]


def _polls_find_nothing_while_renewed(url: str, holder: str, poll: Callable[[], int], since: float) -> None:
    """Poll the other worker until ``holder`` has renewed its lease on KEY well past the first
    one (``since`` + 3 leases); every poll, some after the first lease ran out, takes nothing."""
    polls: list[tuple[float, int]] = []

    def renewed_past_three_leases() -> bool:
        polls.append((time.time(), poll()))
        who, until = _lease(url, KEY)
        assert who == holder, f"the item went to {who} while {holder} was renewing"
        return until > since + 3 * LEASE_S

    _wait(renewed_past_three_leases, "the holder to renew its lease three leases on")
    assert [n for _, n in polls if n] == []
    assert max(t for t, _ in polls) > since  # asked after the first lease had run out


def test_a_delivery_slower_than_its_lease_is_kept_by_renewal_and_posted_once(
    pg_url: str, slack_server: FakeSlack, stores: tuple[PostgresStore, PostgresStore]
) -> None:
    a, b = stores
    first, second = lease_worker(a, slack_server.base_url), lease_worker(b, slack_server.base_url)
    _owe(a, KEY, "Daily digest")
    slack_server.hold("chat.postMessage")  # the first post hangs in Slack as long as the test says
    handled: list[int] = []
    delivering = threading.Thread(target=lambda: handled.append(first.run_once()))
    delivering.start()
    try:
        _wait(lambda: slack_server.held() == 1, "the first worker's post to hang in Slack")
        holder, claimed_until = _lease(pg_url, KEY)
        assert holder == a.outbox.instance
        _polls_find_nothing_while_renewed(pg_url, a.outbox.instance, second.run_once, claimed_until)
        assert _posts(slack_server, KEY) == []
    finally:
        slack_server.release()
        delivering.join(timeout=DEADLINE_S)
    assert handled == [1]
    assert len(_posts(slack_server, KEY)) == 1
    assert second.run_once() == 0
    assert a.outbox.pending_count() == 0
    assert not b.outbox.add(KEY, "channel_message", None, {}, datetime.now(UTC))  # done, owed once


@pytest.mark.parametrize("reached_slack", [False, True], ids=["post-lost", "post-reached-slack"])
def test_when_the_holder_dies_mid_delivery_the_other_takes_over_after_the_lease(
    pg_url: str, slack_server: FakeSlack, stores: tuple[PostgresStore, PostgresStore], reached_slack: bool
) -> None:
    _, b = stores
    second = lease_worker(b, slack_server.base_url)
    _owe(b, KEY, "Daily digest")
    slack_server.hold("chat.postMessage")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.lease_worker", pg_url, slack_server.base_url, str(LEASE_S)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        assert first_line.startswith("instance "), f"the worker process said {first_line!r}"
        dying = first_line.removeprefix("instance ").strip()
        _wait(lambda: slack_server.held() == 1, "the first worker's post to hang in Slack")
        holder, claimed_until = _lease(pg_url, KEY)
        assert holder == dying
        # Alive, it renews: the second worker gets nothing past the first lease.
        _polls_find_nothing_while_renewed(pg_url, dying, second.run_once, claimed_until)
    finally:
        proc.kill()  # SIGKILL mid-delivery: its post hangs, its heartbeat stops
        proc.wait(timeout=DEADLINE_S)
    holder, last_until = _lease(pg_url, KEY)
    assert holder == dying  # nobody took it while it lived
    if reached_slack:
        slack_server.release()  # the dead worker's post reached Slack after all
        _wait(lambda: len(_posts(slack_server, KEY)) == 1, "the dead worker's post to be processed")
    else:
        slack_server.release(drop=True)  # it never reached Slack

    took_over: list[float] = []

    def second_delivers() -> bool:
        if second.run_once():
            took_over.append(time.time())
            return True
        return False

    _wait(second_delivers, "the second worker to take the item over")
    assert took_over[0] >= last_until  # only once the dead holder's last lease had run out
    assert len(_posts(slack_server, KEY)) == 1  # the dead one's found by its tag, or the second's
    if reached_slack:
        assert slack_server.calls("conversations.history")  # it looked before posting again
    assert b.outbox.pending_count() == 0


def test_an_item_whose_lease_went_to_another_instance_mid_batch_is_not_posted(
    pg_url: str, slack_server: FakeSlack, stores: tuple[PostgresStore, PostgresStore], caplog: Any
) -> None:
    a, _ = stores
    now = datetime.now(UTC)
    _owe(a, "msg:1", "first", now - timedelta(seconds=1))
    _owe(a, "msg:2", "second", now)
    worker = lease_worker(a, slack_server.base_url)

    def slot_behind_other_instances(channel: str, interval: float) -> float:
        """The channel's next slot is far off, and meanwhile (as after a stall past the lease)
        another instance claims both items."""
        _hand_over(pg_url, ["msg:1", "msg:2"], "another-instance")
        return LEASE_S * 1.5

    worker.shared_pace = slot_behind_other_instances
    with caplog.at_level(logging.WARNING, logger="bot.desk.delivery"):
        assert worker.run_once() == 0
    assert slack_server.calls("chat.postMessage") == []
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.desk.delivery"]
    assert any(m.startswith("delivery msg:1 stopped before its post") for m in logged), logged
    assert any(m.startswith("delivery msg:2 skipped") for m in logged), logged
    for key in ("msg:1", "msg:2"):  # untouched: the other instance's to finish
        assert _lease(pg_url, key)[0] == "another-instance"
    assert _attempts(pg_url) == [("msg:1", 0), ("msg:2", 0)]  # no retry counted, still pending


def _hand_over(url: str, keys: Sequence[str], holder: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE outbox SET leased_by = %s, leased_until = extract(epoch FROM now()) + 60"
            " WHERE key = ANY(%s) AND state = 'pending'",
            (holder, list(keys)),
        )


def _attempts(url: str) -> list[tuple[str, int]]:
    """Every pending item's key and attempts counted, by key."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT key, attempts FROM outbox WHERE state = 'pending' ORDER BY key"
        ).fetchall()
    return [(str(k), int(n)) for k, n in rows]
