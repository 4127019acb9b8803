"""Keeps the bot's Socket Mode connection to Slack up: first connect, watchdog, reconnects.

slack_sdk's builtin client already reconnects on a dropped WebSocket, a stale ping and a
``disconnect`` envelope, each time on a fresh URL from ``apps.connections.open``. What it does not
do, and :class:`SocketLink` adds:

- at start-up, a refused app token (``invalid_auth``, an ``xoxb-`` given as ``SLACK_APP_TOKEN``…)
  is a configuration error with a clear message, while Slack being down or unreachable is not:
  the mailbox keeps flowing into the store and the link keeps trying (capped backoff);
- a watchdog: when the client reports no live connection (its own reconnect gave up, or failed
  while Slack was down), the handler is closed and a new one built (python-slack-sdk #1379);
- when nothing at all has arrived for ``idle_seconds`` (a link that looks connected but delivers
  nothing, python-slack-sdk #1701, bolt-python #1529), a fresh connection is opened first and
  the old one closed after, so no envelope falls in a gap. On a quiet desk that costs one
  ``apps.connections.open`` per idle period.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from slack_bolt import App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.errors import ConfigError

log = logging.getLogger(__name__)

# apps.connections.open errors that no retry will cure: the operator must change the token.
REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "not_allowed_token_type",
        "account_inactive",
        "token_revoked",
        "no_permission",
    }
)


class Handler(Protocol):
    client: Any

    def connect(self) -> None: ...
    def close(self) -> None: ...


# The builtin client checks its connection every ping interval (Bolt's default: 10 s). When Slack
# closes the socket, the client's own close handler runs while the session still looks alive and
# does not reconnect, so the next check does. Measured on the loopback fake: 9.3-10.1 s without a
# connection after a drop with 10 s, 2.3-3.2 s with 3 s. A pong missing for 4 intervals (12 s)
# also counts as a dead link.
PING_INTERVAL_SECONDS = 3.0


def _builtin(app: App, app_token: str) -> Handler:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler: Handler = SocketModeHandler(app, app_token, ping_interval=PING_INTERVAL_SECONDS)
    return handler


class SocketLink:
    """One Socket Mode connection, kept up until ``stop`` is set."""

    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        watch_seconds: float = 30.0,
        idle_seconds: float = 1800.0,
        max_backoff: float = 60.0,
        factory: Callable[[App, str], Handler] = _builtin,
    ) -> None:
        self.app = app
        self.app_token = app_token
        self.watch_seconds = watch_seconds
        self.idle_seconds = idle_seconds
        self.last_seen = time.monotonic()  # anything from Slack on the live link: hello, envelopes
        self.max_backoff = max_backoff
        self.factory = factory
        self.handler: Handler | None = None
        self.connects = 0  # handlers built and connected (1 after a clean start)

    def start(self) -> bool:
        """Connect once; ``False`` when Slack is unavailable (``run`` keeps trying).

        Raises :class:`ConfigError` when Slack refuses the app token."""
        handler = self._connect()
        self.handler = handler
        return handler is not None

    def _seen(self, *args: object) -> None:
        self.last_seen = time.monotonic()

    def _connect(self) -> Handler | None:
        """A new connected handler, or None when Slack is unavailable (ConfigError if refused)."""
        handler = self.factory(self.app, self.app_token)
        listeners = getattr(handler.client, "message_listeners", None)
        if isinstance(listeners, list):
            listeners.append(self._seen)
        try:
            handler.connect()
        except SlackApiError as e:
            self._discard(handler)
            error = str(e.response.get("error", "")) if hasattr(e.response, "get") else ""
            if error in REFUSED:
                raise ConfigError(
                    [
                        f"SLACK_APP_TOKEN was refused by Slack (apps.connections.open: {error}): use the "
                        "app-level token (xapp-…) with the connections:write scope, from Basic Information "
                        "→ App-Level Tokens"
                    ]
                ) from e
            log.warning("Socket Mode: Slack could not open a connection (%s); will retry", error or e)
            return None
        except (SlackClientError, OSError) as e:
            self._discard(handler)
            log.warning("Socket Mode: cannot reach Slack (%s); will retry", type(e).__name__)
            return None
        self.connects += 1
        self.last_seen = time.monotonic()
        log.info("connected to Slack in Socket Mode")
        return handler

    @staticmethod
    def _discard(handler: Handler) -> None:
        try:
            handler.close()
        except Exception:  # a half-built handler may fail to close; nothing to keep of it
            log.debug("closing a failed Socket Mode handler raised", exc_info=True)

    def connected(self) -> bool:
        return self.handler is not None and bool(self.handler.client.is_connected())

    def run(self, stop: threading.Event) -> None:
        """Watch the connection until ``stop``; rebuild it whenever it is gone."""
        backoff = 1.0
        while True:
            if self.connected() and time.monotonic() - self.last_seen < self.idle_seconds:
                backoff = 1.0
                wait = self.watch_seconds
            else:
                old, self.handler = self.handler, None
                if old is not None and old.client.is_connected():
                    log.info(
                        "Socket Mode: nothing received for %.0f s; opening a fresh connection",
                        self.idle_seconds,
                    )
                elif old is not None:
                    log.warning("Socket Mode connection lost: reconnecting")
                    self._discard(old)
                    old = None
                try:
                    self.handler = self._connect()
                except ConfigError as e:  # the token was revoked while running: say so, keep trying
                    log.error("%s", e)
                if old is not None and self.handler is None and old.client.is_connected():
                    self.handler, old = old, None  # no fresh one: keep the quiet one a while longer
                    self.last_seen = time.monotonic()
                if old is not None:  # closed only now that the new connection is up
                    self._discard(old)
                ok = self.handler is not None
                wait = min(self.watch_seconds, self.idle_seconds) if ok else backoff
                backoff = 1.0 if ok else min(backoff * 2, self.max_backoff)
            if stop.wait(wait):
                break
        if self.handler is not None:
            self._discard(self.handler)
            self.handler = None
