"""Draft persistence for drafting jobs and draft sending: four calls, nothing else.

Drafts are plain documents (``id``, ``inquiry_id``, ``subject``, ``body``, ``to``, ``status``…).
:func:`draft_records` is the one place that knows where they live; today the store's
``drafts`` auxiliary database, tomorrow the store's ``DraftRepo`` port (``store.drafts``),
which has the same four methods.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class DraftRecords(Protocol):
    """The four draft calls drafting jobs and draft sending make (``store.drafts`` will have them)."""

    def add(self, doc: dict[str, Any]) -> str: ...

    def get(self, draft_id: str) -> dict[str, Any] | None: ...

    def update(self, draft_id: str, fields: dict[str, Any]) -> None: ...

    def scheduled(self) -> list[dict[str, Any]]: ...


class _AuxStore(Protocol):
    """The TinyDB store's auxiliary databases and its lock (``bot.adapters.store.repo.Store``)."""

    def aux(self, name: str) -> Any: ...

    def locked(self) -> AbstractContextManager[Any]: ...


class _AuxDrafts:
    """The four draft calls over ``store.aux("drafts")`` (the store's lock held for each)."""

    def __init__(self, store: _AuxStore) -> None:
        self._store = store

    def _table(self) -> Any:
        return self._store.aux("drafts").table("drafts")

    def add(self, doc: dict[str, Any]) -> str:
        """Store a new draft; returns its id (``d1``, ``d2``…), also written into the document."""
        with self._store.locked():
            table = self._table()
            draft_id = f"d{len(table) + 1}"
            table.insert({"id": draft_id, **doc})
        return draft_id

    def get(self, draft_id: str) -> dict[str, Any] | None:
        with self._store.locked():
            found = [dict(d) for d in self._table().all() if d.get("id") == draft_id]
        return found[0] if found else None

    def update(self, draft_id: str, fields: dict[str, Any]) -> None:
        with self._store.locked():
            self._table().update(fields, lambda d: d.get("id") == draft_id)

    def scheduled(self) -> list[dict[str, Any]]:
        """Every draft waiting for its scheduled send (status ``scheduled``)."""
        with self._store.locked():
            return [dict(d) for d in self._table().all() if d.get("status") == "scheduled"]


def draft_records(store: _AuxStore) -> DraftRecords:
    """Where the drafts live (at the merge with the store ports: ``return store.drafts``)."""
    return _AuxDrafts(store)
