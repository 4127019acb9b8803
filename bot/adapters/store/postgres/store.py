"""The PostgreSQL store: :class:`bot.desk.ports.Store` for several instances on one database.

Nothing is cached between calls: every instance reads what the others wrote. Opening the store
applies pending migrations (:mod:`.migrate`) and loads nothing else, whatever the number of
inquiries; look-ups (message ids, threads, buyers, open inquiries) are indexed queries.
Inquiries are stored as their TinyDB document (:mod:`bot.adapters.store.codec`) in a ``jsonb``
column, with the columns queries need derived from it on every write. ``update`` locks the
inquiry's row (``SELECT … FOR UPDATE``) for its read-modify-write, so two instances clicking
the same card take turns, and the second sees the first's change. Transactions and isolation:
:mod:`.session`. Raw mail is a ``bytea`` row, so it is on no single host's disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.store.codec import inquiry_from_doc, inquiry_to_doc
from bot.adapters.store.postgres.drafts import PgDrafts
from bot.adapters.store.postgres.jsonb import jsonb
from bot.adapters.store.postgres.jsonb import text as safe_text
from bot.adapters.store.postgres.migrate import migrate
from bot.adapters.store.postgres.outbox import PgOutbox
from bot.adapters.store.postgres.pool import WAIT_S, open_pool
from bot.adapters.store.postgres.records import delete_record, outbox_values, record_rows, replace_record
from bot.adapters.store.postgres.session import Conn, Sessions
from bot.core.errors import NotFound, StoreError
from bot.core.models import Inquiry, Status, Tier
from bot.core.prefs import MemberPrefs
from bot.desk.ports import (
    AuditSink,
    OpenQuery,
    RecordDecision,
    Summary,
    may_owe_ping,
    sla_settled,
    summarize,
)
from bot.sla.followup import FollowupPolicy, cycle_tier, last_reminder, sent_index

if TYPE_CHECKING:
    from bot.desk.ports import Store

BATCH = 500  # inquiries read per query when walking all of them

_SUMMARY_COLUMNS = (
    "id::text, status, owner, is_inquiry, extract(epoch FROM created_at),"
    " extract(epoch FROM sla_started_at), extract(epoch FROM answered_at),"
    " buyer_addr, subject_key, subject, market, tier"
)


#: The SLA tick's read (:meth:`PostgresStore.due_candidates`): one branch per partial index of
#: migration 0004, each a range scan of exactly the rows its index holds. Parameters: the two
#: times, the untiered default, then the last reminder of tiers A, B and C.
DUE_CANDIDATES = (
    "SELECT id, doc, sla_settled, fu_sent, fu_tier FROM inquiries"
    " WHERE is_open AND is_inquiry AND sla_started_at IS NOT NULL"
    " AND NOT sla_settled AND sla_started_at <= %s"
    " UNION ALL SELECT id, doc, sla_settled, fu_sent, fu_tier FROM inquiries"
    " WHERE is_open AND is_inquiry AND sla_started_at IS NULL"
    " AND answered_at IS NOT NULL AND answered_at <= %s"
    " AND fu_sent < CASE coalesce(fu_tier, %s) WHEN 'A' THEN %s WHEN 'B' THEN %s ELSE %s END"
    " ORDER BY id"
)
_NO_END = 2**31 - 1  # reminders that never stop: every fu_sent is below it


def derived_columns(inq: Inquiry) -> tuple[bool, int, str | None]:
    """The columns of migration 0004 (sla_settled, fu_sent, fu_tier) for this inquiry."""
    tier = cycle_tier(inq)
    return sla_settled(inq), sent_index(inq), tier.value if tier else None


def _ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _int_id(inq_id: str) -> int | None:
    return int(inq_id) if inq_id.isdigit() and len(inq_id) < 19 else None


_BUYER_DOMAINS = """
WITH RECURSIVE d(v) AS (
    SELECT min(buyer_domain) FROM inquiries WHERE is_inquiry AND buyer_domain <> ''
    UNION ALL
    SELECT (SELECT min(buyer_domain) FROM inquiries
            WHERE is_inquiry AND buyer_domain <> '' AND buyer_domain > d.v)
    FROM d WHERE d.v IS NOT NULL
)
SELECT v FROM d WHERE v IS NOT NULL
"""


#: :class:`OpenQuery` orders as SQL (the partial indexes of migration 0005 serve them).
_OPEN_ORDER_SQL = {
    "id": "id",
    "waiting": "sla_started_at, id",
    "created": "created_at, id",
    "newest": "created_at DESC, id",
}


#: "Open" by the status, written as migration 0005's inquiries_open_waiting predicate says it.
_OPEN_STATUS = "status NOT IN (" + ", ".join(f"'{s.value}'" for s in Status if s.closed) + ")"


def open_conditions(q: OpenQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of :meth:`PostgresStore.open_where` and ``count_open`` for ``q`` and its
    parameters: the columns where the condition is one, the document for tier and backlog."""
    # Waiting rows: "open" said by the status, as inquiries_open_waiting's predicate says it.
    waiting = q.waiting or q.waiting_before is not None
    where = ["is_inquiry", _OPEN_STATUS] if waiting else ["is_open", "is_inquiry"]
    params: list[Any] = []
    if q.owner is not None:
        where.append("owner = %s")
        params.append(safe_text(q.owner))
    if q.unclaimed:
        where.append("owner IS NULL")
    if q.waiting is not None:
        where.append("sla_started_at IS NOT NULL" if q.waiting else "sla_started_at IS NULL")
    if q.waiting_before is not None:
        where.append("sla_started_at <= %s")
        params.append(q.waiting_before)
    if q.market is not None:
        where.append("market = %s")
        params.append(q.market)
    if q.tier is not None:  # the inquiry's tier, else its triage's (only in the document)
        where.append("coalesce(tier, nullif(doc #>> '{triage,tier}', '')) = %s")
        params.append(q.tier)
    if q.backlog:  # Python truthiness of the extra value and of card_ts, as open_matches
        where.append("coalesce(doc #>> '{extra,backlog}', '') <> '' AND coalesce(doc ->> 'card_ts', '') = ''")
    return " AND ".join(where), params


class PostgresStore:
    """The store on PostgreSQL (see the module docstring). Thread-safe."""

    rolls_back = True

    def __init__(
        self,
        url: str,
        *,
        audit: AuditSink | None = None,
        min_size: int = 1,
        max_size: int = 16,
        wait_s: float = WAIT_S,
    ) -> None:
        self.url = url
        self.pool = open_pool(url, min_size=min_size, max_size=max_size, wait_s=wait_s)
        try:
            with self.pool.connection() as conn:
                migrate(conn)
        except BaseException:
            self.pool.close()
            raise
        self.sessions = Sessions(self.pool)
        self.audit = audit
        self._outbox = PgOutbox(self.sessions)
        self._drafts = PgDrafts(self.sessions)
        self._issued = 0  # the highest id next_id() returned (add() skips setval up to it)

    # ------------------------------------------------------------ the store
    @property
    def outbox(self) -> PgOutbox:
        return self._outbox

    @property
    def drafts(self) -> PgDrafts:
        return self._drafts

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return _no_value(self.sessions.transaction())

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Group commit: this thread's writes inside commit without waiting for the disk, and
        the end waits for one flush that makes them all durable (see Sessions.group_commit)."""
        return self.sessions.group_commit()

    def close(self) -> None:
        self.pool.close()

    # ------------------------------------------------------------- inquiries
    def next_id(self) -> str:
        with self.sessions.conn() as conn:
            row = conn.execute("SELECT nextval('inquiry_ids')").fetchone()
        assert row is not None
        # The sequence is at or past every id it handed out: add() need not move it for those.
        self._issued = max(self._issued, int(row[0]))
        return str(row[0])

    def _write(self, conn: Conn, inq: Inquiry, old: Inquiry | None) -> bool:
        """Upsert ``inq`` (its row, new message ids, new events and their audit entries); True
        when the row was new."""
        inq_id = _int_id(inq.id)
        if inq_id is None:
            raise StoreError(f"inquiry id {inq.id!r} is not a number")
        s = summarize(inq)
        inserted = conn.execute(
            "INSERT INTO inquiries (id, doc, status, lane, is_inquiry, is_open, owner, buyer_addr,"
            " subject_key, subject, market, tier, created_at, sla_started_at, answered_at, sla_settled,"
            " fu_sent, fu_tier, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " clock_timestamp())"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, status = excluded.status,"
            " lane = excluded.lane, is_inquiry = excluded.is_inquiry, is_open = excluded.is_open,"
            " owner = excluded.owner, buyer_addr = excluded.buyer_addr,"
            " subject_key = excluded.subject_key, subject = excluded.subject, market = excluded.market,"
            " tier = excluded.tier, created_at = excluded.created_at,"
            " sla_started_at = excluded.sla_started_at, answered_at = excluded.answered_at,"
            " sla_settled = excluded.sla_settled, fu_sent = excluded.fu_sent, fu_tier = excluded.fu_tier,"
            " updated_at = excluded.updated_at"
            " RETURNING (xmax = 0)",  # no row was replaced: an insert
            (
                inq_id,
                jsonb(inquiry_to_doc(inq)),
                s.status,
                inq.triage.lane.value,
                s.is_inquiry,
                s.is_inquiry and s.open,
                safe_text(s.owner) if s.owner is not None else None,
                safe_text(s.buyer_addr),
                safe_text(s.subject_key),
                safe_text(s.subject),
                s.market,
                s.tier,
                inq.created_at,
                inq.sla_started_at,
                inq.answered_at,
                *derived_columns(inq),
            ),
        ).fetchone()
        old_ids = {m.message_id for m in old.messages} if old is not None else set()
        new_ids = [safe_text(m.message_id) for m in inq.messages if m.message_id not in old_ids]
        if new_ids:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO inquiry_messages (message_id, inquiry_id) VALUES (%s, %s)"
                    " ON CONFLICT (message_id) DO UPDATE SET inquiry_id = excluded.inquiry_id",
                    [(mid, inq_id) for mid in dict.fromkeys(new_ids)],
                )
        first_new = len(old.events) if old is not None else 0
        if len(inq.events) > first_new:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events (inquiry_id, n, at, actor, action, detail)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (inquiry_id, n) DO UPDATE SET"
                    " at = excluded.at, actor = excluded.actor, action = excluded.action,"
                    " detail = excluded.detail",
                    [
                        (inq_id, n, e.at, safe_text(e.actor), safe_text(e.action), safe_text(e.detail))
                        for n, e in enumerate(inq.events)
                        if n >= first_new
                    ],
                )
            if self.audit is not None:
                for e in inq.events[first_new:]:
                    self.audit.record(inq.id, e)
        return bool(inserted and inserted[0])

    def add(self, inq: Inquiry) -> Inquiry:
        with self.sessions.atomic() as conn:
            if not self._write(conn, inq, None):  # replaced: its message ids that went must stop resolving
                conn.execute(
                    "DELETE FROM inquiry_messages WHERE inquiry_id = %s AND NOT message_id = ANY(%s)",
                    (int(inq.id), [m.message_id for m in inq.messages]),
                )
                conn.execute(
                    "DELETE FROM events WHERE inquiry_id = %s AND n >= %s", (int(inq.id), len(inq.events))
                )
            if int(inq.id) > self._issued:  # an id from elsewhere (a copy): the sequence passes it
                conn.execute(
                    "SELECT setval('inquiry_ids', greatest(%s, (SELECT last_value FROM inquiry_ids)))",
                    (int(inq.id),),
                )
        return inq

    def _get(self, conn: Conn, inq_id: str, *, lock: bool = False) -> Inquiry | None:
        key = _int_id(inq_id)
        if key is None:
            return None
        row = conn.execute(
            "SELECT doc FROM inquiries WHERE id = %s" + (" FOR UPDATE" if lock else ""), (key,)
        ).fetchone()
        return inquiry_from_doc(dict(row[0])) if row else None

    def get(self, inq_id: str) -> Inquiry | None:
        with self.sessions.conn() as conn:
            return self._get(conn, inq_id)

    def require(self, inq_id: str) -> Inquiry:
        inq = self.get(inq_id)
        if inq is None:
            raise NotFound(f"no inquiry {inq_id}")
        return inq

    def update(self, inq_id: str, change: Callable[[Inquiry], Inquiry]) -> Inquiry:
        with self.sessions.atomic() as conn:
            current = self._get(conn, inq_id, lock=True)
            if current is None:
                raise NotFound(f"no inquiry {inq_id}")
            new = change(current)
            if new is current or new == current:
                return current
            if new.id != current.id:
                raise StoreError(f"an update of inquiry {inq_id} may not change its id")
            self._write(conn, new, current)
            gone = {m.message_id for m in current.messages} - {m.message_id for m in new.messages}
            if gone:
                conn.execute(
                    "DELETE FROM inquiry_messages WHERE inquiry_id = %s AND message_id = ANY(%s)",
                    (int(inq_id), sorted(gone)),
                )
            return new

    def set_fields(self, inq_id: str, **fields: Any) -> Inquiry:
        return self.update(inq_id, lambda inq: replace(inq, **fields))

    def _one_id(self, sql: str, params: tuple[Any, ...]) -> str | None:
        with self.sessions.conn() as conn:
            row = conn.execute(sql, params).fetchone()
        return str(row[0]) if row else None

    def find_by_message_id(self, message_id: str) -> str | None:
        return self._one_id("SELECT inquiry_id FROM inquiry_messages WHERE message_id = %s", (message_id,))

    def find_thread(self, buyer_addr: str, subject_key: str) -> str | None:
        if not buyer_addr or not subject_key:
            return None
        return self._one_id(
            "SELECT id FROM inquiries WHERE buyer_addr = %s AND subject_key = %s"
            " ORDER BY updated_at DESC, id DESC LIMIT 1",
            (buyer_addr, subject_key),
        )

    def latest_of_buyer(self, buyer_addr: str) -> str | None:
        if not buyer_addr:
            return None
        return self._one_id(
            "SELECT id FROM inquiries WHERE buyer_addr = %s AND is_inquiry ORDER BY id DESC LIMIT 1",
            (buyer_addr,),
        )

    def latest_inquiry_of_buyer(self, buyer_addr: str) -> Inquiry | None:
        if not buyer_addr:
            return None
        with self.sessions.conn() as conn:
            row = conn.execute(
                "SELECT doc FROM inquiries WHERE buyer_addr = %s AND is_inquiry ORDER BY id DESC LIMIT 1",
                (buyer_addr,),
            ).fetchone()
        return inquiry_from_doc(dict(row[0])) if row else None

    def summaries(self) -> list[Summary]:
        with self.sessions.conn() as conn:
            rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM inquiries ORDER BY id").fetchall()
        return [
            Summary(
                id=r[0],
                status=r[1],
                owner=r[2],
                is_inquiry=bool(r[3]),
                created_at=float(r[4]),
                sla_started_at=None if r[5] is None else float(r[5]),
                answered_at=None if r[6] is None else float(r[6]),
                buyer_addr=r[7],
                subject_key=r[8],
                subject=r[9],
                market=r[10],
                tier=r[11],
            )
            for r in rows
        ]

    def buyer_domains(self) -> set[str]:
        # A skip scan over inquiries_buyer_domain: one index probe per distinct domain, so the
        # cost follows the number of domains, not of inquiries (PostgreSQL has no native one).
        with self.sessions.conn() as conn:
            rows = conn.execute(_BUYER_DOMAINS).fetchall()
        return {str(r[0]) for r in rows}

    def count(self) -> int:
        with self.sessions.conn() as conn:
            row = conn.execute("SELECT count(*) FROM inquiries").fetchone()
        return int(row[0]) if row else 0

    def load_many(self, ids: Iterable[str]) -> list[Inquiry]:
        keys = sorted({k for k in (_int_id(i) for i in ids) if k is not None})
        out: list[Inquiry] = []
        with self.sessions.conn() as conn:
            for start in range(0, len(keys), BATCH):
                rows = conn.execute(
                    "SELECT doc FROM inquiries WHERE id = ANY(%s) ORDER BY id", (keys[start : start + BATCH],)
                ).fetchall()
                out.extend(inquiry_from_doc(dict(r[0])) for r in rows)
        return out

    def open_inquiries(self) -> list[Inquiry]:
        with self.sessions.conn() as conn:
            rows = conn.execute(
                "SELECT doc FROM inquiries WHERE is_open AND is_inquiry ORDER BY id"
            ).fetchall()
        return [inquiry_from_doc(dict(r[0])) for r in rows]

    def open_where(self, q: OpenQuery) -> list[Inquiry]:
        """One query over the open rows (partial indexes of migrations 0001 and 0005): only the
        rows of the page are read and decoded."""
        where, params = open_conditions(q)
        sql = f"SELECT doc FROM inquiries WHERE {where} ORDER BY {_OPEN_ORDER_SQL[q.order]}"
        if q.limit is not None:
            sql += " LIMIT %s"
            params.append(q.limit)
        if q.offset:
            sql += " OFFSET %s"
            params.append(q.offset)
        with self.sessions.conn() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [inquiry_from_doc(dict(r[0])) for r in rows]

    def count_open(self, q: OpenQuery) -> dict[str | None, int]:
        where, params = open_conditions(q)
        with self.sessions.conn() as conn:
            rows = conn.execute(
                f"SELECT owner, count(*) FROM inquiries WHERE {where} GROUP BY owner", params
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def due_candidates(
        self, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
    ) -> list[Inquiry]:
        """Two partial-index range scans (migration 0004). A row whose derived columns are
        behind its document (written before 0004) is judged by the document and its columns
        are brought up to date, so the next read leaves it out when it owes nothing."""
        last = {t: last_reminder(t, followup) for t in Tier}
        limits = [_NO_END if last[t] is None else last[t] for t in (Tier.A, Tier.B, Tier.C)]
        with self.sessions.conn() as conn:
            rows = conn.execute(
                DUE_CANDIDATES, (waiting_before, answered_before, followup.untiered.value, *limits)
            ).fetchall()
            found: list[Inquiry] = []
            stale: list[tuple[Any, ...]] = []
            for r in rows:
                inq = inquiry_from_doc(dict(r[1]))
                found.append(inq)
                derived = derived_columns(inq)
                if derived != (bool(r[2]), int(r[3]), r[4]):
                    stale.append((*derived, int(r[0]), inq.sla_started_at, inq.answered_at))
            if stale:  # only while the row is still in that cycle (a new message starts another)
                with conn.cursor() as cur:
                    cur.executemany(
                        "UPDATE inquiries SET sla_settled = %s, fu_sent = %s, fu_tier = %s WHERE id = %s"
                        " AND sla_started_at IS NOT DISTINCT FROM %s AND answered_at IS NOT DISTINCT FROM %s",
                        stale,
                    )
        return [i for i in found if may_owe_ping(i, waiting_before, answered_before, followup)]

    def all_inquiries(self) -> Iterator[Inquiry]:
        after = -1
        while True:
            with self.sessions.conn() as conn:
                rows = conn.execute(
                    "SELECT id, doc FROM inquiries WHERE id > %s ORDER BY id LIMIT %s", (after, BATCH)
                ).fetchall()
            if not rows:
                return
            after = int(rows[-1][0])
            for r in rows:
                yield inquiry_from_doc(dict(r[1]))

    def rebuild_index(self) -> None:
        """Re-derive the columns and message ids from the documents (after an erasure)."""
        with self.sessions.transaction() as conn:
            conn.execute("DELETE FROM inquiry_messages")
            conn.execute("DELETE FROM events")
            audit, self.audit = self.audit, None  # re-deriving is not a new event
            try:
                for inq in list(self.all_inquiries()):
                    self._write(conn, inq, None)
            finally:
                self.audit = audit

    # --------------------------------------------------------------- mailbox
    def checkpoint(self, folder: str) -> tuple[int, int] | None:
        with self.sessions.conn() as conn:
            row = conn.execute(
                "SELECT uidvalidity, last_uid FROM checkpoints WHERE folder = %s", (folder,)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self.sessions.atomic() as conn:
            conn.execute(
                "INSERT INTO checkpoints (folder, uidvalidity, last_uid) VALUES (%s, %s, %s)"
                " ON CONFLICT (folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                " last_uid = excluded.last_uid, updated_at = now()",
                (folder, uidvalidity, last_uid),
            )

    # -------------------------------------------------------- key/value meta
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self.sessions.conn() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.sessions.atomic() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, jsonb(value)),
            )

    def meta_keys(self, prefix: str = "") -> list[str]:
        with self.sessions.conn() as conn:
            rows = conn.execute(
                "SELECT key FROM meta WHERE starts_with(key, %s) ORDER BY key", (prefix,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    # ------------------------------------------------------------- learning
    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in ("sender", "domain"):
            raise StoreError(f"unknown reputation kind {kind!r}")
        return kind

    def reputation(self, kind: str, key: str) -> dict[str, Any] | None:
        self._kind(kind)
        if not key:
            return None
        with self.sessions.conn() as conn:
            row = conn.execute(
                "SELECT record FROM reputation WHERE kind = %s AND key = %s", (kind, key)
            ).fetchone()
        return dict(row[0]) if row else None

    def set_reputation(self, kind: str, key: str, record: dict[str, Any]) -> None:
        self._kind(kind)
        if not key:
            return
        clean = {k: v for k, v in record.items() if k != "key"}
        with self.sessions.atomic() as conn:
            conn.execute(
                "INSERT INTO reputation (kind, key, record) VALUES (%s, %s, %s)"
                " ON CONFLICT (kind, key) DO UPDATE SET record = reputation.record || excluded.record",
                (kind, key, jsonb(clean)),
            )

    def text_model(self) -> dict[str, Any] | None:
        with self.sessions.conn() as conn:
            row = conn.execute("SELECT doc FROM text_model WHERE id = 1").fetchone()
        return dict(row[0]) if row else None

    def set_text_model(self, doc: dict[str, Any]) -> None:
        with self.sessions.atomic() as conn:
            conn.execute(
                "INSERT INTO text_model (id, doc) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (jsonb(doc),),
            )

    # -------------------------------------------------------------- members
    def _member_doc(self, table: str, user: str) -> dict[str, Any] | None:
        with self.sessions.conn() as conn:
            row = conn.execute(f"SELECT doc FROM {table} WHERE user_id = %s", (user,)).fetchone()
        return dict(row[0]) if row else None

    def _set_member_doc(self, table: str, user: str, doc: dict[str, Any]) -> None:
        if not user:
            raise StoreError("a member document needs a user id")
        with self.sessions.atomic() as conn:
            conn.execute(
                f"INSERT INTO {table} (user_id, doc) VALUES (%s, %s)"
                f" ON CONFLICT (user_id) DO UPDATE SET doc = {table}.doc || excluded.doc",  # merged
                (user, jsonb({k: v for k, v in doc.items() if k != "user"})),
            )

    def member_prefs(self, user: str) -> MemberPrefs:
        return MemberPrefs.from_doc(self._member_doc("member_prefs", user))

    def set_member_prefs(self, user: str, prefs: MemberPrefs) -> None:
        self._set_member_doc("member_prefs", user, prefs.to_doc())

    def home_state(self, user: str) -> dict[str, Any]:
        return self._member_doc("home_state", user) or {}

    def set_home_state(self, user: str, state: dict[str, Any]) -> None:
        self._set_member_doc("home_state", user, state)

    # ------------------------------------------------------------- raw mail
    @staticmethod
    def _hash(content_hash: str) -> str:
        if not content_hash.isalnum():
            raise StoreError(f"bad content hash {content_hash!r}")
        return content_hash

    def save_raw(self, content_hash: str, raw: bytes) -> None:
        with self.sessions.atomic() as conn:
            conn.execute(  # content-addressed: a copy kept already is the same bytes
                "INSERT INTO raw_mail (sha256, raw) VALUES (%s, %s) ON CONFLICT (sha256) DO NOTHING",
                (self._hash(content_hash), raw),
            )

    def load_raw(self, content_hash: str) -> bytes | None:
        with self.sessions.conn() as conn:
            row = conn.execute(
                "SELECT raw FROM raw_mail WHERE sha256 = %s", (self._hash(content_hash),)
            ).fetchone()
        return bytes(row[0]) if row else None

    def has_raw(self, content_hash: str) -> bool:
        with self.sessions.conn() as conn:
            row = conn.execute(
                "SELECT 1 FROM raw_mail WHERE sha256 = %s", (self._hash(content_hash),)
            ).fetchone()
        return row is not None

    def raw_hashes(self) -> list[str]:
        with self.sessions.conn() as conn:
            return [str(r[0]) for r in conn.execute("SELECT sha256 FROM raw_mail ORDER BY sha256").fetchall()]

    def delete_raw(self, hashes: Iterable[str]) -> int:
        wanted = sorted({self._hash(h) for h in hashes})
        if not wanted:
            return 0
        with self.sessions.atomic() as conn:
            return conn.execute("DELETE FROM raw_mail WHERE sha256 = ANY(%s)", (wanted,)).rowcount

    def raw_label(self, content_hash: str) -> str:
        """The same name as TinyDB's file (an export names the mail the same on both)."""
        return f"mail/{content_hash[:2]}/{self._hash(content_hash)}.eml"

    # -------------------------------------------------------------- records
    def other_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self.sessions.conn() as conn:
            found = [(table, record) for table, _, record in record_rows(conn)]
        yield from found

    def rewrite_records(self, decide: RecordDecision) -> tuple[int, int]:
        removed = replaced = 0
        with self.sessions.transaction() as conn:
            for table, key, record in list(record_rows(conn)):
                new = decide(table, dict(record))
                if new is None:
                    delete_record(conn, table, key)
                    removed += 1
                elif new != record:
                    replace_record(conn, table, key, new)
                    replaced += 1
        return removed, replaced

    # -------------------------------------------------- copying a store in
    def put_inquiries(self, inquiries: Iterable[Inquiry], *, batch: int = BATCH) -> int:
        """Store these inquiries as they are (insert or replace, ids kept, no audit entries: the
        audit chain is copied as it is). For ``store migrate``; safe to repeat."""
        n = 0
        pending: list[Inquiry] = []

        def flush() -> None:
            with self.sessions.atomic() as conn:
                audit, self.audit = self.audit, None
                try:
                    for inq in pending:
                        old = self._get(conn, inq.id, lock=True)
                        self._write(conn, inq, old)
                finally:
                    self.audit = audit
                top = max(int(i.id) for i in pending)
                conn.execute(
                    "SELECT setval('inquiry_ids', greatest(%s, (SELECT last_value FROM inquiry_ids)))", (top,)
                )
            pending.clear()

        for inq in inquiries:
            pending.append(inq)
            n += 1
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        return n

    def put_record(self, table: str, record: dict[str, Any]) -> bool:
        """Store one record of :meth:`other_records`' shape (a TinyDB store's, for ``store
        migrate``): the same key is replaced, so repeating a copy adds nothing. False for a
        table this store does not know."""
        rec = dict(record)
        if table == "outbox":
            with self.sessions.atomic() as conn:
                conn.execute(
                    "INSERT INTO outbox (key, kind, inquiry_id, payload, attempts, not_before, created,"
                    " last_error, tried, low, once) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (key) WHERE state <> 'dead' DO UPDATE SET kind = excluded.kind,"
                    " inquiry_id = excluded.inquiry_id, payload = excluded.payload,"
                    " attempts = excluded.attempts, not_before = excluded.not_before,"
                    " created = excluded.created, last_error = excluded.last_error,"
                    " tried = excluded.tried, low = excluded.low, once = excluded.once, state = 'pending'",
                    outbox_values(rec),
                )
        elif table == "outbox_done":
            at = float(rec.get("at") or 0)
            with self.sessions.atomic() as conn:
                conn.execute(
                    "INSERT INTO outbox (key, kind, not_before, created, state, done_at)"
                    " VALUES (%s, '', %s, %s, 'done', %s) ON CONFLICT (key) WHERE state <> 'dead'"
                    " DO UPDATE SET done_at = greatest(outbox.done_at, excluded.done_at)",
                    (str(rec["key"]), at, at, at),
                )
        elif table == "outbox_dead":
            dead_at = rec.get("dead_at")
            with self.sessions.atomic() as conn:
                conn.execute(
                    "DELETE FROM outbox WHERE state = 'dead' AND key = %s"
                    " AND dead_at IS NOT DISTINCT FROM %s",
                    (str(rec["key"]), dead_at),
                )
                conn.execute(
                    "INSERT INTO outbox (key, kind, inquiry_id, payload, attempts, not_before, created,"
                    " last_error, tried, low, once, state, dead_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'dead', %s)",
                    (*outbox_values(rec), dead_at),
                )
        elif table == "drafts":
            self._drafts.put(rec)
        elif table == "kv":
            self.set_meta(str(rec["key"]), rec.get("value"))
        elif table in ("reputation_sender", "reputation_domain"):
            self.set_reputation(table.removeprefix("reputation_"), str(rec.pop("key")), rec)
        elif table == "text_model":
            self.set_text_model(rec)
        elif table in ("prefs", "home"):
            self._set_member_doc("member_prefs" if table == "prefs" else "home_state", str(rec["user"]), rec)
        else:
            return False
        return True

    def scrub_leftovers(self, mentions: Callable[[bytes], bool]) -> None:
        """No copies outside the tables: deleted rows are PostgreSQL's to vacuum."""


@contextlib.contextmanager
def _no_value(inner: contextlib.AbstractContextManager[Conn]) -> Iterator[None]:
    with inner:
        yield


if TYPE_CHECKING:

    def _is_a_store(store: PostgresStore) -> Store:
        return store  # mypy checks that every port is implemented
