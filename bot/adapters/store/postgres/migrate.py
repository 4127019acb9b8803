"""Schema migrations: versioned SQL files (``migrations/NNNN_name.sql``) applied in order.

:func:`migrate` applies every file the database has not seen, all in one transaction under a
transaction-scoped advisory lock: instances that start together wait for the first one, then
find nothing left to do, so each migration runs exactly once. ``schema_version`` records what
was applied. A database migrated by a newer bot (a version this code does not know) is refused:
running old code on a newer schema could corrupt it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import TupleRow

from bot.core.errors import StoreError

#: The advisory lock key of migrations (any constant bigint; "inqdesk\x01" as a number).
MIGRATION_LOCK = 0x696E71646573_6B01
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    folder = resources.files("bot.adapters.store.postgres") / "migrations"
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a version number: {versions}")
    return found


def migrate(conn: psycopg.Connection[TupleRow]) -> list[int]:
    """Bring the schema up to date; returns the versions applied now (``[]``: already current)."""
    known = migrations()
    newest_known = known[-1].version if known else 0
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
        done = {int(r[0]) for r in rows}
        if done and max(done) > newest_known:
            raise StoreError(
                f"the database schema is at version {max(done)}, newer than this bot knows "
                f"({newest_known}): upgrade the bot before starting it on this database"
            )
        for m in known:
            if m.version in done:
                continue
            try:
                conn.execute(m.sql.encode("utf-8"))  # no parameters: several statements per file
            except psycopg.Error as e:
                raise StoreError(f"migration {m.version:04d}_{m.name} failed: {e}") from e
            conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (m.version, m.name))
            applied_now.append(m.version)
    return applied_now


def schema_version(conn: psycopg.Connection[TupleRow]) -> int:
    """The newest applied migration (0 on an empty database)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0
