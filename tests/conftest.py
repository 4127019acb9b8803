"""Shared fixtures live in their own modules, loaded here as plugins.

Subprocesses started by tests (the bot itself, the crash writer) import this checkout's
``bot`` package, whatever an editable install elsewhere points at.
"""

import os
from pathlib import Path

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
