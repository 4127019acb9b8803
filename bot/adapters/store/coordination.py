"""Coordination for the single-process stores (:class:`bot.desk.ports.Coordination`).

TinyDB files and the memory twin belong to one process: that process leads every role, runs
every job once and paces its own posts. :class:`LocalCoordination` with a ``lock_path`` (the
TinyDB store: ``DATA_DIR/instance.lock``) also holds an exclusive ``flock`` on that file for the
process's life, so a second ``inquiry-bot run`` on the same data refuses to start with a clear
:class:`InstanceLocked` error instead of corrupting the files. The lock dies with the process
(the kernel drops it), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO

from bot.adapters.store.atomic import private_dir
from bot.core.errors import StoreError

LOCK_NAME = "instance.lock"


class InstanceLocked(StoreError):
    """Another process holds the store (TinyDB is single-process)."""


def _holder(fh: IO[str]) -> str:
    with contextlib.suppress(OSError, ValueError):
        fh.seek(0)
        pid = fh.read(32).strip()
        if pid.isdigit():
            return f" (process {pid})"
    return ""


class LocalCoordination:
    """Everything is this process's (see the module docstring). Thread-safe."""

    shared = False

    def __init__(self, lock_path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._done: set[tuple[str, str]] = set()
        self._next_slot: dict[str, float] = {}
        self._file: IO[str] | None = None
        if lock_path is not None:
            self._file = _lock_file(lock_path)

    def lead(self, name: str) -> bool:
        with self._lock:
            self._held.add(name)
        return True

    def resign(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)

    def leading(self, name: str) -> bool:
        with self._lock:
            return name in self._held

    def once(self, job: str, period: str) -> bool:
        with self._lock:
            if (job, period) in self._done:
                return False
            self._done.add((job, period))
            return True

    def pace(self, channel: str, interval: float) -> float:
        now = time.monotonic()
        with self._lock:
            slot = max(now, self._next_slot.get(channel, now))
            self._next_slot[channel] = slot + interval
        return slot - now

    def close(self) -> None:
        with self._lock:
            self._held.clear()
            fh, self._file = self._file, None
        if fh is not None:
            fh.close()  # closing the descriptor drops the flock


def _lock_file(path: Path) -> IO[str]:
    """``path`` opened and locked exclusively, with this process's id in it; InstanceLocked
    when another process holds it."""
    private_dir(path.parent)  # DATA_DIR, 0700 like everything the bot creates there
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fh = os.fdopen(fd, "r+", encoding="ascii")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        who = _holder(fh)
        fh.close()
        raise InstanceLocked(
            f"another inquiry-bot process{who} is using the TinyDB store in {path.parent}: the TinyDB "
            "store is single-process. Stop it first, or set STORE_URL=postgresql://… to run several "
            "instances on one desk"
        ) from None
    except OSError:
        fh.close()
        raise
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh
