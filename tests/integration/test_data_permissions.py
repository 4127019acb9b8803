"""Private data at rest: under a shell umask of 022, every file the desk writes under
``DATA_DIR`` is 0600 and every folder 0700 (store shards, index, raw mail, audit log)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.store.atomic import atomic_write_bytes, private_dir
from tests.factories import Fetched, raw_mail
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import drain, make_desktop


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    modes = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        modes[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def _wider(root: Path) -> dict[str, str]:
    """Paths whose mode is not 0700 (folders) or 0600 (files)."""
    out = {}
    for name, mode in _modes(root).items():
        want = 0o700 if (root / name).is_dir() else 0o600
        if mode != want:
            out[name] = oct(mode)
    return out


def _mail(n: int) -> bytes:
    return raw_mail(
        f"Please quote {n},000 pcs of 600x600 LED panels, FOB Ningbo. Tel +48 22 123 45 67",
        subject=f"RFQ {n},000 LED panels",
        from_=f"Zofia Kowalczyk <zofia{n}@licht-tech.de>",
        message_id=f"<rfq-{n}@licht-tech.de>",
        date="Thu, 26 Nov 2026 08:00:00 +0100",
    )


def test_everything_under_data_dir_is_private_under_a_022_umask(
    umask_022: None, slack_server: FakeSlack, tmp_path: Path
) -> None:
    data = tmp_path / "deep" / "data"  # parents created too
    desk = make_desktop(slack_server, data)
    try:
        for n in range(1, 4):
            result = desk.ingestor.deliver(
                "INBOX", Fetched(n, _mail(n), datetime(2026, 11, 26, 8, tzinfo=UTC))
            )
            assert result.inquiry_id is not None
        drain(desk.worker)
        desk.store.rebuild_index()  # the index rewritten in place too
    finally:
        desk.store.close()
    names = set(_modes(data))
    assert any(n.startswith("mail/") and n.endswith(".eml") for n in names), names
    assert any(n.startswith("store/shards/") for n in names), names
    assert {"audit/audit.jsonl", "audit/audit.head", "store/index.jsonl"} <= names, names
    assert _wider(data) == {}
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700


def test_atomic_writes_reset_a_stale_temp_file_and_keep_existing_folders(
    umask_022: None, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    target = private_dir(shared / "store") / "meta.json"
    stale = target.with_name("meta.json.tmp")
    stale.write_bytes(b"half")
    stale.chmod(0o644)  # left by a crash under an older version
    atomic_write_bytes(target, b"{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((shared / "store").stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not ours to change; doctor warns instead


def test_the_command_line_sets_a_private_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IMAP_", "OPENAI_", "MAIL_"))}
    env["DATA_DIR"] = str(data)
    done = subprocess.run(
        # doctor creates nothing; subject-export opens (so creates) the store and the audit log.
        [sys.executable, "-m", "bot", "subject-export", "nobody@example.com"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert (data / "store").is_dir(), done.stdout + done.stderr
    assert _wider(data) == {}
