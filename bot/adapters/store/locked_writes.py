"""Read-modify-write of an inquiry under one process lock, and the in-memory look-ups, shared by
the in-process stores.

The TinyDB store and the memory twin keep inquiries behind a re-entrant lock and the same
in-memory indexes (thread, buyer, summaries) and differ in how one inquiry is read and written
(``get``, ``_write``, ``load_many``); :class:`LockedInquiryWrites` gives both the same ``require``/``update``/
``set_fields``, the audit hand-off and the index look-ups, so the contract holds the same way.
(PostgreSQL does the same with a row lock in the database, see ``postgres/store.py``.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from bot.core.errors import NotFound
from bot.core.models import Event, Inquiry
from bot.desk.ports import (
    AuditSink,
    OpenQuery,
    Summary,
    count_by_owner,
    domain_of,
    select_open,
)


class LockedInquiryWrites:
    """Mixin: needs ``_lock``, ``audit``, the three indexes, ``get(inq_id)``, ``load_many(ids)``
    and ``_write(inq)``."""

    _lock: threading.RLock
    audit: AuditSink | None
    _by_thread: dict[tuple[str, str], str]
    _by_buyer: dict[str, str]
    _summaries: dict[str, Summary]
    _next_id: int

    def get(self, inq_id: str) -> Inquiry | None:
        raise NotImplementedError

    def load_many(self, ids: Iterable[str]) -> list[Inquiry]:
        raise NotImplementedError

    def _write(self, inq: Inquiry) -> None:
        raise NotImplementedError

    def _audit(self, inq_id: str, events: Iterable[Event]) -> None:
        """Every event recorded on an inquiry also goes to the audit sink."""
        if self.audit is not None:
            for e in events:
                self.audit.record(inq_id, e)

    def next_id(self) -> str:
        with self._lock:
            value = str(self._next_id)
            self._next_id += 1
            return value

    def add(self, inq: Inquiry) -> Inquiry:
        with self._lock:
            self._write(inq)
            self._audit(inq.id, inq.events)
            return inq

    def require(self, inq_id: str) -> Inquiry:
        inq = self.get(inq_id)
        if inq is None:
            raise NotFound(f"no inquiry {inq_id}")
        return inq

    def update(self, inq_id: str, change: Callable[[Inquiry], Inquiry]) -> Inquiry:
        """Read-modify-write under the lock; ``change`` may raise to abort (nothing written)."""
        with self._lock:
            current = self.require(inq_id)
            new = change(current)
            if new is current or new == current:
                return current
            self._write(new)
            if len(new.events) > len(current.events):
                self._audit(inq_id, new.events[len(current.events) :])
            return new

    def set_fields(self, inq_id: str, **fields: Any) -> Inquiry:
        return self.update(inq_id, lambda inq: replace(inq, **fields))

    def find_thread(self, buyer_addr: str, subject_key: str) -> str | None:
        with self._lock:
            return self._by_thread.get((buyer_addr, subject_key))

    def latest_of_buyer(self, buyer_addr: str) -> str | None:
        """The newest inquiry (not filtered mail) from this buyer, if any."""
        with self._lock:
            return self._by_buyer.get(buyer_addr)

    def latest_inquiry_of_buyer(self, buyer_addr: str) -> Inquiry | None:
        latest = self.latest_of_buyer(buyer_addr)
        return self.get(latest) if latest else None

    def summaries(self) -> list[Summary]:
        with self._lock:
            return list(self._summaries.values())

    def buyer_domains(self) -> set[str]:
        with self._lock:
            return {d for d in (domain_of(a) for a in self._by_buyer) if d}

    def count(self) -> int:
        with self._lock:
            return len(self._summaries)

    def _open_ids(self, q: OpenQuery) -> list[str]:
        """The ids whose summary fits ``q`` as far as a summary tells (tier and backlog are
        checked on the inquiry)."""
        before = q.waiting_before.timestamp() if q.waiting_before is not None else None
        with self._lock:
            return [
                s.id
                for s in self._summaries.values()
                if s.is_inquiry
                and s.open
                and (q.owner is None or s.owner == q.owner)
                and not (q.unclaimed and s.owner is not None)
                and (q.waiting is None or (s.sla_started_at is not None) == q.waiting)
                and (before is None or (s.sla_started_at is not None and s.sla_started_at <= before))
                and (q.market is None or s.market == q.market)
            ]

    def open_where(self, q: OpenQuery) -> list[Inquiry]:
        """Open inquiries picked by their summaries, loaded (the TinyDB store keeps open ones
        parsed in memory), then checked whole, ordered and paged."""
        with self._lock:
            return select_open(self.load_many(self._open_ids(q)), q)

    def count_open(self, q: OpenQuery) -> dict[str | None, int]:
        with self._lock:
            ids = self._open_ids(q)
            if q.tier is None and not q.backlog:  # the summaries answer it
                out: dict[str | None, int] = {}
                for i in ids:
                    owner = self._summaries[i].owner
                    out[owner] = out.get(owner, 0) + 1
                return out
            return count_by_owner(self.load_many(ids), q)
