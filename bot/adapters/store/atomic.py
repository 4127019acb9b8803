"""A crash-safe TinyDB storage: whole-file writes via temp file, fsync and rename.

TinyDB's own ``JSONStorage`` rewrites its file in place, so a crash mid-write leaves a
truncated file (msiemens/tinydb #1, #301). ``AtomicJSONStorage`` instead

* keeps the parsed data in memory (reads never touch the disk after the first one),
* serialises *before* touching the disk, so unserialisable data never half-writes,
* writes ``name.tmp`` → flush → fsync → ``os.replace`` → fsync(directory),
* keeps the previous good file as ``name.bak`` and falls back to it when the main
  file cannot be parsed at open time.

Everything under ``DATA_DIR`` is private (mail, names, phone numbers): files are created
0600 and folders 0700 by :func:`private_dir`, :func:`private_opener` and
:func:`atomic_write_bytes` themselves, whatever the process umask (``inquiry-bot`` also sets
umask 077 at start for the files other code writes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from bot.adapters.store import durability
from bot.core.errors import StoreError

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every folder it creates is 0700 (``Path.mkdir(parents=True)`` would
    give the parents the umask's mode). Existing folders are left as they are."""
    missing: list[Path] = []
    current = Path(path)
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR)  # the umask may have taken bits off, never added
    return Path(path)


def private_opener(path: str, flags: int) -> int:
    """``open(path, "ab", opener=private_opener)``: a file it creates is 0600."""
    return os.open(path, flags, PRIVATE_FILE)


def atomic_write_bytes(path: Path, data: bytes, *, keep_backup: bool = False, last: bool = False) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    The fsyncs happen now, or at the end of the current :func:`durability.group_commit`
    (``last``: after every other file of the group, e.g. the mailbox checkpoint)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb", opener=private_opener) as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE)  # a stale .tmp left by a crash keeps its old mode
        fh.write(data)
        fh.flush()
        if not durability.deferred():
            os.fsync(fh.fileno())
    if keep_backup and path.exists():
        bak = path.with_name(path.name + ".bak")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, bak)
    os.replace(tmp, path)
    if durability.deferred():
        durability.sync_file(path, last=last)
    durability.sync_dir(path.parent)


class AtomicJSONStorage(Storage):
    """TinyDB storage that never leaves a corrupt file behind."""

    def __init__(self, path: str | Path, keep_backup: bool = False, sync_last: bool = False) -> None:
        self.path = Path(path)
        self.keep_backup = keep_backup
        self.sync_last = sync_last  # in a group commit, fsync this file after all others
        self._data: dict[str, Any] | None = None
        private_dir(self.path.parent)

    def _load(self) -> dict[str, Any]:
        for candidate in (self.path, self.path.with_name(self.path.name + ".bak")):
            try:
                raw = candidate.read_bytes()
            except FileNotFoundError:
                continue
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                log.error("store file %s is not valid JSON; trying its backup", candidate)
                continue
            if isinstance(data, dict):
                if candidate != self.path:
                    log.warning("restored %s from its backup", self.path)
                return data
        return {}

    def read(self) -> dict[str, Any] | None:
        if self._data is None:
            self._data = self._load()
        return self._data or None

    def write(self, data: dict[str, Any]) -> None:
        try:
            encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as e:
            # Reload the last good state so the in-memory copy never diverges from disk.
            self._data = self._load()
            raise StoreError(f"refusing to write unserialisable data to {self.path.name}") from e
        try:
            atomic_write_bytes(self.path, encoded, keep_backup=self.keep_backup, last=self.sync_last)
        except OSError as e:
            self._data = self._load()
            raise StoreError(f"could not write {self.path}: {e}") from e
        self._data = data

    def close(self) -> None:
        self._data = None
