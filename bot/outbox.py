"""The outbox: Slack side effects that must happen, recorded in the store first.

An item is identified by a key (``card:42``, ``thread:<message-id>``, ``ping:…``).
Enqueueing a key that is pending, or that was delivered in the last ``DONE_TTL``, is a
no-op, so a crash between "enqueue" and "remember that we enqueued" repeats nothing.
The delivery worker (:mod:`bot.delivery`) takes due items, delivers, and marks them done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tinydb import where

from bot.store.repo import Store

DONE_TTL = timedelta(days=14)


@dataclass(frozen=True)
class OutboxItem:
    key: str
    kind: str
    inquiry_id: str | None
    payload: dict[str, Any]
    attempts: int
    not_before: float
    last_error: str = ""


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def enqueue(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any] | None,
        now: datetime,
        *,
        once: bool = True,
    ) -> bool:
        """Record an owed delivery; False when the key is already pending (or done, if ``once``).

        ``once=False`` is for idempotent refreshes such as re-rendering a card: a pending
        one absorbs the next, and a delivered one does not block a later one."""
        with self.store.locked():
            meta = self.store.meta
            if meta.table("outbox").contains(where("key") == key):
                return False
            if once and meta.table("outbox_done").contains(where("key") == key):
                return False
            meta.table("outbox").insert(
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
                }
            )
            return True

    def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        with self.store.locked():
            docs = self.store.meta.table("outbox").search(where("not_before") <= now.timestamp())
        docs.sort(key=lambda d: (d["not_before"], d.doc_id))
        return [
            OutboxItem(
                key=d["key"],
                kind=d["kind"],
                inquiry_id=d.get("inquiry_id"),
                payload=dict(d.get("payload", {})),
                attempts=int(d.get("attempts", 0)),
                not_before=float(d["not_before"]),
                last_error=str(d.get("last_error", "")),
            )
            for d in docs[:limit]
        ]

    def next_due_at(self) -> float | None:
        with self.store.locked():
            docs = self.store.meta.table("outbox").all()
        return min((float(d["not_before"]) for d in docs), default=None)

    def done(self, key: str, now: datetime) -> None:
        with self.store.locked():
            meta = self.store.meta
            docs = meta.table("outbox").search(where("key") == key)
            meta.table("outbox").remove(where("key") == key)
            if docs and not docs[0].get("once", True):
                return
            done = meta.table("outbox_done")
            done.insert({"key": key, "at": now.timestamp()})
            if len(done) > 5000:
                done.remove(where("at") < (now - DONE_TTL).timestamp())

    def retry(self, key: str, at: datetime, error: str) -> None:
        with self.store.locked():
            table = self.store.meta.table("outbox")
            for doc in table.search(where("key") == key):
                table.update(
                    {
                        "not_before": at.timestamp(),
                        "attempts": int(doc.get("attempts", 0)) + 1,
                        "last_error": error[:300],
                    },
                    doc_ids=[doc.doc_id],
                )

    def give_up(self, key: str, now: datetime, error: str) -> None:
        """Move a delivery that can never succeed to ``outbox_dead`` (shown by doctor)."""
        with self.store.locked():
            meta = self.store.meta
            for doc in meta.table("outbox").search(where("key") == key):
                meta.table("outbox_dead").insert(
                    {**doc, "last_error": error[:300], "dead_at": now.timestamp()}
                )
            meta.table("outbox").remove(where("key") == key)

    def pending_count(self) -> int:
        with self.store.locked():
            return len(self.store.meta.table("outbox"))

    def dead(self) -> list[dict[str, Any]]:
        with self.store.locked():
            return [dict(d) for d in self.store.meta.table("outbox_dead").all()]
