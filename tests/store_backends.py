"""The store backends the contract tests run against (``tests/unit/test_store_contract.py``).

A backend is a factory ``(tmp_path, audit) -> Store`` under a name; the contract module's
``store`` fixture is parametrised over :data:`BACKENDS`, so a new backend is one entry here
(a factory that needs a server may skip nothing: it starts one, as the Dovecot fixtures do).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.adapters.store.memory import MemoryStore
from bot.adapters.store.repo import TinyStore
from bot.desk.ports import AuditSink, Store

Factory = Callable[[Path, AuditSink | None], Store]


def _memory(_tmp_path: Path, audit: AuditSink | None) -> Store:
    return MemoryStore(audit=audit)


def _tinydb(tmp_path: Path, audit: AuditSink | None) -> Store:
    return TinyStore(tmp_path, audit=audit, shards=4)


def _postgresql(_tmp_path: Path, audit: AuditSink | None) -> Store:
    """A fresh database on the suite's own PostgreSQL (tests/fixtures_postgres.py)."""
    from bot.adapters.store.postgres.store import PostgresStore
    from tests.fixtures_postgres import shared_server

    return PostgresStore(shared_server().create_database(), audit=audit)


#: The backends that run in-process (the unit contract run).
LOCAL_BACKENDS: dict[str, Factory] = {
    "memory": _memory,
    "tinydb": _tinydb,
}
#: The backends that need a server (the same contract functions, run from
#: tests/integration/test_pg_contract.py: unit tests may not open sockets).
SERVER_BACKENDS: dict[str, Factory] = {
    "postgresql": _postgresql,
}
BACKENDS: dict[str, Factory] = {**LOCAL_BACKENDS, **SERVER_BACKENDS}
