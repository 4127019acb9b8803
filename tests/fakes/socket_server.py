"""A loopback fake of Slack's Socket Mode WebSocket server (``websockets``, sync API, port 0).

Slack's side of Socket Mode, as far as the bot can tell: ``apps.connections.open`` (answered by
:class:`tests.fakes.slack_server.FakeSlack` once :meth:`FakeSocketMode.attach` is called) hands
out a single-use URL ``ws://127.0.0.1:PORT/link?ticket=N``; on connect the server sends
``hello``; the test sends envelopes (``interactive``, ``slash_commands``, ``events_api``) and
reads the acks (``{"envelope_id": …, "payload": …}``) the bot sends back.

Like Slack, an Events API envelope that was not acknowledged when its connection closed, or that
came while the app had no connection, is sent again on the next connection with
``retry_attempt`` raised and ``retry_reason`` set, so a dropped connection loses no event. A click
or a slash command is not retried (the member sees an error in Slack): those land in
``undelivered``. Faults: :meth:`drop` closes the live connection from the
server side; :meth:`refresh` sends a ``disconnect`` envelope (``refresh_requested``).

Several connections at once (several bot instances, each with its own): like Slack, the server
spreads envelopes over the open connections, round robin, and never sends to a closed one nor to
one it asked to refresh while another is open. Each envelope records the connection it went on
(``Link.sent``) and the connection its ack came back on (``acked_on``).

Use the ``socket_mode`` fixture (it also attaches itself to the ``slack_server`` fixture)::

    env_id = socket_mode.send_interactive(payload)
    ack = socket_mode.wait_ack(env_id)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes.slack_server import FakeSlack


@dataclass
class Link:
    """One WebSocket connection the bot opened."""

    number: int  # 1, 2, … in the order they were opened
    ticket: str  # from the URL apps.connections.open gave out
    opened_at: float
    closed_at: float | None = None
    closed_by: str = ""  # "server" | "client" | ""
    outgoing: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    sent: list[str] = field(default_factory=list)  # envelope ids sent on this link
    refreshing: bool = False  # asked to refresh: new envelopes go to another open link if any

    @property
    def open(self) -> bool:
        return self.closed_at is None


class FakeSocketMode:
    """The fake WebSocket server and what it saw. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets = itertools.count(1)
        self._issued: set[str] = set()
        self._used: set[str] = set()
        self.links: list[Link] = []
        self.refused: list[str] = []  # tickets refused (unknown or used twice)
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id -> the ack the bot sent
        self.acked_on: dict[str, int] = {}  # envelope id -> number of the link its (first) ack came on
        self.duplicate_acks: list[str] = []  # envelope ids acked more than once
        self.unparsed: list[str] = []  # anything the bot sent that is not JSON with an envelope_id
        self._envelopes: dict[str, dict[str, Any]] = {}  # envelope id -> last envelope sent
        self._pending: list[str] = []  # events not acked, connection gone: resend on the next link
        self.undelivered: list[str] = []  # clicks and commands that found no connection (lost)
        self._turn = itertools.count()  # round robin over the open links

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            links = [link for link in self.links if link.open]
        for link in links:
            link.outgoing.put(None)
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.socket.getsockname()[1])

    def issue_url(self) -> str:
        """A fresh single-use URL, as ``apps.connections.open`` returns."""
        ticket = f"t{next(self._tickets)}"
        with self._lock:
            self._issued.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link?ticket={ticket}"

    def attach(self, slack: FakeSlack) -> None:
        """Make ``slack`` answer ``apps.connections.open`` with this server's URLs."""
        slack.socket_url = self.issue_url

    # -- the test's side -------------------------------------------------------------------------

    def live(self) -> Link | None:
        with self._lock:
            return next((link for link in reversed(self.links) if link.open), None)

    def open_links(self) -> list[Link]:
        with self._lock:
            return [link for link in self.links if link.open]

    def wait_open(self, count: int, timeout: float = 15.0) -> list[Link]:
        """Wait until exactly ``count`` connections are open at once; return them, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            links = self.open_links()
            if len(links) == count:
                return links
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(links)} open connections, not {count}, after {timeout}s")
            time.sleep(0.01)

    def _route(self) -> Link | None:
        """The open link the next envelope goes on (caller holds the lock): round robin over the
        open links, leaving out one asked to refresh while another is open."""
        links = [link for link in self.links if link.open]
        steady = [link for link in links if not link.refreshing]
        if steady:
            return steady[next(self._turn) % len(steady)]
        return links[-1] if links else None

    def wait_links(self, count: int, timeout: float = 15.0) -> Link:
        """Wait until ``count`` connections have been opened and the last is live; return it."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                last = self.links[-1] if len(self.links) >= count else None
            if last is not None and last.open:
                return last
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(self.links)} of {count} Socket Mode connections after {timeout}s")
            time.sleep(0.01)

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False) -> str:
        """Send one envelope on an open connection (round robin; with none, the next one or
        nowhere, as Slack does); return its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._lock:
            self._envelopes[envelope_id] = envelope
            link = self._route()
            if link is None:
                (self._pending if kind == "events_api" else self.undelivered).append(envelope_id)
                return envelope_id
        link.outgoing.put(envelope)
        return envelope_id

    def send_interactive(self, payload: dict[str, Any]) -> str:
        return self.send("interactive", payload, accepts_response_payload=True)

    def send_command(self, form: dict[str, str]) -> str:
        return self.send("slash_commands", form, accepts_response_payload=True)

    def send_event(self, event: dict[str, Any]) -> str:
        payload = {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }
        return self.send("events_api", payload)

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                ack = self.acks.get(envelope_id)
            if ack is not None:
                return ack
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no ack for envelope {envelope_id} after {timeout}s")
            time.sleep(0.01)

    def drop(self) -> Link:
        """Close the live connection from the server side (a network drop, a Slack restart)."""
        with self._lock:
            link = next((x for x in reversed(self.links) if x.open), None)
            assert link is not None, "no live connection to drop"
            link.closed_at, link.closed_by = time.monotonic(), "server"  # later sends wait for the next
        link.outgoing.put(None)
        return link

    def refresh(self) -> Link:
        """Send ``disconnect`` (``refresh_requested``): Slack asks the app to open a new connection."""
        link = self.live()
        assert link is not None, "no live connection to refresh"
        with self._lock:
            link.refreshing = True
        link.outgoing.put(
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake-slack"}}
        )
        return link

    def envelope(self, envelope_id: str) -> dict[str, Any]:
        """The envelope as last sent (``retry_attempt`` raised on each resend)."""
        with self._lock:
            return dict(self._envelopes[envelope_id])

    def times_sent(self, envelope_id: str) -> int:
        with self._lock:
            return sum(link.sent.count(envelope_id) for link in self.links)

    def sent_on(self, envelope_id: str) -> list[int]:
        """The numbers of the links an envelope was sent on (more than one if it was resent)."""
        with self._lock:
            return [link.number for link in self.links for e in link.sent if e == envelope_id]

    # -- the server's side -----------------------------------------------------------------------

    def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(ws.request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if ticket not in self._issued or ticket in self._used:
                self.refused.append(ticket)
                refused = True
            else:
                self._used.add(ticket)
                refused = False
        if refused:
            ws.close(1008, "invalid ticket")
            return
        with self._lock:
            link = Link(len(self.links) + 1, ticket, time.monotonic())
            self.links.append(link)
            resend, self._pending = self._pending, []
            connections = sum(x.open for x in self.links)
        try:
            ws.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": connections,
                        "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                        "connection_info": {"app_id": "A1"},
                    }
                )
            )
            for envelope_id in resend:
                link.outgoing.put(self._retry(envelope_id))
            self._serve(ws, link)
        finally:
            unsent: list[str] = []
            with contextlib.suppress(queue.Empty):
                while True:
                    item = link.outgoing.get_nowait()
                    if item is not None and "envelope_id" in item:
                        unsent.append(str(item["envelope_id"]))
            with self._lock:
                if link.closed_at is None:
                    link.closed_at, link.closed_by = time.monotonic(), "client"
                unacked = [e for e in link.sent if e not in self.acks and e not in self._pending]
                lost = list(dict.fromkeys(unacked + unsent))
                again = [e for e in lost if self._envelopes[e]["type"] == "events_api"]
                self.undelivered.extend(e for e in lost if e not in again)
                other = self._route()
                if other is None:
                    self._pending.extend(again)
            if other is not None:  # Slack retries on the app's other connection
                for envelope_id in again:
                    other.outgoing.put(self._retry(envelope_id))

    def _retry(self, envelope_id: str) -> dict[str, Any]:
        """The envelope again, as Slack resends one that was not acknowledged."""
        with self._lock:
            envelope = self._envelopes[envelope_id]
            envelope = {**envelope, "retry_attempt": envelope["retry_attempt"] + 1, "retry_reason": "timeout"}
            self._envelopes[envelope_id] = envelope
        return envelope

    def _serve(self, ws: ServerConnection, link: Link) -> None:
        while True:
            with contextlib.suppress(queue.Empty):
                while True:
                    item = link.outgoing.get_nowait()
                    if item is None:
                        ws.close(1001, "going away")
                        return
                    if "envelope_id" in item:
                        with self._lock:
                            link.sent.append(str(item["envelope_id"]))
                    ws.send(json.dumps(item))
            try:
                message = ws.recv(timeout=0.02)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            self._record(message if isinstance(message, str) else message.decode(), link)

    def _record(self, message: str, link: Link) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict) or "envelope_id" not in data:
            with self._lock:
                self.unparsed.append(message)
            return
        envelope_id = str(data["envelope_id"])
        with self._lock:
            if envelope_id in self.acks:
                self.duplicate_acks.append(envelope_id)
            else:
                self.acks[envelope_id] = data
                self.acked_on[envelope_id] = link.number


@pytest.fixture
def socket_mode(slack_server: FakeSlack) -> Iterator[FakeSocketMode]:
    """A fresh fake Socket Mode server, attached to the ``slack_server`` fixture."""
    server = FakeSocketMode().start()
    server.attach(slack_server)
    try:
        yield server
    finally:
        server.stop()
