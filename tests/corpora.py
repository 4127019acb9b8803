"""Where the shared third-party corpora live: ``<repo parent>/shared/corpora`` or ``$INQUIRY_CORPORA``.

``require_corpus("inbound")`` returns the folder; a missing corpus skips locally and fails in CI
(``CI=true``), so a green CI run always measured the real data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def corpora_root() -> Path:
    env = os.environ.get("INQUIRY_CORPORA")
    if env:
        root = Path(env)
        return root.parent if root.name == "emails" else root
    return REPO.parent / "shared" / "corpora"


def require_corpus(name: str) -> Path:
    base = corpora_root() / name
    if not base.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"corpus {name!r} missing at {base} (set INQUIRY_CORPORA)")
        pytest.skip(f"corpus {name!r} not found at {base}")
    return base
