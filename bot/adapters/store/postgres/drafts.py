"""Reply drafts and scheduled sends in PostgreSQL (:class:`bot.desk.ports.DraftRepo`).

Ids are ``d<n>`` from a sequence shared by every instance, so two instances never hand out
the same id (the TinyDB backend counts the table's rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.adapters.store.postgres.jsonb import jsonb
from bot.adapters.store.postgres.session import Sessions


class PgDrafts:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def add(self, doc: dict[str, Any]) -> str:
        with self._sessions.atomic() as conn:
            row = conn.execute("SELECT nextval('draft_ids')").fetchone()
            assert row is not None
            draft_id = f"d{int(row[0])}"
            full = {"id": draft_id, **{k: v for k, v in doc.items() if k != "id"}}
            self._write(conn, draft_id, full, insert=True)
        return draft_id

    @staticmethod
    def _write(conn: Any, draft_id: str, doc: dict[str, Any], *, insert: bool) -> None:
        status = str(doc.get("status") or "")
        inquiry_id = None if doc.get("inquiry_id") is None else str(doc.get("inquiry_id"))
        if insert:
            conn.execute(
                "INSERT INTO drafts (id, inquiry_id, status, doc) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET inquiry_id = excluded.inquiry_id,"
                " status = excluded.status, doc = excluded.doc",
                (draft_id, inquiry_id, status, jsonb(doc)),
            )
        else:
            conn.execute(
                "UPDATE drafts SET inquiry_id = %s, status = %s, doc = %s WHERE id = %s",
                (inquiry_id, status, jsonb(doc), draft_id),
            )

    def get(self, draft_id: str) -> dict[str, Any] | None:
        with self._sessions.conn() as conn:
            row = conn.execute("SELECT doc FROM drafts WHERE id = %s", (draft_id,)).fetchone()
        return dict(row[0]) if row else None

    def update(self, draft_id: str, fields: dict[str, Any]) -> None:
        with self._sessions.atomic() as conn:
            row = conn.execute("SELECT doc FROM drafts WHERE id = %s FOR UPDATE", (draft_id,)).fetchone()
            if row is None:
                return
            self._write(conn, draft_id, {**dict(row[0]), **fields}, insert=False)

    def update_if(
        self,
        draft_id: str,
        fields: dict[str, Any],
        *,
        only: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> bool:
        # One conditional UPDATE: the row lock it takes makes a racing instance wait, then
        # re-check the condition on the new row (READ COMMITTED), so exactly one wins.
        with self._sessions.atomic() as conn:
            row = conn.execute(
                "UPDATE drafts SET doc = doc || %(f)s, status = coalesce((doc || %(f)s) ->> 'status', '')"
                " WHERE id = %(id)s AND (%(any)s OR status = ANY(%(only)s)) AND NOT status = ANY(%(exclude)s)"
                " RETURNING id",
                {
                    "f": jsonb(fields),
                    "id": draft_id,
                    "any": only is None,
                    "only": list(only or ()),
                    "exclude": list(exclude),
                },
            ).fetchone()
        return row is not None

    def scheduled(self) -> list[dict[str, Any]]:
        with self._sessions.conn() as conn:
            rows = conn.execute("SELECT doc FROM drafts WHERE status = 'scheduled' ORDER BY id").fetchall()
        return [dict(r[0]) for r in rows]

    def all(self) -> list[dict[str, Any]]:
        with self._sessions.conn() as conn:
            rows = conn.execute("SELECT doc FROM drafts ORDER BY id").fetchall()
        return [dict(r[0]) for r in rows]

    def put(self, doc: dict[str, Any]) -> None:
        """Store ``doc`` under its own ``id`` (copying a store over); the id sequence follows."""
        draft_id = str(doc["id"])
        with self._sessions.atomic() as conn:
            self._write(conn, draft_id, doc, insert=True)
            if draft_id[1:].isdigit():
                conn.execute(
                    "SELECT setval('draft_ids', greatest(%s, (SELECT last_value FROM draft_ids)))",
                    (int(draft_id[1:]),),
                )

    def delete(self, draft_id: str) -> None:
        with self._sessions.atomic() as conn:
            conn.execute("DELETE FROM drafts WHERE id = %s", (draft_id,))
