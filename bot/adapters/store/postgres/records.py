"""The small records of the PostgreSQL store, in the shape of TinyDB's tables.

Erasure and subject export (:mod:`bot.records.privacy`) see every store's small records as
(table, document) pairs named as in TinyDB (``outbox``, ``outbox_done``, ``outbox_dead``,
``drafts``, ``kv``, ``reputation_sender`` …); these functions map those tables onto this
schema's rows, both ways.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.adapters.store.postgres.jsonb import jsonb
from bot.adapters.store.postgres.jsonb import text as safe_text
from bot.adapters.store.postgres.outbox import OUTBOX_COLUMNS, dead_doc, pending_doc
from bot.adapters.store.postgres.session import Conn
from bot.core.errors import StoreError


def record_rows(conn: Conn) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(table as named in TinyDB, row key, record) for every small record."""
    columns = OUTBOX_COLUMNS
    for r in conn.execute(f"SELECT {columns} FROM outbox WHERE state = 'pending' ORDER BY id").fetchall():
        yield "outbox", r[12], pending_doc(r)
    for r in conn.execute("SELECT id, key, done_at FROM outbox WHERE state = 'done' ORDER BY id").fetchall():
        yield "outbox_done", r[0], {"key": r[1], "at": float(r[2] or 0)}
    for r in conn.execute(f"SELECT {columns} FROM outbox WHERE state = 'dead' ORDER BY id").fetchall():
        yield "outbox_dead", r[12], dead_doc(r)
    for r in conn.execute("SELECT id, doc FROM drafts ORDER BY id").fetchall():
        yield "drafts", r[0], dict(r[1])
    for r in conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall():
        yield "kv", r[0], {"key": r[0], "value": r[1]}
    for r in conn.execute("SELECT kind, key, record FROM reputation ORDER BY kind, key").fetchall():
        yield f"reputation_{r[0]}", (r[0], r[1]), {**dict(r[2]), "key": r[1]}
    for r in conn.execute("SELECT doc FROM text_model").fetchall():
        yield "text_model", 1, dict(r[0])
    for r in conn.execute("SELECT user_id, doc FROM member_prefs ORDER BY user_id").fetchall():
        yield "prefs", r[0], {**dict(r[1]), "user": r[0]}
    for r in conn.execute("SELECT user_id, doc FROM home_state ORDER BY user_id").fetchall():
        yield "home", r[0], {**dict(r[1]), "user": r[0]}


def outbox_values(rec: dict[str, Any]) -> tuple[Any, ...]:
    created = float(rec.get("created", rec.get("not_before", 0)))
    return (
        str(rec["key"]),
        str(rec.get("kind", "")),
        rec.get("inquiry_id"),
        jsonb(rec.get("payload") or {}),
        int(rec.get("attempts", 0)),
        float(rec.get("not_before", created)),
        created,
        safe_text(str(rec.get("last_error", ""))),
        bool(rec.get("tried", False)),
        bool(rec.get("low", False)),
        bool(rec.get("once", True)),
    )


_DELETE = {
    "outbox": "DELETE FROM outbox WHERE id = %s",
    "outbox_done": "DELETE FROM outbox WHERE id = %s",
    "outbox_dead": "DELETE FROM outbox WHERE id = %s",
    "drafts": "DELETE FROM drafts WHERE id = %s",
    "kv": "DELETE FROM meta WHERE key = %s",
    "text_model": "DELETE FROM text_model WHERE id = %s",
    "prefs": "DELETE FROM member_prefs WHERE user_id = %s",
    "home": "DELETE FROM home_state WHERE user_id = %s",
}


def delete_record(conn: Conn, table: str, key: Any) -> None:
    if table.startswith("reputation_"):
        conn.execute("DELETE FROM reputation WHERE kind = %s AND key = %s", key)
    else:
        conn.execute(_DELETE[table], (key,))


def replace_record(conn: Conn, table: str, key: Any, new: dict[str, Any]) -> None:
    if table in ("outbox", "outbox_dead"):
        conn.execute(
            "UPDATE outbox SET kind = %s, inquiry_id = %s, payload = %s, last_error = %s WHERE id = %s",
            (
                new.get("kind", ""),
                new.get("inquiry_id"),
                jsonb(new.get("payload") or {}),
                safe_text(str(new.get("last_error", ""))),
                key,
            ),
        )
    elif table == "outbox_done":
        conn.execute("UPDATE outbox SET key = %s WHERE id = %s", (str(new.get("key", "")), key))
    elif table == "drafts":
        conn.execute(
            "UPDATE drafts SET doc = %s, status = %s WHERE id = %s",
            (jsonb(new), str(new.get("status") or ""), key),
        )
    elif table == "kv":
        conn.execute("UPDATE meta SET value = %s WHERE key = %s", (jsonb(new.get("value")), key))
    elif table.startswith("reputation_"):
        record = {k: v for k, v in new.items() if k != "key"}
        conn.execute("UPDATE reputation SET record = %s WHERE kind = %s AND key = %s", (jsonb(record), *key))
    elif table == "text_model":
        conn.execute("UPDATE text_model SET doc = %s WHERE id = 1", (jsonb(new),))
    elif table in ("prefs", "home"):
        name = "member_prefs" if table == "prefs" else "home_state"
        doc = {k: v for k, v in new.items() if k != "user"}
        conn.execute(f"UPDATE {name} SET doc = %s WHERE user_id = %s", (jsonb(doc), key))
    else:
        raise StoreError(f"unknown record table {table!r}")
