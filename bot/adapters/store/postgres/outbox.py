"""The outbox in PostgreSQL (:class:`bot.desk.ports.OutboxRepo`), safe for several instances.

One row per live key (``state`` pending or done; dead letters kept apart from the key's
uniqueness). :meth:`PgOutbox.due` *claims* what it returns: due rows are taken with
``FOR UPDATE SKIP LOCKED`` and leased to this instance (``leased_by``, ``leased_until``), so
another instance asking at the same moment gets other rows, and nobody else sees a claimed row
until the lease runs out (its instance died mid-delivery) or it is retried, done or dead.
The instance that holds a lease still sees its rows as due (the desk may ask again before it
finishes), exactly like the single-process backends. :meth:`PgOutbox.renew` extends the leases
this instance still holds (the delivery worker's heartbeat, :mod:`bot.desk.leases`), so a
delivery slower than the lease keeps its rows.

Finishing needs the claim: :meth:`PgOutbox.done`, :meth:`PgOutbox.retry` and
:meth:`PgOutbox.give_up` act only on a row this instance leased, or one nobody holds (never
leased, or its holder's lease ran out). When a delivery outlasted the lease and another
instance has claimed the row since, the late finish changes nothing and is logged: the row
belongs to the new holder, which finishes it (its item is ``tried`` when the late delivery
marked it so, and the desk's tried-item check then finds the post instead of posting twice).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.adapters.store.postgres.jsonb import jsonb
from bot.adapters.store.postgres.jsonb import text as safe_text
from bot.adapters.store.postgres.session import Sessions
from bot.desk import ports
from bot.desk.ports import OutboxItem

log = logging.getLogger(__name__)

#: A row this instance may finish: leased by it, by nobody, or by someone whose lease ran out.
_MINE = "(leased_by IS NULL OR leased_by = %(me)s OR leased_until <= %(wall)s)"

#: How long a claimed item stays hidden from other instances unless its holder renews it.
LEASE_S = ports.LEASE_S

OUTBOX_COLUMNS = (
    "key, kind, inquiry_id, payload, attempts, not_before, created, last_error, tried, low, once, dead_at, id"
)
_RETURNING = ", ".join("o." + c.strip() for c in OUTBOX_COLUMNS.split(","))


def instance_name() -> str:
    """Who holds a lease: host, process and a random part (two stores in one process differ)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        key=row[0],
        kind=row[1],
        inquiry_id=row[2],
        payload=dict(row[3] or {}),
        attempts=int(row[4]),
        not_before=float(row[5]),
        last_error=row[7],
        tried=bool(row[8]),
        low=bool(row[9]),
    )


class PgOutbox:
    def __init__(self, sessions: Sessions, *, lease_s: float = LEASE_S) -> None:
        self._sessions = sessions
        self.instance = instance_name()
        self.lease_s = lease_s
        self._done_count: int | None = None  # done keys remembered, as last counted (+ ours since)

    def add(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any],
        now: datetime,
        *,
        once: bool = True,
        low: bool = False,
    ) -> bool:
        at = now.timestamp()
        with self._sessions.atomic() as conn:
            row = conn.execute(
                "SELECT state, low FROM outbox WHERE key = %s AND state <> 'dead' FOR UPDATE", (key,)
            ).fetchone()
            if row is not None:
                state, was_low = row
                if state == "pending":
                    if was_low and not low:
                        conn.execute(
                            "UPDATE outbox SET low = false WHERE key = %s AND state = 'pending'", (key,)
                        )
                    return False
                if once:
                    return False  # done, and owed once
                # Done before, owed again as a refresh: pending again; done_at stays, so the
                # key is still remembered as delivered once this one is done.
                conn.execute(
                    "UPDATE outbox SET state = 'pending', kind = %s, inquiry_id = %s, payload = %s,"
                    " attempts = 0, not_before = %s, created = %s, last_error = '', tried = false,"
                    " low = %s, once = false, leased_by = NULL, leased_until = NULL"
                    " WHERE key = %s AND state = 'done'",
                    (kind, inquiry_id, jsonb(payload or {}), at, at, low, key),
                )
                return True
            inserted = conn.execute(
                "INSERT INTO outbox (key, kind, inquiry_id, payload, not_before, created, once, low)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key) WHERE state <> 'dead' DO NOTHING RETURNING id",
                (key, kind, inquiry_id, jsonb(payload or {}), at, at, once, low),
            ).fetchone()
            return inserted is not None

    def due(self, cutoff: datetime, limit: int = 50) -> list[OutboxItem]:
        wall = time.time()
        with self._sessions.atomic() as conn:
            rows = conn.execute(
                f"UPDATE outbox o SET leased_by = %(me)s, leased_until = %(until)s"
                f" FROM (SELECT id FROM outbox WHERE state = 'pending' AND not_before <= %(cutoff)s"
                f"   AND (leased_until IS NULL OR leased_until <= %(wall)s OR leased_by = %(me)s)"
                f"   ORDER BY low, not_before, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) c"
                f" WHERE o.id = c.id RETURNING {_RETURNING}",
                {
                    "me": self.instance,
                    "until": wall + self.lease_s,
                    "cutoff": cutoff.timestamp(),
                    "wall": wall,
                    "limit": limit,
                },
            ).fetchall()
        rows.sort(key=lambda r: (bool(r[9]), float(r[5]), int(r[12])))
        return [_item(r) for r in rows]

    def renew(self, keys: Sequence[str]) -> set[str]:
        """Extend this instance's leases on ``keys``; the keys it still holds. A row whose lease
        ran out but that nobody claimed since is still ours (``leased_by``); the row lock orders
        a renewal and another instance's claim, so exactly one of them wins."""
        if not keys:
            return set()
        wall = time.time()
        with self._sessions.atomic() as conn:
            rows = conn.execute(
                "UPDATE outbox SET leased_until = greatest(leased_until, %(until)s)"
                " WHERE key = ANY(%(keys)s) AND state = 'pending' AND leased_by = %(me)s RETURNING key",
                {"until": wall + self.lease_s, "keys": list(keys), "me": self.instance},
            ).fetchall()
        return {str(r[0]) for r in rows}

    def next_due_at(self) -> float | None:
        with self._sessions.conn() as conn:
            row = conn.execute(
                "SELECT min(CASE WHEN leased_by IS DISTINCT FROM %s AND leased_until IS NOT NULL"
                " THEN greatest(not_before, leased_until) ELSE not_before END)"
                " FROM outbox WHERE state = 'pending'",
                (self.instance,),
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def done(self, key: str, now: datetime) -> None:
        with self._sessions.atomic() as conn:
            row = conn.execute(
                "SELECT once, done_at, " + _MINE + " FROM outbox WHERE key = %(key)s AND state = 'pending'"
                " FOR UPDATE",
                {"key": key, **self._me()},
            ).fetchone()
            if row is None:
                return
            once, done_before, mine = row
            if not mine:
                self._lost(key, "done")
                return
            if once:
                conn.execute(
                    "UPDATE outbox SET state = 'done', done_at = %s, leased_by = NULL, leased_until = NULL"
                    " WHERE key = %s AND state = 'pending'",
                    (now.timestamp(), key),
                )
            elif done_before is not None:  # a refresh of a key delivered once before: still done
                conn.execute(
                    "UPDATE outbox SET state = 'done', once = true, leased_by = NULL, leased_until = NULL"
                    " WHERE key = %s AND state = 'pending'",
                    (key,),
                )
            else:
                conn.execute("DELETE FROM outbox WHERE key = %s AND state = 'pending'", (key,))
        if self._done_count is None or self._done_count >= ports.DONE_KEEP:
            self.prune_done(now)  # counts them; otherwise one more is counted here, no query
        else:
            self._done_count += 1

    def prune_done(self, now: datetime) -> int:
        """Forget done keys older than DONE_TTL, once more than DONE_KEEP are remembered. The
        count is a query on the first delivery and whenever the running tally (this instance's
        deliveries added to it) reaches DONE_KEEP, so a delivery costs no count."""
        with self._sessions.atomic() as conn:
            row = conn.execute("SELECT count(*) FROM outbox WHERE state = 'done'").fetchone()
            self._done_count = int(row[0]) if row else 0
            if self._done_count <= ports.DONE_KEEP:
                return 0
            cur = conn.execute(
                "DELETE FROM outbox WHERE state = 'done' AND done_at < %s",
                ((now - ports.DONE_TTL).timestamp(),),
            )
            self._done_count -= cur.rowcount
            return cur.rowcount

    def mark_tried(self, key: str) -> None:
        with self._sessions.atomic() as conn:
            conn.execute("UPDATE outbox SET tried = true WHERE key = %s AND state = 'pending'", (key,))

    def retry(self, key: str, at: datetime, error: str) -> None:
        with self._sessions.atomic() as conn:
            cur = conn.execute(
                "UPDATE outbox SET not_before = %(at)s, attempts = attempts + 1, last_error = %(error)s,"
                " leased_by = NULL, leased_until = NULL"
                " WHERE key = %(key)s AND state = 'pending' AND " + _MINE,
                {"at": at.timestamp(), "error": safe_text(error[:300]), "key": key, **self._me()},
            )
            if cur.rowcount == 0:
                self._lost(key, "retry", conn)

    def give_up(self, key: str, now: datetime, error: str) -> None:
        with self._sessions.atomic() as conn:
            cur = conn.execute(
                "UPDATE outbox SET state = 'dead', dead_at = %(now)s, last_error = %(error)s,"
                " leased_by = NULL, leased_until = NULL"
                " WHERE key = %(key)s AND state = 'pending' AND " + _MINE,
                {"now": now.timestamp(), "error": safe_text(error[:300]), "key": key, **self._me()},
            )
            if cur.rowcount == 0:
                self._lost(key, "give_up", conn)

    def _me(self) -> dict[str, Any]:
        return {"me": self.instance, "wall": time.time()}

    def _lost(self, key: str, what: str, conn: Any = None) -> None:
        """A finish refused: log it when another instance holds the row (a missing row, or one
        no longer pending, is simply nothing to do, as on the other backends)."""
        if conn is not None:
            row = conn.execute("SELECT 1 FROM outbox WHERE key = %s AND state = 'pending'", (key,)).fetchone()
            if row is None:
                return
        log.warning(
            "outbox %s of %s skipped: its delivery outlasted the %.0f s lease and another instance"
            " claimed it since; that instance finishes it",
            what,
            key,
            self.lease_s,
        )

    def pending_count(self) -> int:
        with self._sessions.conn() as conn:
            row = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(row[0]) if row else 0

    def dead(self) -> list[dict[str, Any]]:
        with self._sessions.conn() as conn:
            rows = conn.execute(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'dead' ORDER BY id"
            ).fetchall()
        return [dead_doc(r) for r in rows]

    def reload(self) -> None:
        """Nothing is cached: every call reads the database."""


def pending_doc(row: tuple[Any, ...]) -> dict[str, Any]:
    """A pending row as the TinyDB outbox stores it (table ``outbox``)."""
    return {
        "key": row[0],
        "kind": row[1],
        "inquiry_id": row[2],
        "payload": dict(row[3] or {}),
        "attempts": int(row[4]),
        "not_before": float(row[5]),
        "created": float(row[6]),
        "last_error": row[7],
        "tried": bool(row[8]),
        "low": bool(row[9]),
        "once": bool(row[10]),
    }


def dead_doc(row: tuple[Any, ...]) -> dict[str, Any]:
    """A dead letter as the TinyDB outbox stores it (table ``outbox_dead``)."""
    return {**pending_doc(row), "dead_at": float(row[11]) if row[11] is not None else None}
