"""Shared fixtures live in their own modules, loaded here as plugins; the few small ones unit and
integration tests both use are below.

Subprocesses started by tests (the bot itself, the crash writer) import this checkout's
``bot`` package, whatever an editable install elsewhere points at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bot.drafting.prompts import PromptLibrary

_ROOT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)

pytest_plugins = [
    "tests.fixtures_dovecot",
    "tests.fixtures_postgres",
    "tests.fakes.slack_server",
    "tests.fakes.llm_server",
    "tests.fakes.smtp_server",
    "tests.fakes.socket_server",
]


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    """The bundled prompt library (``PROMPTS_DIR``), loaded once per module."""
    from bot.drafting.prompts import PromptLibrary  # imported late: PROMPTS_DIR is read on import

    return PromptLibrary.load()
