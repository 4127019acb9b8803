"""The store contract (tests/unit/test_store_contract.py) run against PostgreSQL.

The same test functions, collected here with a ``store`` fixture over the server backends of
tests/store_backends.py: the unit run may not open sockets, and a backend that needs a server
must still pass every line of the contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk.ports import Store
from tests.store_backends import SERVER_BACKENDS
from tests.unit import test_store_contract as contract
from tests.unit.test_store_contract import RecordingAudit, audit

pytestmark = pytest.mark.postgres

__all__ = ["audit"]  # the contract's fixture, used by name


@pytest.fixture(params=sorted(SERVER_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path, audit: RecordingAudit) -> Iterator[Store]:
    backend = SERVER_BACKENDS[request.param](tmp_path, audit)
    yield backend
    backend.close()


for _name in dir(contract):
    if _name.startswith("test_"):
        globals()[_name] = getattr(contract, _name)
