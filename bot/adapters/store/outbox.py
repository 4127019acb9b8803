"""The outbox's TinyDB persistence: owed Slack deliveries in ``outbox-NN.json`` files.

Items live in the tables ``outbox`` (pending), ``outbox_done`` (delivered keys) and
``outbox_dead`` (dead letters), spread over ``SHARDS`` files by key: TinyDB rewrites a whole
file on every change, and a first start with thousands of owed cards must not rewrite
thousands of items per card. An in-memory index (key → file, document id, due time) built on
first use answers "is it known?" and "what is due?" without reading files.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tinydb import TinyDB

from bot.desk import ports
from bot.desk.ports import OutboxItem

SHARDS = 16


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) % SHARDS


def shard_name(shard: int) -> str:
    return f"outbox-{shard:02d}"


@dataclass
class _Index:
    pending: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # key -> shard, doc id, due
    done: dict[str, float] = field(default_factory=dict)  # key -> delivered at
    low: set[str] = field(default_factory=set)  # pending keys of low priority (backlog cards)


def _item(d: dict[str, Any]) -> OutboxItem:
    return OutboxItem(
        key=d["key"],
        kind=d["kind"],
        inquiry_id=d.get("inquiry_id"),
        payload=dict(d.get("payload", {})),
        attempts=int(d.get("attempts", 0)),
        not_before=float(d["not_before"]),
        last_error=str(d.get("last_error", "")),
        tried=bool(d.get("tried", False)),
        low=bool(d.get("low", False)),
    )


class TinyOutbox:
    """:class:`bot.desk.ports.OutboxRepo` over the store's ``outbox-NN`` databases.

    One process owns the files (``DATA_DIR/instance.lock``), so a claim (:meth:`due`) holds until
    the item is done, retried or dead, and never runs out; claims are this instance's state, not
    stored, and outlive :meth:`reload`."""

    def __init__(self, database: Callable[[str], TinyDB], lock: threading.RLock) -> None:
        self._database = database
        self._lock = lock
        self._cached: _Index | None = None
        self.lease_s = ports.LEASE_S
        self._claimed: set[str] = set()  # keys handed out by due() and not finished since

    def _db(self, shard: int) -> TinyDB:
        return self._database(shard_name(shard))

    def _index(self) -> _Index:
        """The key index (caller holds the lock)."""
        index = self._cached
        if index is None:
            index = _Index()
            for n in range(SHARDS):
                db = self._db(n)
                for doc in db.table("outbox").all():
                    index.pending[str(doc["key"])] = (n, doc.doc_id, float(doc["not_before"]))
                    if doc.get("low"):
                        index.low.add(str(doc["key"]))
                for doc in db.table("outbox_done").all():
                    index.done[str(doc["key"])] = float(doc.get("at", 0))
            self._cached = index
        return index

    def reload(self) -> None:
        with self._lock:
            self._cached = None

    def add(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any],
        now: datetime,
        *,
        once: bool = True,
        low: bool = False,
    ) -> bool:
        with self._lock:
            index = self._index()
            if key in index.pending and key in index.low and not low:
                index.low.discard(key)  # owed again at normal priority: it goes first now
                self._update(key, {"low": False})
            if key in index.pending or (once and key in index.done):
                return False
            self._claimed.discard(key)  # a claim of an item removed since (erasure) is not this one's
            shard = shard_of(key)
            doc_id = (
                self._db(shard)
                .table("outbox")
                .insert(
                    {
                        "key": key,
                        "kind": kind,
                        "inquiry_id": inquiry_id,
                        "payload": payload,
                        "attempts": 0,
                        "not_before": now.timestamp(),
                        "created": now.timestamp(),
                        "last_error": "",
                        "once": once,
                        "low": low,
                    }
                )
            )
            index.pending[key] = (shard, doc_id, now.timestamp())
            if low:
                index.low.add(key)
            return True

    def due(self, cutoff: datetime, limit: int = 50) -> list[OutboxItem]:
        at = cutoff.timestamp()
        with self._lock:
            index = self._index()
            chosen = sorted(
                (key in index.low, due, shard, doc_id)
                for key, (shard, doc_id, due) in index.pending.items()
                if due <= at
            )[:limit]
            docs = []
            for _, _, shard, doc_id in chosen:
                doc = self._db(shard).table("outbox").get(doc_id=doc_id)
                if isinstance(doc, dict):
                    docs.append(doc)
            self._claimed.update(str(d["key"]) for d in docs)
        return [_item(d) for d in docs]

    def renew(self, keys: Sequence[str]) -> set[str]:
        with self._lock:
            pending = self._index().pending
            self._claimed = {k for k in self._claimed if k in pending}  # removed since: nobody's
            return {k for k in keys if k in self._claimed}

    def next_due_at(self) -> float | None:
        with self._lock:
            return min((due for _, _, due in self._index().pending.values()), default=None)

    def done(self, key: str, now: datetime) -> None:
        with self._lock:
            self._claimed.discard(key)
            index = self._index()
            entry = index.pending.pop(key, None)
            index.low.discard(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            db = self._db(shard)
            doc = db.table("outbox").get(doc_id=doc_id)
            once = bool(doc.get("once", True)) if isinstance(doc, dict) else True
            if once:
                db.table("outbox_done").insert({"key": key, "at": now.timestamp()})
                index.done[key] = now.timestamp()
                if len(index.done) > ports.DONE_KEEP:
                    self._prune_done(now)
            if doc is not None:
                db.table("outbox").remove(doc_ids=[doc_id])

    def _prune_done(self, now: datetime) -> None:
        old = (now - ports.DONE_TTL).timestamp()
        for n in range(SHARDS):
            done = self._db(n).table("outbox_done")
            doomed = [d.doc_id for d in done.all() if float(d.get("at", 0)) < old]
            if doomed:
                done.remove(doc_ids=doomed)
        self._cached = None

    def _update(self, key: str, change: dict[str, Any]) -> None:
        entry = self._index().pending.get(key)
        if entry is not None:
            self._db(entry[0]).table("outbox").update(change, doc_ids=[entry[1]])

    def mark_tried(self, key: str) -> None:
        with self._lock:
            self._update(key, {"tried": True})

    def retry(self, key: str, at: datetime, error: str) -> None:
        with self._lock:
            self._claimed.discard(key)
            index = self._index()
            entry = index.pending.get(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            table = self._db(shard).table("outbox")
            doc = table.get(doc_id=doc_id)
            if isinstance(doc, dict):
                table.update(
                    {
                        "not_before": at.timestamp(),
                        "attempts": int(doc.get("attempts", 0)) + 1,
                        "last_error": error[:300],
                    },
                    doc_ids=[doc_id],
                )
                index.pending[key] = (shard, doc_id, at.timestamp())

    def give_up(self, key: str, now: datetime, error: str) -> None:
        with self._lock:
            self._claimed.discard(key)
            index = self._index()
            entry = index.pending.pop(key, None)
            index.low.discard(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            db = self._db(shard)
            doc = db.table("outbox").get(doc_id=doc_id)
            if isinstance(doc, dict):
                db.table("outbox_dead").insert({**doc, "last_error": error[:300], "dead_at": now.timestamp()})
                db.table("outbox").remove(doc_ids=[doc_id])

    def pending_count(self) -> int:
        with self._lock:
            return len(self._index().pending)

    def dead(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for n in range(SHARDS) for d in self._db(n).table("outbox_dead").all()]
