"""Connections to the PostgreSQL store: one pool per process, shared by the desk's threads.

Connections are in autocommit mode: a single statement commits on its own, and a transaction
is always explicit (``with conn.transaction():``), so no statement leaves an idle transaction
holding locks behind it.
"""

from __future__ import annotations

import time
import weakref
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.core.errors import StoreError

CONNECT_TIMEOUT_S = 10.0


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, ""))


#: How long a call waits for a pooled connection (all busy, or the server unreachable).
WAIT_S = 10.0

#: A connection handed back less than this long ago is lent again without a round trip to check
#: it (HikariCP's ``aliveBypassWindowMs`` idea): the watcher borrows one a dozen times per mail,
#: and checking each time cost a third of its statements. One idle longer is checked, so a
#: connection a server restart broke is still replaced before use.
ALIVE_BYPASS_S = 1.0

_last_used: weakref.WeakKeyDictionary[psycopg.Connection[object], float] = weakref.WeakKeyDictionary()


def note_used(conn: psycopg.Connection[object]) -> None:
    """``conn`` just finished a call that worked (see :data:`ALIVE_BYPASS_S`)."""
    _last_used[conn] = time.monotonic()


def check_connection(conn: psycopg.Connection[object]) -> None:
    """The pool's check before lending ``conn``: skipped when it worked a moment ago."""
    used = _last_used.get(conn)
    if used is not None and time.monotonic() - used < ALIVE_BYPASS_S:
        return
    ConnectionPool.check_connection(conn)


def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 8, name: str = "store", wait_s: float = WAIT_S
) -> ConnectionPool:
    """A started pool on ``url``; :class:`StoreError` (without the password) when the server
    cannot be reached within ``CONNECT_TIMEOUT_S``. One plain connection first: a wrong password
    or database name fails at once instead of after the pool's retries."""
    try:
        psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
    except psycopg.Error as e:
        raise StoreError(f"could not connect to PostgreSQL at {redact_url(url)}: {_first_line(e)}") from e
    pool: ConnectionPool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT_S)},
        name=name,
        open=False,
        check=check_connection,  # a connection broken by a server restart is replaced
        timeout=wait_s,
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except (PoolTimeout, psycopg.Error) as e:
        pool.close()
        raise StoreError(f"could not connect to PostgreSQL at {redact_url(url)}: {e}") from e
    return pool


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
