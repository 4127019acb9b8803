"""The outbox: Slack side effects that must happen, recorded in the store first.

An item is identified by a key (``card:42``, ``thread:<message-id>``, ``ping:…``).
Enqueueing a key that is pending, or that was delivered in the last ``DONE_TTL``, is a
no-op, so a crash between "enqueue" and "remember that we enqueued" repeats nothing.
The delivery worker (:mod:`bot.desk.delivery`) takes due items, delivers, and marks them done.

This is the service; the items are kept by the store's :class:`bot.desk.ports.OutboxRepo`
(TinyDB: :mod:`bot.adapters.store.outbox`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.desk.ports import DONE_KEEP, DONE_TTL, OutboxItem, Store

__all__ = ["DONE_KEEP", "DONE_TTL", "Outbox", "OutboxItem"]

#: The wake callback of each store's delivery worker, shared by every Outbox over that store.
_wakes: weakref.WeakKeyDictionary[Any, Callable[[], object]] = weakref.WeakKeyDictionary()
_wakes_lock = threading.Lock()


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def forget_index(self) -> None:
        """Read the items back from storage (after another process or module changed them)."""
        self.store.outbox.reload()

    def on_enqueue(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` whenever something is enqueued (the delivery worker's event)."""
        with _wakes_lock:
            _wakes[self.store] = wake

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
        if not self.store.outbox.add(key, kind, inquiry_id, payload or {}, now, once=once, low=low):
            return False
        with _wakes_lock:
            wake = _wakes.get(self.store)
        if wake is not None:
            wake()
        return True

    def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        return self.store.outbox.due(now, limit)

    def renew(self, keys: Sequence[str]) -> set[str]:
        """Extend the leases of claimed ``keys`` this instance still holds; returns those keys."""
        return self.store.outbox.renew(keys)

    @property
    def lease_s(self) -> float:
        """Seconds a claim (:meth:`due`) or a renewal holds an item."""
        return self.store.outbox.lease_s

    def next_due_at(self) -> float | None:
        return self.store.outbox.next_due_at()

    def done(self, key: str, now: datetime) -> None:
        self.store.outbox.done(key, now)

    def mark_tried(self, key: str) -> None:
        """Record, before a post, that it may reach Slack (checked on the next attempt)."""
        self.store.outbox.mark_tried(key)

    def retry(self, key: str, at: datetime, error: str) -> None:
        self.store.outbox.retry(key, at, error)

    def give_up(self, key: str, now: datetime, error: str) -> None:
        """Move a delivery that can never succeed to the dead letters (shown by doctor)."""
        self.store.outbox.give_up(key, now, error)

    def pending_count(self) -> int:
        return self.store.outbox.pending_count()

    def dead(self) -> list[dict[str, Any]]:
        return self.store.outbox.dead()
