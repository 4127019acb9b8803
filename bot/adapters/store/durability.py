"""Group commit: many writes, one fsync per file.

Every store write is crash-safe on its own (temp file and rename, so a killed process
leaves the old or the new file). Durability against power loss needs fsync, which costs
about half a millisecond a call; ingesting one mail touches a dozen files. Inside
``group_commit()`` — the watcher opens one around each IMAP fetch batch — fsyncs are
collected and done once per file when the outermost group ends, files marked ``last``
(the mailbox checkpoint) after all others: after a power cut the checkpoint never points
past mail whose records did not reach the disk, and that mail is simply fetched again.
Outside a group every write is fsynced at once, as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_lock = threading.Lock()
_depth = 0
_files: dict[str, bool] = {}  # path -> last
_dirs: dict[str, None] = {}


def _fsync_path(path: str, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory and hasattr(os, "O_DIRECTORY") else 0))
    except OSError:  # gone (renamed over, deleted) or not openable: nothing left to flush
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deferred() -> bool:
    return _depth > 0


def sync_file(path: Path | str, fd: int | None = None, *, last: bool = False) -> None:
    """fsync ``path`` now, or at the end of the current group."""
    with _lock:
        if _depth > 0:
            key = str(path)
            _files[key] = _files.get(key, False) or last
            return
    if fd is not None:
        os.fsync(fd)
    else:
        _fsync_path(str(path))


def sync_dir(path: Path | str) -> None:
    with _lock:
        if _depth > 0:
            _dirs[str(path)] = None
            return
    _fsync_path(str(path), directory=True)


def _flush() -> None:
    with _lock:
        files = sorted(_files.items(), key=lambda kv: kv[1])  # "last" files at the end
        dirs = list(_dirs)
        _files.clear()
        _dirs.clear()
    for path, last in files:
        if not last:
            _fsync_path(path)
    for d in dirs:
        _fsync_path(d, directory=True)
    for path, last in files:
        if last:
            _fsync_path(path)
    if any(last for _, last in files):
        for d in {str(Path(p).parent) for p, last in files if last}:
            _fsync_path(d, directory=True)


@contextlib.contextmanager
def group_commit() -> Iterator[None]:
    """Defer fsyncs until the outermost group ends (then flush, even on error)."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            outermost = _depth == 0
        if outermost:
            _flush()
