"""The outbox: Slack side effects that must happen, recorded in the store first.

An item is identified by a key (``card:42``, ``thread:<message-id>``, ``ping:…``).
Enqueueing a key that is pending, or that was delivered in the last ``DONE_TTL``, is a
no-op, so a crash between "enqueue" and "remember that we enqueued" repeats nothing.
The delivery worker (:mod:`bot.desk.delivery`) takes due items, delivers, and marks them done.

Items live in the store's ``outbox-NN.json`` TinyDB files (tables ``outbox``,
``outbox_done``, ``outbox_dead``), spread over ``SHARDS`` files by key: TinyDB rewrites a
whole file on every change, and a first start with thousands of owed cards must not
rewrite thousands of items per card. An in-memory index (key → file, document id, due
time) built on first use answers "is it known?" and "what is due?" without reading files.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tinydb import TinyDB

from bot.adapters.store.repo import Store

DONE_TTL = timedelta(days=14)
DONE_KEEP = 20000
SHARDS = 16


@dataclass(frozen=True)
class OutboxItem:
    key: str
    kind: str
    inquiry_id: str | None
    payload: dict[str, Any]
    attempts: int
    not_before: float
    last_error: str = ""
    tried: bool = False  # a post was attempted: it may have reached Slack before a crash
    low: bool = False  # low priority (a backlog card): normal items due first


@dataclass
class _Index:
    pending: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # key -> shard, doc id, due
    done: dict[str, float] = field(default_factory=dict)  # key -> delivered at
    low: set[str] = field(default_factory=set)  # pending keys of low priority (backlog cards)


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) % SHARDS


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _db(self, shard: int) -> TinyDB:
        return self.store.aux(f"outbox-{shard:02d}")

    def _index(self) -> _Index:
        """The key index, shared by every Outbox over the same store (caller holds the lock)."""
        index = self.store.caches.get("outbox")
        if not isinstance(index, _Index):
            index = _Index()
            for n in range(SHARDS):
                db = self._db(n)
                for doc in db.table("outbox").all():
                    index.pending[str(doc["key"])] = (n, doc.doc_id, float(doc["not_before"]))
                    if doc.get("low"):
                        index.low.add(str(doc["key"]))
                for doc in db.table("outbox_done").all():
                    index.done[str(doc["key"])] = float(doc.get("at", 0))
            self.store.caches["outbox"] = index
        return index

    def forget_index(self) -> None:
        """Drop the in-memory index (after another module edited the tables directly)."""
        with self.store.locked():
            self.store.caches.pop("outbox", None)

    def on_enqueue(self, wake: Any) -> None:
        """Call ``wake()`` whenever something is enqueued (the delivery worker's event)."""
        with self.store.locked():
            self.store.caches["outbox_wake"] = wake

    def enqueue(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any] | None,
        now: datetime,
        *,
        once: bool = True,
        low: bool = False,
    ) -> bool:
        """Record an owed delivery; False when the key is already pending (or done, if ``once``).

        ``once=False`` is for idempotent refreshes such as re-rendering a card: a pending
        one absorbs the next, and a delivered one does not block a later one. ``low``: due items
        of normal priority go first (a backlog card waits behind a new mail's card)."""
        with self.store.locked():
            index = self._index()
            if key in index.pending and key in index.low and not low:
                index.low.discard(key)  # owed again at normal priority: it goes first now
                self._update(key, {"low": False})
            if key in index.pending or (once and key in index.done):
                return False
            shard = shard_of(key)
            doc_id = (
                self._db(shard)
                .table("outbox")
                .insert(
                    {
                        "key": key,
                        "kind": kind,
                        "inquiry_id": inquiry_id,
                        "payload": payload or {},
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
            wake = self.store.caches.get("outbox_wake")
        if callable(wake):
            wake()
        return True

    def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        cutoff = now.timestamp()
        with self.store.locked():
            index = self._index()
            chosen = sorted(
                (key in index.low, due, shard, doc_id)
                for key, (shard, doc_id, due) in index.pending.items()
                if due <= cutoff
            )[:limit]
            docs = []
            for _, _, shard, doc_id in chosen:
                doc = self._db(shard).table("outbox").get(doc_id=doc_id)
                if doc is not None:
                    docs.append(doc)
        return [
            OutboxItem(
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
            for d in docs
        ]

    def next_due_at(self) -> float | None:
        with self.store.locked():
            return min((due for _, _, due in self._index().pending.values()), default=None)

    def done(self, key: str, now: datetime) -> None:
        with self.store.locked():
            index = self._index()
            entry = index.pending.pop(key, None)
            index.low.discard(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            db = self._db(shard)
            doc = db.table("outbox").get(doc_id=doc_id)
            once = bool(doc.get("once", True)) if doc is not None else True
            if once:
                db.table("outbox_done").insert({"key": key, "at": now.timestamp()})
                index.done[key] = now.timestamp()
                if len(index.done) > DONE_KEEP:
                    self._prune_done(now)
            if doc is not None:
                db.table("outbox").remove(doc_ids=[doc_id])

    def _prune_done(self, now: datetime) -> None:
        old = (now - DONE_TTL).timestamp()
        for n in range(SHARDS):
            done = self._db(n).table("outbox_done")
            doomed = [d.doc_id for d in done.all() if float(d.get("at", 0)) < old]
            if doomed:
                done.remove(doc_ids=doomed)
        self.store.caches.pop("outbox", None)

    def _update(self, key: str, change: dict[str, Any]) -> None:
        entry = self._index().pending.get(key)
        if entry is not None:
            self._db(entry[0]).table("outbox").update(change, doc_ids=[entry[1]])

    def mark_tried(self, key: str) -> None:
        """Record, before a post, that it may reach Slack (checked on the next attempt)."""
        with self.store.locked():
            self._update(key, {"tried": True})

    def retry(self, key: str, at: datetime, error: str) -> None:
        with self.store.locked():
            index = self._index()
            entry = index.pending.get(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            table = self._db(shard).table("outbox")
            doc = table.get(doc_id=doc_id)
            if doc is not None:
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
        """Move a delivery that can never succeed to ``outbox_dead`` (shown by doctor)."""
        with self.store.locked():
            index = self._index()
            entry = index.pending.pop(key, None)
            index.low.discard(key)
            if entry is None:
                return
            shard, doc_id, _ = entry
            db = self._db(shard)
            doc = db.table("outbox").get(doc_id=doc_id)
            if doc is not None:
                db.table("outbox_dead").insert({**doc, "last_error": error[:300], "dead_at": now.timestamp()})
                db.table("outbox").remove(doc_ids=[doc_id])

    def pending_count(self) -> int:
        with self.store.locked():
            return len(self._index().pending)

    def dead(self) -> list[dict[str, Any]]:
        with self.store.locked():
            return [dict(d) for n in range(SHARDS) for d in self._db(n).table("outbox_dead").all()]
