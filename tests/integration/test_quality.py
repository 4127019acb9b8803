"""House rules as tests: ruff clean and mypy --strict on bot/ (run from the README's test command)."""

from __future__ import annotations

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
