"""The hash-chained audit log in PostgreSQL (``STORE_URL=postgresql://…``, issue #15).

Same entries, same hashes and the same checks as the file log (:mod:`bot.records.audit`); one
chain for every instance. One writer order: an append takes the audit log's transaction-scoped
advisory lock, reads the last entry and writes ``seq + 1`` with that entry's hash as
``prev_hash``, all in the caller's transaction when there is one (an inquiry's change and its
audit entries commit together or not at all). The hashed body is stored byte for byte (column
``body``), so :meth:`PgAuditLog.verify` recomputes exactly what was written; it reads inside
one snapshot and needs no lock, so it runs while the bot runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import psycopg

from bot.adapters.store.postgres.session import Sessions
from bot.core.models import Event
from bot.records.audit import (
    GENESIS,
    AuditError,
    Entry,
    VerifyResult,
    _body,
    _entry_from_json,
    _verify_open,
    canonical,
    check_detail,
    entry_hash,
    ref,
)

#: The advisory lock of audit appends ("inqdesk\x03" as a number).
AUDIT_LOCK = 0x696E71646573_6B03
BATCH = 1000


class PgAuditLog:
    """:class:`bot.records.audit.AuditLog`'s interface (and the store's audit sink) on PostgreSQL."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def append(
        self, inquiry_id: str | None, actor: str, action: str, detail: Mapping[str, Any], at: datetime
    ) -> Entry:
        clean = check_detail(actor, detail)
        if not action or len(action) > 40 or "@" in action:
            raise AuditError(f"audit action {action!r} is not a short code")
        if inquiry_id is not None and ("@" in inquiry_id or len(inquiry_id) > 40):
            raise AuditError("audit inquiry_id must be an id")
        with self._sessions.atomic() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            body = _body(seq + 1, at, inquiry_id, actor, action, clean, prev)
            digest = entry_hash(body)
            conn.execute(
                "INSERT INTO audit (seq, at, inquiry_id, actor, action, body, prev_hash, hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (body["seq"], at, inquiry_id, actor, action, canonical(body).decode("utf-8"), prev, digest),
            )
        return _entry_from_json({**body, "hash": digest})

    def put_entry(self, line: Mapping[str, Any]) -> bool:
        """Copy one entry of another log as it is (``store migrate``): True when added, False when
        the same entry is here already; :class:`AuditError` when this seq holds another entry or
        the entry does not follow the chain (the target was used by a bot before the copy)."""
        body = {k: v for k, v in line.items() if k != "hash"}
        digest = str(line["hash"])
        if entry_hash(body) != digest:
            raise AuditError(f"audit entry {body.get('seq')} does not match its hash: not copied")
        entry = _entry_from_json(line)
        with self._sessions.atomic() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            row = conn.execute("SELECT hash FROM audit WHERE seq = %s", (entry.seq,)).fetchone()
            if row is not None:
                if str(row[0]) != digest:
                    raise AuditError(f"the target's audit entry {entry.seq} differs from the source's")
                return False
            before = conn.execute("SELECT hash FROM audit WHERE seq = %s", (entry.seq - 1,)).fetchone()
            expected = str(before[0]) if before else GENESIS
            if entry.prev_hash != expected or (before is None and entry.seq != 1):
                raise AuditError(f"audit entry {entry.seq} does not follow the target's chain")
            conn.execute(
                "INSERT INTO audit (seq, at, inquiry_id, actor, action, body, prev_hash, hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    entry.seq,
                    entry.at,
                    entry.inquiry_id,
                    entry.actor,
                    entry.action,
                    canonical(body).decode("utf-8"),
                    entry.prev_hash,
                    digest,
                ),
            )
        return True

    def record(self, inquiry_id: str, event: Event) -> None:
        """An event recorded on an inquiry (the store's audit sink)."""
        self.append(inquiry_id, _event_actor(event.actor), event.action, _event_detail(event), event.at)

    def _rows(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[tuple[str, str]]:
        after = 0
        while True:
            with self._sessions.conn() as conn:
                rows = conn.execute(
                    f"SELECT seq, body, hash FROM audit WHERE seq > %s {where} ORDER BY seq LIMIT %s",
                    (after, *params, BATCH),
                ).fetchall()
            if not rows:
                return
            after = int(rows[-1][0])
            for r in rows:
                yield str(r[1]), str(r[2])

    def entries(self) -> Iterator[Entry]:
        for body, digest in self._rows():
            yield _entry_from_json({**json.loads(body), "hash": digest})

    def history(self, inquiry_id: str) -> list[Entry]:
        return [
            _entry_from_json({**json.loads(body), "hash": digest})
            for body, digest in self._rows("AND inquiry_id = %s", (inquiry_id,))
        ]

    def head(self) -> tuple[int, str]:
        with self._sessions.conn() as conn:
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def hash_at(self, seq: int) -> str | None:
        """The hash of entry ``seq``, if there is one."""
        with self._sessions.conn() as conn:
            row = conn.execute("SELECT hash FROM audit WHERE seq = %s", (seq,)).fetchone()
        return str(row[0]) if row else None

    def verify(self, anchors: Iterable[tuple[int, str]] = ()) -> VerifyResult:
        """Every hash, the chain and witnessed anchors, read in one snapshot (REPEATABLE READ)."""
        with self._sessions.pool.connection() as conn:
            conn.autocommit = False
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                head_row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                head = (int(head_row[0]), str(head_row[1])) if head_row else None
                with conn.cursor(name="audit_verify") as cur:
                    cur.execute("SELECT body, hash FROM audit ORDER BY seq")
                    lines = (_line(str(b), str(h)) for b, h in cur)
                    result = _verify_open(lines, head, False, "audit head", list(anchors))
            finally:
                conn.rollback()
                conn.isolation_level = None
                conn.autocommit = True
        return result


def _line(body: str, digest: str) -> bytes:
    """The entry as the file log's line (what :func:`_verify_open` checks)."""
    try:
        return canonical({**json.loads(body), "hash": digest}) + b"\n"
    except ValueError:
        return b"{unreadable}\n"


def _event_actor(actor: str) -> str:
    return actor if "@" not in actor and len(actor) <= 60 else f"ref:{ref(actor)}"


def _event_detail(e: Event) -> dict[str, str]:
    """Short codes stay readable; free text (notes, reasons naming people) is kept as a ref."""
    text = e.detail or ""
    if e.action in ("note",) or "@" in text or len(text) > 120:
        return {"ref": ref(text)} if text else {}
    return {"detail": text} if text else {}
