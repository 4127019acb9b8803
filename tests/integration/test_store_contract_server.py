"""The store contract on the backends that need a server (PostgreSQL, started by the suite):
the very test functions of tests/unit/test_store_contract.py, with the ``store`` fixture
parametrised over :data:`tests.store_backends.WITH_SERVER` instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk.ports import Store
from tests.store_backends import BACKENDS, WITH_SERVER
from tests.unit.test_store_contract import *  # noqa: F403  (the same test functions, collected here)
from tests.unit.test_store_contract import RecordingAudit


@pytest.fixture(params=WITH_SERVER)
def store(request: pytest.FixtureRequest, tmp_path: Path, audit: RecordingAudit) -> Iterator[Store]:
    backend = BACKENDS[request.param](tmp_path, audit)
    yield backend
    backend.close()
