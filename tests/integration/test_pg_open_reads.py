"""The desk's open reads (tests/unit/test_open_reads.py) on PostgreSQL: the same functions,
with a ``store`` fixture over the server backends of tests/store_backends.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk.ports import Store
from tests.store_backends import SERVER_BACKENDS
from tests.unit import test_open_reads as reads
from tests.unit.test_open_reads import loaded

pytestmark = pytest.mark.postgres

__all__ = ["loaded"]  # the module's fixture, used by name


@pytest.fixture(params=sorted(SERVER_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = SERVER_BACKENDS[request.param](tmp_path, None)
    yield backend
    backend.close()


for _name in dir(reads):
    if _name.startswith("test_"):
        globals()[_name] = getattr(reads, _name)
