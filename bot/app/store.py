"""Opening the store: the TinyDB backend under ``DATA_DIR`` with the audit log injected, or
PostgreSQL (``STORE_URL=postgresql://…``) with its audit log in the same database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.store.repo import TinyStore
from bot.records.audit import AuditLog, AuditTrail

if TYPE_CHECKING:
    from bot.adapters.store.postgres.store import PostgresStore
    from bot.config.settings import Config
    from bot.desk.ports import Coordination, Store
    from bot.records.audit_pg import PgAuditLog


def audit_log(data_dir: Path) -> AuditLog:
    """The hash-chained audit log of ``data_dir`` (``audit/audit.jsonl``)."""
    return AuditLog(Path(data_dir) / "audit" / "audit.jsonl")


def open_store(data_dir: Path, *, shards: int | None = None) -> TinyStore:
    """The TinyDB store under ``data_dir``; every event on an inquiry goes to its audit log."""
    if shards is None:
        return TinyStore(data_dir, audit=audit_log(data_dir))
    return TinyStore(data_dir, audit=audit_log(data_dir), shards=shards)


def open_postgres(url: str) -> tuple[PostgresStore, PgAuditLog]:
    """The PostgreSQL store at ``url`` (migrated on open), its audit log in the same database."""
    from bot.adapters.store.postgres.store import PostgresStore
    from bot.records.audit_pg import PgAuditLog

    store = PostgresStore(url)
    audit = PgAuditLog(store.sessions)
    store.audit = audit
    return store, audit


@contextlib.contextmanager
def shared_store(url: str) -> Iterator[tuple[PostgresStore, Coordination]]:
    """A short-lived PostgreSQL store (a pool of two) and its coordination, for a command that
    works on what the running instances share (``auth``, ``doctor``: the OAuth tokens); both
    closed after."""
    from bot.adapters.store.postgres.store import PostgresStore
    from bot.app.coordination import coordination_for

    store = PostgresStore(url, max_size=2)
    coordination = coordination_for(store)
    try:
        yield store, coordination
    finally:
        coordination.close()
        store.close()


def open_configured(config: Config) -> tuple[Store, AuditTrail]:
    """The store ``STORE_URL`` names (TinyDB under DATA_DIR by default) and its audit log."""
    from bot.config.settings import store_backend

    kind, where = store_backend(config)
    if kind == "postgresql":
        return open_postgres(where)
    audit = audit_log(Path(where))
    return TinyStore(Path(where), audit=audit), audit
