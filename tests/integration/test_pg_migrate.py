"""Schema migrations on a real PostgreSQL: applied once, even when instances start together."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from bot.adapters.store.postgres.migrate import MIGRATION_LOCK, migrate, migrations, schema_version
from bot.core.errors import StoreError

pytestmark = pytest.mark.postgres

DEADLINE_S = 30.0


def _wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _waiters(url: str) -> int:
    """Sessions waiting for the migration lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND ((classid::bigint << 32) | objid::bigint) = %s",
            (MIGRATION_LOCK,),
        ).fetchone()
        return int(row[0]) if row else 0


def test_migrate_applies_every_file_once(pg_url: str) -> None:
    newest = migrations()[-1].version
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert schema_version(conn) == 0
        assert migrate(conn) == [m.version for m in migrations()]
        assert schema_version(conn) == newest
        assert migrate(conn) == []
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        }
    assert {"inquiries", "inquiry_messages", "events", "outbox", "drafts", "checkpoints", "meta"} <= tables
    assert {"reputation", "text_model", "member_prefs", "home_state", "raw_mail", "audit"} <= tables


def test_threads_starting_together_migrate_once(pg_url: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                results.append(migrate(conn))
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    # Hold the lock so every thread queues on it, then let them all go at once.
    with psycopg.connect(pg_url, autocommit=True) as holder:
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            threads = [threading.Thread(target=start) for _ in range(4)]
            for t in threads:
                t.start()
            _wait_for("four threads waiting on the lock", lambda: _waiters(pg_url) == 4)
        for t in threads:
            t.join(DEADLINE_S)
    assert not errors
    assert sorted(results, key=len) == [[], [], [], [m.version for m in migrations()]]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (len(migrations()),)


def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    code = (
        "import json, sys, psycopg\n"
        "from bot.adapters.store.postgres.migrate import migrate\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as conn:\n"
        "    print(json.dumps(migrate(conn)))\n"
    )
    with psycopg.connect(pg_url, autocommit=True) as holder:
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            procs = [
                subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, text=True)
                for _ in range(3)
            ]
            _wait_for("three processes waiting on the lock", lambda: _waiters(pg_url) == 3)
        outputs = [p.communicate(timeout=DEADLINE_S)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    applied = sorted((json.loads(out) for out in outputs), key=len)
    assert applied == [[], [], [m.version for m in migrations()]]


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute("INSERT INTO schema_version (version, name) VALUES (9999, 'from_the_future')")
        with pytest.raises(StoreError, match="newer than this bot knows"):
            migrate(conn)
