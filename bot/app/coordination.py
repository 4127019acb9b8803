"""Choosing the coordination of instances (:class:`bot.desk.ports.Coordination`) for a store,
and running scheduled jobs and watchers under it.

- TinyDB (the default): :func:`claim_instance` takes the data folder's exclusive lock before the
  store opens, so a second ``inquiry-bot run`` (or a record command) on the same files refuses
  with a clear error; the process then leads everything.
- PostgreSQL: :class:`bot.adapters.store.postgres.coordination.PgCoordination` (advisory locks,
  a jobs table, shared pacing), so several instances share one desk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.store.coordination import LOCK_NAME, LocalCoordination
from bot.config.settings import Config, store_backend
from bot.desk.ports import Coordination, Store

if TYPE_CHECKING:
    from bot.adapters.store.postgres.store import PostgresStore

log = logging.getLogger(__name__)


def claim_instance(config: Config) -> LocalCoordination | None:
    """TinyDB: this process's hold on ``DATA_DIR`` (:class:`bot.adapters.store.coordination.
    InstanceLocked` when another process holds it). PostgreSQL: None (instances share it)."""
    kind, where = store_backend(config)
    if kind == "postgresql":
        return None
    return LocalCoordination(Path(where) / LOCK_NAME)


def coordination_for(store: Store) -> Coordination:
    """PostgreSQL: the shared coordination on the store's database; otherwise a local one."""
    from bot.adapters.store.postgres.store import PostgresStore

    if isinstance(store, PostgresStore):
        return _pg(store)
    return LocalCoordination()


def _pg(store: PostgresStore) -> Coordination:
    from bot.adapters.store.postgres.coordination import PgCoordination

    return PgCoordination(store.url, store.sessions)


def led_job(coordination: Coordination, name: str, job: Callable[[], object]) -> Callable[[], None]:
    """``job`` as a scheduler job that runs only on the instance leading ``job:<name>`` (the first
    to ask keeps it while it lives; another takes it at its next run after a death)."""
    role = f"job:{name}"

    def run() -> None:
        if coordination.lead(role):
            job()

    run.__name__ = f"led_{name}"
    return run
