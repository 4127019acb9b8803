"""The SLA tick's pre-filter on PostgreSQL owes exactly the pings of the full read (the
side-by-side run of tests/unit/test_sla_tick_prefilter.py, against the suite's own server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store_backends import SERVER_BACKENDS
from tests.unit.test_sla_tick_prefilter import POLICIES, side_by_side

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_the_pre_filtered_tick_on_postgresql_owes_exactly_the_pings_of_the_full_read(
    tmp_path: Path, policy_name: str
) -> None:
    filtered = SERVER_BACKENDS["postgresql"](tmp_path, None)
    try:
        side_by_side(filtered, policy_name, f"postgresql/{policy_name}", rounds=120)
    finally:
        filtered.close()
