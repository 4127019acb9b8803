"""What only PostgreSQL does: several store instances on one database (issue #15).

The port's contract itself (every operation, every backend) is tests/unit/test_store_contract.py;
these are the multi-instance promises: one owner out of concurrent claims, an outbox item handed
to one instance at a time, transactions that roll back and isolate, ids never handed out twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from bot.adapters.store.postgres.store import DUE_CANDIDATES, PostgresStore
from bot.core.errors import NotFound, StoreError
from bot.core.models import Event, Inquiry
from bot.sla.followup import FollowupPolicy
from tests.inquiries import T0, make_inquiry

pytestmark = pytest.mark.postgres


class Recorder:
    """An audit sink that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def record(self, inquiry_id: str, event: Event) -> None:
        self.events.append((inquiry_id, event.action))


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two instances of the desk's store on one database."""
    a = PostgresStore(pg_url)
    b = PostgresStore(pg_url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


class Taken(Exception):
    pass


def _claim(user: str) -> object:
    def change(inq: Inquiry) -> Inquiry:
        if inq.owner is not None:
            raise Taken(inq.owner)
        return replace(inq, owner=user, events=(*inq.events, Event(T0, user, "claimed")))

    return change


def test_200_concurrent_claims_over_two_instances_make_one_owner(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    a.add(make_inquiry("1"))
    winners: list[str] = []
    losers: list[str] = []
    start = threading.Barrier(20)

    def click(store: PostgresStore, users: list[str]) -> None:
        start.wait()
        for user in users:
            try:
                store.update("1", _claim(user))  # type: ignore[arg-type]
                winners.append(user)
            except Taken:
                losers.append(user)

    threads = [
        threading.Thread(target=click, args=(a if n % 2 else b, [f"U{n:02d}{k:02d}" for k in range(10)]))
        for n in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(winners) == 1 and len(losers) == 199
    stored = b.require("1")
    assert stored.owner == winners[0]
    assert [e.action for e in stored.events].count("claimed") == 1


def test_an_outbox_item_goes_to_one_instance_until_its_lease_ends(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    for n in range(40):
        assert a.outbox.add(f"card:{n}", "card", str(n), {"n": n}, T0)
    assert not b.outbox.add("card:0", "card", "0", {}, T0)  # pending on the other instance: known
    got_a = a.outbox.due(T0, limit=25)
    got_b = b.outbox.due(T0, limit=25)
    keys_a = {i.key for i in got_a}
    keys_b = {i.key for i in got_b}
    assert len(keys_a) == 25 and len(keys_b) == 15 and not keys_a & keys_b
    assert {i.key for i in a.outbox.due(T0, limit=50)} == keys_a  # its own claims stay due for it
    for key in keys_a:
        a.outbox.done(key, T0)
    assert a.outbox.pending_count() == 15
    assert not b.outbox.add("card:0", "card", "0", {}, T0)  # done, owed once
    # b dies mid-delivery: once its lease ends, a delivers what b had claimed.
    with psycopg.connect(a.url, autocommit=True) as conn:
        conn.execute(
            "UPDATE outbox SET leased_until = extract(epoch FROM now()) + 0.3 WHERE leased_by IS NOT NULL"
        )
    assert a.outbox.due(T0) == []
    deadline = time.monotonic() + 10
    taken: set[str] = set()
    while not taken and time.monotonic() < deadline:
        taken = {i.key for i in a.outbox.due(T0)}
    assert taken == keys_b


def test_a_delivery_slower_than_its_lease_cannot_finish_over_a_new_claim(pg_url: str) -> None:
    """a claims, stalls past its lease; b claims the item. a's late done/retry/give_up change
    nothing (b holds it); b's done is the one that counts. Unclaimed items finish as before."""
    a = PostgresStore(pg_url)
    b = PostgresStore(pg_url)
    try:
        a.outbox.lease_s = 0.3
        assert a.outbox.add("card:1", "card", "1", {}, T0)
        assert [i.key for i in a.outbox.due(T0)] == ["card:1"]
        a.outbox.mark_tried("card:1")
        deadline = time.monotonic() + 10
        taken: list[str] = []
        while not taken and time.monotonic() < deadline:
            taken = [i.key for i in b.outbox.due(T0)]
        assert taken == ["card:1"]
        a.outbox.done("card:1", T0)
        a.outbox.retry("card:1", T0 + timedelta(minutes=5), "late")
        a.outbox.give_up("card:1", T0, "late")
        assert b.outbox.pending_count() == 1 and b.outbox.dead() == []
        [item] = b.outbox.due(T0)  # still b's, untouched: no attempt counted, tried kept
        assert (item.key, item.attempts, item.tried, item.last_error) == ("card:1", 0, True, "")
        assert a.outbox.due(T0) == []  # and not a's again
        b.outbox.done("card:1", T0)
        assert a.outbox.pending_count() == 0
        assert not a.outbox.add("card:1", "card", "1", {}, T0)  # done, owed once
        # Nobody's claim: finishing works from any instance (what the single-process desk does).
        assert a.outbox.add("card:2", "card", "2", {}, T0)
        b.outbox.retry("card:2", T0, "slack down")
        assert [(i.key, i.attempts) for i in a.outbox.due(T0)] == [("card:2", 1)]
        a.outbox.give_up("card:2", T0, "gone")
        assert [d["key"] for d in b.outbox.dead()] == ["card:2"]
    finally:
        a.close()
        b.close()


def test_a_batch_is_a_group_commit_visible_at_once(pg_url: str) -> None:
    """Inside batch() this thread's commits do not wait for the disk (one flush at the end);
    other instances see each write at once, and other threads commit as usual."""
    # The suite's server does not wait for the disk at all; production does.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        conn.execute(f'ALTER DATABASE "{name[0]}" SET synchronous_commit = on')
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        _group_commit(a, b)
    finally:
        a.close()
        b.close()


def _group_commit(a: PostgresStore, b: PostgresStore) -> None:

    def setting() -> str:
        with a.sessions.atomic() as conn:
            row = conn.execute("SHOW synchronous_commit").fetchone()
        assert row is not None
        return str(row[0])

    assert setting() == "on"
    seen_elsewhere: list[str] = []
    with a.batch():
        with a.batch():  # re-entrant
            a.add(make_inquiry("1"))
            assert setting() == "off"
        assert b.get("1") is not None  # committed and visible before the batch ends
        other = threading.Thread(target=lambda: seen_elsewhere.append(setting()))
        other.start()
        other.join(10)
        assert setting() == "off"
    assert seen_elsewhere == ["on"]
    assert setting() == "on"
    assert b.require("1").id == "1"


def test_concurrent_due_calls_never_hand_out_an_item_twice(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    for n in range(300):
        a.outbox.add(f"ping:{n}", "ping", None, {}, T0)
    seen: list[str] = []
    lock = threading.Lock()

    def deliver(store: PostgresStore) -> None:
        while True:
            items = store.outbox.due(T0 + timedelta(seconds=1), limit=7)
            if not items:
                return
            for item in items:
                store.outbox.done(item.key, T0)
            with lock:
                seen.extend(i.key for i in items)

    threads = [threading.Thread(target=deliver, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seen) == sorted(f"ping:{n}" for n in range(300))
    assert a.outbox.pending_count() == 0


def test_a_transaction_rolls_back_and_nests(stores: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = stores
    a.add(make_inquiry("1"))
    with pytest.raises(RuntimeError), a.transaction():
        a.set_fields("1", owner="U1")
        with a.transaction():  # joins the outer one
            a.set_meta("k", 1)
            a.outbox.add("card:1", "card", "1", {}, T0)
        raise RuntimeError("abort")
    assert b.require("1").owner is None
    assert b.get_meta("k") is None and b.outbox.pending_count() == 0
    with a.transaction():
        a.set_fields("1", owner="U2")
        assert a.require("1").owner == "U2"
    assert b.require("1").owner == "U2"


def test_a_transaction_is_isolated_from_other_instances_writes(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    a.set_meta("n", 0)
    inside = threading.Event()
    written = threading.Event()

    def other() -> None:
        inside.wait(10)
        b.set_meta("n", 100)  # waits for a's transaction
        written.set()

    t = threading.Thread(target=other)
    t.start()
    with a.transaction():
        n = a.get_meta("n")
        inside.set()
        assert not written.wait(0.3)  # b cannot write while a's transaction runs
        a.set_meta("n", n + 1)
    t.join(10)
    assert written.is_set() and a.get_meta("n") == 100


def test_ids_and_lookups_are_shared_by_instances(stores: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = stores
    ids = {a.next_id() for _ in range(5)} | {b.next_id() for _ in range(5)}
    assert len(ids) == 10
    first = make_inquiry(a.next_id())
    a.add(first)
    assert b.find_by_message_id(first.messages[0].message_id) == first.id
    assert b.find_thread(first.buyer_addr, first.subject_key) == first.id
    assert b.latest_of_buyer(first.buyer_addr) == first.id
    assert [i.id for i in b.open_inquiries()] == [first.id]
    assert int(b.next_id()) > int(first.id)
    assert {b.drafts.add({"status": "drafted"}), a.drafts.add({"status": "drafted"})} == {"d1", "d2"}


def test_audit_sink_gets_new_events_and_bad_ids_are_refused(pg_url: str) -> None:
    sink = Recorder()
    store = PostgresStore(pg_url, audit=sink)
    try:
        store.add(make_inquiry("7", events=(Event(T0, "mail", "received"),)))
        store.update("7", _claim("U1"))  # type: ignore[arg-type]
        assert sink.events == [("7", "received"), ("7", "claimed")]
        with pytest.raises(StoreError):
            store.add(make_inquiry("x1"))
        with pytest.raises(NotFound):
            store.update("8", _claim("U1"))  # type: ignore[arg-type]
    finally:
        store.close()


def test_text_the_database_refuses_is_stored_readable(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        inq = make_inquiry("3", subject="bad\x00subject \udcff", buyer_name="N\x00ull")
        store.add(inq)
        back = store.require("3")
        assert back.subject == "bad\ufffdsubject \ufffd" and back.buyer_name == "N\ufffdull"
        store.save_raw("ab" * 32, b"raw\x00bytes\xff")
        assert store.load_raw("ab" * 32) == b"raw\x00bytes\xff"
    finally:
        store.close()


def test_the_store_carries_on_after_the_server_restarts(postgres, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    store = PostgresStore(pg_url, wait_s=2)
    try:
        store.add(make_inquiry("1"))
        postgres.stop()
        with pytest.raises(StoreError, match="PostgreSQL store unavailable"):
            store.get("1")
        postgres.start()
        assert store.require("1").id == "1"  # pooled connections broken by the restart are replaced
    finally:
        store.close()
        if not postgres.running:
            postgres.start()


def test_due_candidates_use_the_partial_indexes_and_heal_rows_from_before_0004(pg_url: str) -> None:
    """A row written before migration 0004 has ``sla_settled`` false whatever its document says:
    the tick's read still leaves a recorded breach out (the engine's rule), marks the row, and
    from then on the index leaves it out. The read is an index scan, not a walk of open rows."""
    start = T0 - timedelta(hours=10)
    store = PostgresStore(pg_url)
    try:
        store.add(make_inquiry("1", sla_started_at=start, pings_sent=(f"sla:1:{start.isoformat()}:breach",)))
        store.add(make_inquiry("2", sla_started_at=start))
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE inquiries SET sla_settled = false, fu_sent = -1, fu_tier = NULL"
            )  # as before 0004

            def settled() -> list[tuple[int, bool]]:
                return [
                    (int(r[0]), bool(r[1]))
                    for r in conn.execute("SELECT id, sla_settled FROM inquiries ORDER BY id")
                ]

            assert settled() == [(1, False), (2, False)]
            assert [i.id for i in store.due_candidates(T0, T0, FollowupPolicy())] == ["2"]
            assert settled() == [(1, True), (2, False)]
            # a new buyer message starts a new cycle: the store writes the column again
            store.update("1", lambda i: replace(i, sla_started_at=T0 - timedelta(hours=1)))
            assert settled() == [(1, False), (2, False)]
            assert [i.id for i in store.due_candidates(T0, T0, FollowupPolicy())] == ["1", "2"]
            conn.execute(  # a desk's history: mostly closed inquiries
                "INSERT INTO inquiries (id, doc, status, lane, is_inquiry, is_open, created_at)"
                " SELECT g, '{}', 'won', 'inquiry', true, false, now() FROM generate_series(100, 5000) g"
            )
            conn.execute("ANALYZE inquiries")
            at = T0.isoformat()
            plan = "\n".join(
                str(r[0]) for r in conn.execute(f"EXPLAIN {DUE_CANDIDATES}", (at, at, "C", 90, 25, 3))
            )
            assert "inquiries_sla_due" in plan and "inquiries_followup_due" in plan, plan
    finally:
        store.close()
