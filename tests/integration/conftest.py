"""Fixtures shared by the integration tests: the one ``desktop`` on the loopback fake Slack.

A module that needs other settings overrides ``desktop_env`` (a dict of environment values
given to ``make_desktop``); ``desktop`` builds the real composition root on a fresh data folder
and closes its pre-work pool and store afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.wiring import Desktop
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import make_desktop


@pytest.fixture
def desktop_env() -> dict[str, str]:
    return {}


@pytest.fixture
def desktop(slack_server: FakeSlack, tmp_path: Path, desktop_env: dict[str, str]) -> Iterator[Desktop]:
    d = make_desktop(slack_server, tmp_path, **desktop_env)
    try:
        yield d
    finally:
        if d.ingestor.prework is not None:
            d.ingestor.prework.close()
        d.store.close()
