"""Reply drafts and scheduled sends in TinyDB: table ``drafts`` of ``drafts.json``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from tinydb import TinyDB, where

from bot.desk.ports import status_allows


class TinyDrafts:
    """:class:`bot.desk.ports.DraftRepo` over ``drafts.json`` (ids ``d1``, ``d2`` … by count)."""

    def __init__(self, database: Callable[[str], TinyDB], lock: threading.RLock) -> None:
        self._database = database
        self._lock = lock

    def _table(self) -> Any:
        return self._database("drafts").table("drafts")

    def add(self, doc: dict[str, Any]) -> str:
        with self._lock:
            table = self._table()
            draft_id = f"d{len(table) + 1}"
            table.insert({"id": draft_id, **doc})
            return draft_id

    def get(self, draft_id: str) -> dict[str, Any] | None:
        with self._lock:
            docs = self._table().search(where("id") == draft_id)
        return dict(docs[0]) if docs else None

    def update(self, draft_id: str, fields: dict[str, Any]) -> None:
        with self._lock:
            self._table().update(fields, where("id") == draft_id)

    def update_if(
        self,
        draft_id: str,
        fields: dict[str, Any],
        *,
        only: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> bool:
        # One process owns the TinyDB files (the instance lock): the store lock makes it atomic.
        with self._lock:
            docs = self._table().search(where("id") == draft_id)
            if not docs or not status_allows(docs[0].get("status"), only, exclude):
                return False
            self._table().update(fields, where("id") == draft_id)
            return True

    def scheduled(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._table().search(where("status") == "scheduled")]
