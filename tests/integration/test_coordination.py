"""Several instances on one desk (issue #15): the coordination port on PostgreSQL, the TinyDB
store's single-process lock, and claims made through the desk by two instances at once."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bot.adapters.mail.watching import run_led
from bot.adapters.store.coordination import LOCK_NAME, InstanceLocked, LocalCoordination
from bot.adapters.store.postgres.coordination import PgCoordination
from bot.adapters.store.postgres.store import PostgresStore
from bot.core.errors import Conflict
from bot.desk.desk import Desk
from bot.desk.outbox import Outbox
from tests.inquiries import make_inquiry

pytestmark = pytest.mark.postgres


@pytest.fixture
def two(pg_url: str) -> Iterator[tuple[PostgresStore, PgCoordination, PostgresStore, PgCoordination]]:
    """Two instances (store and coordination each) on one database."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    ca, cb = PgCoordination(pg_url, a.sessions), PgCoordination(pg_url, b.sessions)
    try:
        yield a, ca, b, cb
    finally:
        ca.close()
        cb.close()
        a.close()
        b.close()


def _wait(predicate, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def test_one_leader_per_role_and_the_lead_passes_when_the_leader_goes(two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, cb = two
    assert ca.lead("imap:INBOX") is True
    assert ca.lead("imap:INBOX") is True  # the holder keeps it, asking again
    assert cb.lead("imap:INBOX") is False
    assert cb.lead("imap:Sent") is True  # roles are independent
    assert ca.leading("imap:INBOX") and not cb.leading("imap:INBOX")
    ca.resign("imap:INBOX")
    assert cb.lead("imap:INBOX") is True
    assert ca.lead("imap:INBOX") is False
    cb.close()  # the instance stops: the server drops its locks as its session ends
    _wait(lambda: ca.lead("imap:INBOX") and ca.lead("imap:Sent"), 5, "the roles to be free")


def test_a_leader_whose_connection_dies_loses_the_lead_and_another_takes_it(pg_url: str, two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, cb = two
    assert ca.lead("job:sla_tick")
    with psycopg.connect(pg_url, autocommit=True) as admin:  # as if the instance's host died
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'inquiry-bot lead'"
            " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        )
    _wait(lambda: cb.lead("job:sla_tick"), 10, "the other instance to take the lead")
    assert ca.leading("job:sla_tick") is False  # the old leader learns it lost it
    assert ca.lead("job:sla_tick") is False  # and reconnects as a follower


def test_once_per_period_across_instances_under_contention(two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, cb = two
    wins: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def race(c: PgCoordination, who: str) -> None:
        barrier.wait()
        if c.once("retention", "2026-11-28T09"):
            with lock:
                wins.append(who)

    threads = [threading.Thread(target=race, args=((ca, cb)[i % 2], f"i{i}")) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(wins) == 1
    assert cb.once("retention", "2026-11-28T10") is True  # the next period is free again
    assert ca.once("retention", "2026-11-28T10") is False


def test_posts_to_one_channel_are_paced_across_instances(two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, cb = two
    posted: list[tuple[float, str]] = []
    lock = threading.Lock()

    def poster(c: PgCoordination, channel: str) -> None:
        for _ in range(4):
            wait = c.pace(channel, 0.25)
            time.sleep(wait)
            with lock:
                posted.append((time.monotonic(), channel))

    threads = [
        threading.Thread(target=poster, args=(ca, "CINQ")),
        threading.Thread(target=poster, args=(cb, "CINQ")),
        threading.Thread(target=poster, args=(cb, "COTHER")),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    times = sorted(t for t, ch in posted if ch == "CINQ")
    assert len(times) == 8
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.25 - 0.03, gaps  # never two posts to a channel within the interval
    other = sorted(t for t, ch in posted if ch == "COTHER")
    assert other[0] - times[0] < 0.2  # another channel has its own slots


def test_run_led_runs_the_work_on_one_instance_at_a_time_and_fails_over(pg_url: str, two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, cb = two
    running: dict[str, int] = {"a": 0, "b": 0}
    starts: list[str] = []
    overlap: list[int] = []
    lock = threading.Lock()

    def work(name: str):  # type: ignore[no-untyped-def]
        def run(until: threading.Event) -> None:
            with lock:
                running[name] += 1
                starts.append(name)
                overlap.append(sum(running.values()))
            until.wait()
            with lock:
                running[name] -= 1

        return run

    fast = {"retry_s": 0.1, "check_s": 0.1}
    stop_a, stop_b = threading.Event(), threading.Event()
    ta = threading.Thread(target=run_led, args=(ca, "imap:INBOX", work("a"), stop_a), kwargs=fast)
    tb = threading.Thread(target=run_led, args=(cb, "imap:INBOX", work("b"), stop_b), kwargs=fast)
    ta.start()
    _wait(lambda: running["a"] == 1, 5, "a to lead")
    tb.start()
    _wait(lambda: "imap:INBOX" not in cb._held and cb._conn is not None, 5, "b to ask")
    assert running == {"a": 1, "b": 0} and starts == ["a"]
    # a's hold on the store breaks (its process lives): a stops, then one of them leads again.
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid <> pg_backend_pid()"
        )
    _wait(lambda: len(starts) == 2 and sum(running.values()) == 1, 10, "the work to run again")
    # The leader stops (its process ends): the other takes over within retry + grace.
    leader, leader_stop = (ca, stop_a) if running["a"] else (cb, stop_b)
    other = "b" if leader is ca else "a"
    stopped = time.monotonic()
    leader_stop.set()
    (ta if leader is ca else tb).join(5)
    leader.close()
    took = _wait(lambda: running[other] == 1, 5, "the other to take over")
    assert time.monotonic() - stopped < 3  # retry 0.1 s + grace (check 0.1 s + 1 s)
    assert took < 3
    stop_a.set()
    stop_b.set()
    ta.join(5)
    tb.join(5)
    assert max(overlap) == 1  # never two watchers at once


def test_200_concurrent_desk_claims_over_two_instances_make_one_owner(two) -> None:  # type: ignore[no-untyped-def]
    a, _, b, _ = two
    a.add(make_inquiry("7"))
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    desks = [Desk(s, Outbox(s), lambda: now, frozenset(), channel="CINQ") for s in (a, b)]
    barrier = threading.Barrier(200)
    won: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def claim(i: int) -> None:
        user = f"U{i:03d}"
        barrier.wait()
        try:
            desks[i % 2].claim("7", user)
        except Conflict:
            with lock:
                refused.append(user)
            return
        with lock:
            won.append(user)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(200)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(won) == 1 and len(refused) == 199
    stored = b.require("7")
    assert stored.owner == won[0]
    assert [e.actor for e in stored.events if e.action == "claimed"] == won
    assert a.outbox.pending_count() >= 1  # the card update owed once, whichever instance won


def test_a_second_process_on_the_same_tinydb_data_refuses_to_start(tmp_path: Path) -> None:
    held = LocalCoordination(tmp_path / LOCK_NAME)
    try:
        with pytest.raises(InstanceLocked, match=f"process {os.getpid()}"):
            LocalCoordination(tmp_path / LOCK_NAME)
        code = (
            "import sys; from pathlib import Path\n"
            "from bot.adapters.store.coordination import LocalCoordination, InstanceLocked\n"
            "try:\n    LocalCoordination(Path(sys.argv[1]))\nexcept InstanceLocked as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / LOCK_NAME)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 3, other.stderr
        assert "single-process" in other.stdout and "STORE_URL" in other.stdout
    finally:
        held.close()
    LocalCoordination(tmp_path / LOCK_NAME).close()  # free again once the holder let go


def test_an_owed_message_is_enqueued_once_across_instances_and_stays_done(two) -> None:  # type: ignore[no-untyped-def]
    a, _, b, _ = two
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    outboxes = [Outbox(a), Outbox(b)]
    barrier = threading.Barrier(40)
    added: list[bool] = []
    lock = threading.Lock()

    def enqueue(i: int) -> None:
        barrier.wait()
        ok = outboxes[i % 2].enqueue("ping:7:sla_breach", "ping_thread", "7", {"n": i}, now)
        with lock:
            added.append(ok)

    threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert added.count(True) == 1
    assert a.outbox.pending_count() == 1
    (item,) = b.outbox.due(now, 10)
    b.outbox.done(item.key, now)
    # Delivered: the same key owed again (another instance's tick) is refused within the window.
    assert Outbox(a).enqueue("ping:7:sla_breach", "ping_thread", "7", {}, now) is False
    assert a.outbox.pending_count() == 0 and b.outbox.due(now, 10) == []


def test_inquiry_bot_run_refuses_a_tinydb_data_dir_another_process_holds(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    held = LocalCoordination(data_dir / LOCK_NAME)  # as a running bot holds it
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IMAP_", "STORE_", "DATA_DIR"))
        },
        "DATA_DIR": str(data_dir),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test-secret",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never reached: the lock is checked first
    }
    try:
        second = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        held.close()
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"another inquiry-bot process (process {os.getpid()})" in second.stderr
    assert "STORE_URL=postgresql" in second.stderr
    assert not (data_dir / "store").exists()  # refused before the store was opened


def test_the_leadership_session_has_keepalives_on_the_server_side(pg_url: str, two) -> None:  # type: ignore[no-untyped-def]
    _, ca, _, _ = two
    assert ca.lead("imap:INBOX")
    assert ca._conn is not None
    row = ca._conn.execute("SHOW tcp_keepalives_idle").fetchone()
    assert row is not None and row[0] in ("5", "5s")  # a vanished host's locks end within seconds
