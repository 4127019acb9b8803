"""One leader among the instances sharing a PostgreSQL store (issue #15).

Background work that must happen once — watching the mailbox folders (one IMAP watcher per
folder) and the scheduled jobs (SLA ticks, digests, audit anchor, retention, scheduled sends) —
runs on the instance holding the leader lock, a session-level ``pg_try_advisory_lock`` on a
connection of its own. Every instance answers clicks and delivers the outbox (items are claimed
one instance at a time, :mod:`.outbox`).

Takeover: followers try the lock every ``retry_s`` seconds. A leader process that dies closes
its connection and PostgreSQL frees the lock at once; a leader *host* that vanishes is noticed
through TCP keepalives set on both ends (``KEEPALIVE``: about 20 s), so another instance leads
within 30 s and resumes from the mailbox checkpoints in the store. A leader whose lock
connection breaks cannot know whether it still leads, so it stops (``lost`` is set, and the
process exits non-zero for its process manager to restart it as a follower).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow

log = logging.getLogger(__name__)

#: The leader lock ("inqdesk\x04" as a number).
LEADER_LOCK = 0x696E71646573_6B04
#: Keepalive settings: the client's (libpq) and the server's for this session.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 5, "keepalives_count": 3}
SERVER_KEEPALIVE = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"


class Leadership:
    """Wait for the leader lock, then run ``on_acquired`` once; watch the lock's connection."""

    def __init__(self, url: str, *, retry_s: float = 2.0, check_s: float = 2.0) -> None:
        self.url = url
        self.retry_s = retry_s
        self.check_s = check_s
        self.lost = False
        self.leading = threading.Event()
        self._conn: psycopg.Connection[TupleRow] | None = None

    def _connect(self) -> psycopg.Connection[TupleRow]:
        conninfo = make_conninfo(self.url, connect_timeout=10, options=SERVER_KEEPALIVE, **KEEPALIVE)
        return psycopg.connect(conninfo, autocommit=True)

    def _try_lock(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error as e:
            log.warning("leader lock: PostgreSQL unavailable (%s); trying again", type(e).__name__)
            self._close()
            return False

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def run(self, stop: threading.Event, on_acquired: Callable[[], None]) -> None:
        """Block until this instance leads (or ``stop``); then ``on_acquired()``; then keep
        checking the lock's connection until ``stop``, setting ``lost`` and ``stop`` if it breaks."""
        try:
            announced = False
            while not stop.is_set():
                if self._try_lock():
                    break
                if not announced:
                    log.info("another instance leads: this one answers Slack and delivers the outbox")
                    announced = True
                stop.wait(self.retry_s)
            if stop.is_set():
                return
            log.info("leader: this instance watches the mailbox and runs the scheduled jobs")
            self.leading.set()
            on_acquired()
            while not stop.wait(self.check_s):
                try:
                    assert self._conn is not None
                    self._conn.execute("SELECT 1")
                except (psycopg.Error, AssertionError):
                    log.error("lost the leader lock's connection: stopping so another instance leads")
                    self.lost = True
                    stop.set()
        finally:
            self._close()  # frees the lock (a session lock ends with its connection)

    def start(self, stop: threading.Event, on_acquired: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop, on_acquired), name="leader", daemon=True)
        thread.start()
        return thread
