"""Connections bound to threads, and the store's transactions.

A thread inside :meth:`Sessions.transaction` (the port's ``Store.transaction()``) keeps one
connection and one database transaction until the outermost block ends; every store call the
thread makes meanwhile runs on that connection, inside that transaction (re-entrant). Outside
one, each call borrows a pooled connection for itself.

Isolation across threads *and instances* (the port's promise that no other transaction or
store write interleaves with a transaction): a transaction holds the store's advisory lock
exclusively, every write (:meth:`Sessions.atomic`) holds it shared, both transaction-scoped.
So writes run in parallel with each other, a transaction runs alone, and a read-then-write
inside a transaction sees no one else's change. Single writes that read before they write
(``update``) also lock their row (``SELECT … FOR UPDATE``), which is what makes a claim
atomic between instances.

Group commit (:meth:`Sessions.group_commit`, the store's ``batch()``): while a thread is inside
one, its transactions commit with ``synchronous_commit = off`` (visible at once, flushed to
disk by the WAL writer within a fraction of a second), and leaving it makes one commit that
waits for the flush. The WAL is one sequence, so that flush makes every earlier commit durable
too: the watcher's fetch batch costs one disk flush instead of a dozen per mail, with the same
promise as TinyDB's group commit (a server crash mid-batch loses the batch's tail and its
checkpoint together, so the mail is fetched again).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.adapters.store.postgres.pool import note_used
from bot.core.errors import StoreError

#: The advisory lock of the store's transactions ("inqdesk\x02" as a number).
STORE_LOCK = 0x696E71646573_6B02

Conn = psycopg.Connection[TupleRow]


class Sessions:
    """The pool plus each thread's bound connection (see the module docstring)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._local = threading.local()

    def _bound(self) -> Conn | None:
        conn: Conn | None = getattr(self._local, "conn", None)
        return conn

    @contextlib.contextmanager
    def conn(self) -> Iterator[Conn]:
        """The thread's transaction connection, or a pooled one for this call (autocommit)."""
        bound = self._bound()
        if bound is not None:
            yield bound
            return
        try:
            with self.pool.connection() as conn:
                yield conn
                note_used(conn)
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise StoreError(f"PostgreSQL store unavailable: {e}") from e

    @contextlib.contextmanager
    def _begin(self, exclusive: bool) -> Iterator[Conn]:
        bound = self._bound()
        if bound is not None:
            yield bound  # joins the outer transaction (which holds the store lock already)
            return
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
                    if getattr(self._local, "relaxed", 0):  # one round trip for both
                        conn.execute(
                            f"SELECT {lock}(%s), set_config('synchronous_commit', 'off', true)",
                            (STORE_LOCK,),
                        )
                    else:
                        conn.execute(f"SELECT {lock}(%s)", (STORE_LOCK,))
                    self._local.conn = conn
                    try:
                        yield conn
                    finally:
                        self._local.conn = None
                note_used(conn)
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise StoreError(f"PostgreSQL store unavailable: {e}") from e

    @contextlib.contextmanager
    def group_commit(self) -> Iterator[None]:
        """This thread's commits inside are not waited for; one flush at the end (re-entrant)."""
        depth = getattr(self._local, "relaxed", 0)
        self._local.relaxed = depth + 1
        try:
            yield
        finally:
            self._local.relaxed = depth
            if depth == 0 and self._bound() is None:
                self._flush()

    def _flush(self) -> None:
        # A transaction with an id writes a commit record; committed with synchronous_commit
        # on, it waits until the WAL up to it (every relaxed commit before it) is on disk.
        try:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_current_xact_id()")
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise StoreError(f"PostgreSQL store unavailable: {e}") from e

    def atomic(self) -> contextlib.AbstractContextManager[Conn]:
        """One write made of several statements: all or nothing (joins a running transaction)."""
        return self._begin(exclusive=False)

    def transaction(self) -> contextlib.AbstractContextManager[Conn]:
        """The port's ``transaction()``: isolated from every other writer, on every instance."""
        return self._begin(exclusive=True)
