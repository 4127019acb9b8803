"""Connections to the PostgreSQL store: one pool per process, shared by the desk's threads.

Connections are in autocommit mode: a single statement commits on its own, and a transaction
is always explicit (``with conn.transaction():``), so no statement leaves an idle transaction
holding locks behind it.
"""

from __future__ import annotations

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
        check=ConnectionPool.check_connection,  # a connection broken by a server restart is replaced
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
