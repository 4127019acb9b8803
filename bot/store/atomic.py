"""A crash-safe TinyDB storage: whole-file writes via temp file, fsync and rename.

TinyDB's own ``JSONStorage`` rewrites its file in place, so a crash mid-write leaves a
truncated file (msiemens/tinydb #1, #301). ``AtomicJSONStorage`` instead

* keeps the parsed data in memory (reads never touch the disk after the first one),
* serialises *before* touching the disk, so unserialisable data never half-writes,
* writes ``name.tmp`` → flush → fsync → ``os.replace`` → fsync(directory),
* keeps the previous good file as ``name.bak`` and falls back to it when the main
  file cannot be parsed at open time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from bot.errors import StoreError
from bot.store import durability

log = logging.getLogger(__name__)


def atomic_write_bytes(path: Path, data: bytes, *, keep_backup: bool = False, last: bool = False) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    The fsyncs happen now, or at the end of the current :func:`durability.group_commit`
    (``last``: after every other file of the group, e.g. the mailbox checkpoint)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
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
        self.path.parent.mkdir(parents=True, exist_ok=True)

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
