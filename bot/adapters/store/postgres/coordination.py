"""Several instances on one PostgreSQL desk: :class:`bot.desk.ports.Coordination`.

- Leadership (:meth:`PgCoordination.lead`): ``pg_try_advisory_lock`` (session level) on a
  connection of its own, opened for that and nothing else. The lock lives as long as that
  connection: an instance that dies (even SIGKILLed) drops its connection, the server drops its
  locks, and the next ``lead`` call of another instance takes the role. :meth:`leading` asks the
  connection, so a holder whose connection broke learns it lost the role (and stops acting).
- Once per period (:meth:`once`): a row in ``jobs_done`` inserted with ``ON CONFLICT DO NOTHING``.
- Pacing (:meth:`pace`): one upsert moves the channel's ``post_pacing.next_at`` on by the interval
  (database clock, so host clocks need not agree) and returns how long to wait for the slot.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import psycopg
from psycopg.rows import TupleRow

from bot.adapters.store.postgres.outbox import instance_name
from bot.adapters.store.postgres.pool import CONNECT_TIMEOUT_S, redact_url
from bot.adapters.store.postgres.session import Sessions
from bot.core.errors import StoreError

log = logging.getLogger(__name__)

#: The first key of every leadership lock ("iq"); the second is ``hashtext(name)``.
LEAD_CLASS = 0x6971
#: ``jobs_done`` rows older than this are forgotten (periods are days at most).
JOBS_KEEP = timedelta(days=30)
PRUNE_EVERY = 200
#: Keepalives the server applies to the leadership session (seconds, probes).
SERVER_KEEPALIVE = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"


class PgCoordination:
    """See the module docstring. Thread-safe."""

    shared = True

    def __init__(self, url: str, sessions: Sessions) -> None:
        self.url = url
        self.sessions = sessions
        self.instance = instance_name()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._held: set[str] = set()
        self._once_calls = 0

    # ------------------------------------------------------------ leadership
    def _connection(self) -> psycopg.Connection[TupleRow]:
        """The leadership connection (caller holds ``_lock``); reopened after a loss."""
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            self._conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=int(CONNECT_TIMEOUT_S),
                application_name="inquiry-bot lead",
                # The server's side too: a vanished host's session (and its locks) ends in ~11 s.
                options=SERVER_KEEPALIVE,
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
        except psycopg.Error as e:
            raise StoreError(f"could not connect to PostgreSQL at {redact_url(self.url)}: {e}") from e
        return self._conn

    def _lost(self, why: Exception) -> None:
        """The leadership connection broke: every role it held is gone (caller holds ``_lock``)."""
        if self._held:
            log.warning(
                "lost the leadership connection (%s): giving up %s", type(why).__name__, sorted(self._held)
            )
        self._held.clear()
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def lead(self, name: str) -> bool:
        with self._lock:
            try:
                conn = self._connection()
                if name in self._held:
                    conn.execute("SELECT 1")  # still connected: still holding it
                    return True
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LEAD_CLASS, name)
                ).fetchone()
            except (psycopg.Error, StoreError) as e:
                self._lost(e)
                return False
            if row is not None and row[0]:
                self._held.add(name)
                log.info("leader: this instance leads %s", name)
                return True
            return False

    def leading(self, name: str) -> bool:
        with self._lock:
            if name not in self._held or self._conn is None:
                return False
            try:
                self._conn.execute("SELECT 1")
            except psycopg.Error as e:
                self._lost(e)
                return False
            return True

    def resign(self, name: str) -> None:
        with self._lock:
            if name not in self._held:
                return
            self._held.discard(name)
            try:
                if self._conn is not None:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (LEAD_CLASS, name))
            except psycopg.Error as e:
                self._lost(e)

    # ---------------------------------------------------------------- once
    def once(self, job: str, period: str) -> bool:
        with self.sessions.atomic() as conn:
            row = conn.execute(
                "INSERT INTO jobs_done (job, period, instance) VALUES (%s, %s, %s)"
                " ON CONFLICT (job, period) DO NOTHING RETURNING 1",
                (job, period, self.instance),
            ).fetchone()
            self._once_calls += 1
            if self._once_calls % PRUNE_EVERY == 0:
                conn.execute(
                    "DELETE FROM jobs_done WHERE at < now() - %s::interval", (f"{JOBS_KEEP.days} days",)
                )
        return row is not None

    # -------------------------------------------------------------- pacing
    def pace(self, channel: str, interval: float) -> float:
        with self.sessions.conn() as conn:
            row = conn.execute(
                "WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)"
                " INSERT INTO post_pacing AS p (channel, next_at)"
                " SELECT %(c)s, now.t + %(i)s FROM now"
                " ON CONFLICT (channel) DO UPDATE"
                " SET next_at = greatest(p.next_at, (SELECT t FROM now)) + %(i)s"
                " RETURNING next_at - %(i)s - (SELECT t FROM now)",
                {"c": channel, "i": float(interval)},
            ).fetchone()
        return max(0.0, float(row[0])) if row is not None else 0.0

    def close(self) -> None:
        with self._lock:
            self._held.clear()
            if self._conn is not None:
                self._conn.close()  # the server drops the session's advisory locks
            self._conn = None
