"""The one locator of the shared third-party corpora (``emails``, ``inbound``, ``langid``).

``$CORPORA_DIR`` (or the older ``$INQUIRY_CORPORA``) names the folder; otherwise it is the first
``shared/corpora`` found beside the repository or beside one of its parent folders (a git
worktree sits a level or two deeper than the main checkout). Tests call ``require_corpus``: a
missing corpus skips locally and fails in CI (``CI=true``), so a green CI run always measured the
real data. The benchmarks call ``corpora_root`` and ``corpus_files`` (no pytest needed).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.paths import REPO

# Not messages: the corpus's own notes on where its files come from.
NOT_MAIL = frozenset({"SOURCES.md", "README.md"})


def corpora_root() -> Path:
    env = os.environ.get("CORPORA_DIR") or os.environ.get("INQUIRY_CORPORA")
    if env:
        root = Path(env)
        return root.parent if root.name == "emails" else root
    for folder in REPO.parents:
        candidate = folder / "shared" / "corpora"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "corpora"


def require_corpus(name: str) -> Path:
    import pytest

    base = corpora_root() / name
    if not base.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"corpus {name!r} missing at {base} (set CORPORA_DIR)")
        pytest.skip(f"corpus {name!r} not found at {base} (set CORPORA_DIR)")
    return base


def corpus_files(name: str = "emails", base: Path | None = None) -> list[Path]:
    """Every file of a corpus but its notes, sorted; ``base`` given, that folder (no skipping)."""
    folder = base if base is not None else require_corpus(name)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in NOT_MAIL)
