"""HTTP mode: Bolt behind a threaded WSGI server on ``BOT_HTTP_PORT`` at ``/slack/events``.

Bolt's ``App.start()`` is a single-threaded development server; this serves each request
on its own thread (acks stay within Slack's 3 seconds while another request is handled)
through Bolt's WSGI adapter, which leaves the raw body untouched for signature checks.
Socket Mode remains the recommended way: it needs no public URL at all.
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # request lines carry no secrets, but are noise
        log.debug("http: " + format, *args)


def serve(
    app: App, port: int, stop: threading.Event, path: str = "/slack/events", host: str = "0.0.0.0"
) -> None:
    """Serve until ``stop`` is set."""
    handler = SlackRequestHandler(app, path=path)
    server = make_server(host, port, handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="http", daemon=True
    )
    thread.start()
    log.info("listening for Slack on port %d (%s)", port, path)
    stop.wait()
    server.shutdown()
    server.server_close()
