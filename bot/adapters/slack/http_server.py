"""HTTP mode: Bolt's WSGI adapter behind waitress on ``BOT_HTTP_HOST:BOT_HTTP_PORT`` at ``/slack/events``.

Safe by default, because this port may face the internet:

- binds ``127.0.0.1`` unless ``BOT_HTTP_HOST`` says otherwise (put a TLS proxy in front);
- a body over the limit (1 MB default) is answered 413 from its ``Content-Length`` alone,
  before any of it is read; a ``Content-Length`` that is not a number (``-1``, ``abc``) is
  400, and so is a POST without one;
- requests are read by one event loop and run on a bounded pool of threads only once they
  are complete, so half-sent requests hold a socket, never a thread; idle or stalled
  connections are closed after a timeout, and the number of open ones is capped;
- a busy port is a configuration error naming ``BOT_HTTP_PORT``, raised before serving.

Why waitress and not the standard library's ``wsgiref``: wsgiref gives each connection its
own blocking thread and reads the body before Bolt can refuse it. waitress buffers each
request in its event loop, refuses oversized bodies from the header, and hands complete
requests to a fixed thread pool. Socket Mode remains the recommended way: it needs no
public URL at all.
"""

from __future__ import annotations

import errno
import logging
import resource
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from bot.core.errors import ConfigError

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class HttpLimits:
    """Limits of the HTTP endpoint (``BOT_HTTP_*`` settings)."""

    max_body_bytes: int = 1024 * 1024
    timeout_seconds: float = 10.0  # an idle or stalled connection is closed after this
    max_connections: int = 2000
    threads: int = 16
    max_header_bytes: int = 64 * 1024


def require_content_length(app: Wsgi) -> Wsgi:
    """400 for a POST without ``Content-Length`` (Slack always sends one; waitress would
    treat it as an empty body). waitress has already refused invalid and oversized ones."""

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and not environ.get("CONTENT_LENGTH"):
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"Content-Length required\n"]
        return app(environ, start_response)

    return guarded


def _raise_open_file_limit(wanted: int) -> None:
    """Each open connection is a file descriptor: lift the soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            log.warning("http: could not raise the open-file limit from %d to %d", soft, target)


def port_problem(host: str, port: int, error: OSError) -> str:
    """The operator's message for a failed bind."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"BOT_HTTP_PORT={port} is already in use on {host} (another program, or the bot already "
            "running): stop it or choose another port"
        )
    if error.errno == errno.EACCES:
        return f"BOT_HTTP_PORT={port}: not allowed to listen on it (ports below 1024 need privileges)"
    return f"BOT_HTTP_HOST={host} BOT_HTTP_PORT={port}: cannot listen there ({error.strerror or error})"


class SlackHttpServer:
    """Bound on construction (a busy port raises :class:`ConfigError` at once); serves in
    :meth:`serve_until`."""

    def __init__(
        self,
        app: App,
        port: int,
        *,
        host: str = "127.0.0.1",
        path: str = "/slack/events",
        limits: HttpLimits = HttpLimits(),
    ) -> None:
        self.host = host
        self.path = path
        wsgi = require_content_length(SlackRequestHandler(app, path=path))
        _raise_open_file_limit(limits.max_connections + 256)
        try:
            self._server: Any = create_server(
                wsgi,
                host=host,
                port=port,
                threads=limits.threads,
                connection_limit=limits.max_connections,
                channel_timeout=max(1, int(limits.timeout_seconds)),
                cleanup_interval=1,
                # waitress refuses Content-Length >= max_request_body_size.
                max_request_body_size=limits.max_body_bytes + 1,
                inbuf_overflow=limits.max_body_bytes + 1,  # bodies stay in memory, never in /tmp
                max_request_header_size=limits.max_header_bytes,
                asyncore_use_poll=True,  # select() fails beyond 1,024 descriptors
                expose_tracebacks=False,
                ident="inquiry-desk",
            )
        except OSError as e:
            raise ConfigError([port_problem(host, port, e)]) from e
        self.port = int(self._server.effective_port)

    def serve_until(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then close every connection and the thread pool."""
        thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        thread.start()
        log.info("listening for Slack on %s port %d (%s)", self.host, self.port, self.path)
        stop.wait()
        self.close()
        thread.join(timeout=10)

    def close(self) -> None:
        """Stop the thread pool and close every socket; the event loop then ends by itself.
        Done inside the loop through its trigger: the loop is not thread-safe."""
        server = self._server

        def shut() -> None:
            server.task_dispatcher.shutdown(timeout=5)
            wasyncore.close_all(server._map)

        try:
            server.trigger.pull_trigger(shut)
        except OSError:  # the loop is not running
            shut()


def serve(
    app: App,
    port: int,
    stop: threading.Event,
    path: str = "/slack/events",
    host: str = "127.0.0.1",
    limits: HttpLimits = HttpLimits(),
) -> None:
    """Bind and serve until ``stop`` is set (raises ConfigError when the port is busy)."""
    SlackHttpServer(app, port, host=host, path=path, limits=limits).serve_until(stop)
