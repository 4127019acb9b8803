"""House rules as tests: ruff clean, mypy --strict on bot/ and the import contracts of pyproject.toml
(``lint-imports``: the layers, TinyDB only in the store adapter), run from the README's test command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.paths import REPO

ROOT = REPO


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    if shutil.which("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    result = _run("ruff", "check", "bot", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_bot() -> None:
    result = _run(sys.executable, "-m", "mypy", "bot")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_import_contracts_hold() -> None:
    if shutil.which("lint-imports") is None:
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's bot, whatever is installed
    result = subprocess.run(
        ["lint-imports", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout), result.stdout[-2000:]
