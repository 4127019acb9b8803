"""Keeping the leases of claimed outbox items while the delivery worker works through them.

The store's claim (:meth:`bot.desk.ports.OutboxRepo.due`) hides an item from other instances for
``lease_s``. A delivery may outlast that (a Slack call retried with back-off, a 429 Retry-After,
a slow upload, a batch paced at one post a second behind other instances' posts), and another
instance would then claim the item and post it a second time. A :class:`LeaseKeeper` holds one
claimed batch: a heartbeat thread renews the leases of the items not yet finished every third of
the lease (:meth:`bot.desk.ports.OutboxRepo.renew`), and the worker asks it, before each item's
delivery (:meth:`LeaseKeeper.renew`, a round trip) and again right before each post
(:meth:`LeaseKeeper.holds`, a round trip only when the last renewal is getting old), whether this
instance still holds the item. An item it lost is not posted (:class:`LeaseLost`).

What remains is the moment between the last check and Slack receiving the post: a process frozen
exactly there for longer than the lease. The item is marked ``tried`` before its post, so the next
holder looks for the post (``find_card`` / ``find_reply``) before posting again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

log = logging.getLogger(__name__)

Renew = Callable[[Sequence[str]], set[str]]
"""The store's renewal: extends the given keys this instance holds; returns those."""


class LeaseLost(Exception):
    """This instance no longer holds the outbox item it was delivering: it must not post it."""

    def __init__(self, key: str) -> None:
        super().__init__(f"outbox item {key}: its lease went to another instance")
        self.key = key


class LeaseKeeper:
    """The leases of one claimed batch, renewed by a heartbeat while the batch is delivered.

    Use as a context manager around the batch; :meth:`release` an item once it is finished
    (done, retried, dead or skipped), so the heartbeat stops renewing it."""

    def __init__(self, renew: Renew, lease_s: float, keys: Iterable[str]) -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s must be positive, not {lease_s}")
        self._renew = renew
        self.lease_s = lease_s
        self._lock = threading.Lock()
        # key -> monotonic time until which its lease is confirmed (0: not confirmed yet)
        self._held: dict[str, float] = dict.fromkeys(keys, 0.0)
        self._lost: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="outbox-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        with self._lock:
            self._held.clear()
        self._thread.join(timeout=self.lease_s)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.renew()
            except Exception as e:  # the store is out of reach: the checks before a post notice
                log.warning("outbox lease renewal failed (%s); trying again", type(e).__name__)

    def renew(self, keys: Sequence[str] | None = None) -> set[str]:
        """Renew ``keys`` (default: every item not released yet) in the store; the ones this
        instance still holds. A key the store no longer gives us is remembered as lost."""
        with self._lock:
            asked = [k for k in (self._held if keys is None else keys) if k in self._held]
        if not asked:
            return set()
        start = time.monotonic()
        held = self._renew(asked) & set(asked)
        with self._lock:
            for key in asked:
                if key not in self._held:
                    continue  # released meanwhile
                if key in held:
                    self._held[key] = max(self._held[key], start + self.lease_s)
                else:
                    del self._held[key]
                    self._lost.add(key)
        return held

    def holds(self, key: str) -> bool:
        """Whether this instance still holds ``key``: True at once when its lease was confirmed
        with at least a third of it left, otherwise asked of the store."""
        with self._lock:
            if key in self._lost or key not in self._held:
                return False
            fresh = time.monotonic() < self._held[key] - self.lease_s / 3
        return fresh or key in self.renew([key])

    def release(self, key: str) -> None:
        """The item is finished: stop renewing it."""
        with self._lock:
            self._held.pop(key, None)
            self._lost.discard(key)
