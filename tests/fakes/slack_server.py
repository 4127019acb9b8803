"""A loopback fake of the Slack Web API, for tests that drive a real ``slack_sdk.WebClient``.

Modelled on bolt-python's ``tests/mock_web_api_server``: a stdlib ``ThreadingHTTPServer`` on
``127.0.0.1:0`` in a daemon thread. Every request to ``/api/<method>`` (POST form or JSON, or GET
query) is recorded as a :class:`Call` and answered the way Slack would. Faults can be injected
(429 with ``Retry-After``, 5xx outages, ``{"ok": false}`` per method), and requests can be held
unanswered (a slow Slack: ``hold()``, ``held()``, ``release()``).

Use the ``slack_server`` fixture::

    def test_posts(slack_server):
        client = WebClient(token="xoxb-test", base_url=slack_server.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack_server.calls("chat.postMessage")[0].params["text"] == "hi"

``calls()`` lists only requests Slack "processed" (answered 200, ``ok`` true or false);
``attempts()`` lists everything, including the 429/5xx answers.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

BOT_USER_ID = "UBOT"
TEAM_ID = "T1"
BOT_ID = "B1"
DEFAULT_TZ = "Asia/Shanghai"
# What a token installed from manifest.yml is granted: sent as ``x-oauth-scopes`` on every answer.
GRANTED_SCOPES = (
    "channels:read,groups:read,chat:write,channels:history,groups:history,im:history,"
    "commands,files:write,im:write,users:read"
)

# Form-encoded params that slack_sdk serialises as JSON strings.
_JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurl", "user_auth_blocks"})


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage"
    params: dict[str, Any]  # body or query, with JSON-string params (blocks, view, files) decoded
    headers: dict[str, str]  # header names lower-cased
    at: float  # time.monotonic() on arrival
    http_method: str  # "POST" | "GET"
    status: int  # HTTP status we answered
    response: dict[str, Any] = field(default_factory=dict)  # the JSON we answered (empty for 429/5xx)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.params.get("blocks") or []
        return list(blocks) if isinstance(blocks, list) else []


#: A held request is answered after this long at the latest (a forgotten hold must not hang a test).
HOLD_LIMIT_S = 60.0


@dataclass
class _Gate:
    """Where held requests wait; ``drop`` is decided when the gate opens."""

    opened: threading.Event = field(default_factory=threading.Event)
    drop: bool = False
    waiting: int = 0


@dataclass
class _Fault:
    status: int
    remaining: int | None  # answers left, when counted
    until: float | None  # monotonic deadline, when timed
    retry_after: int | None = None
    method: str | None = None  # None: every method

    def applies(self, method: str, now: float) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.remaining is not None:
            return self.remaining > 0
        return self.until is not None and now < self.until


class FakeSlack:
    """The fake server and its recorded state. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: list[Call] = []
        self._faults: list[_Fault] = []
        self._method_errors: dict[str, str] = {}
        self._user_tz: dict[str, str] = {}
        self._ts = itertools.count(100)
        self._ids = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> last params
        self.uploads: dict[str, bytes] = {}  # file id -> uploaded bytes
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.channels: dict[str, str] = {"CINQ": "inquiries"}  # id -> name, for conversations.list
        self.scopes = GRANTED_SCOPES  # the bot token's scopes, answered in ``x-oauth-scopes``
        # Socket Mode: apps.connections.open answers with socket_url() (see tests/fakes/socket_server.py).
        self.socket_url: Callable[[], str] | None = None
        self._holds: dict[str, int] = {}  # method -> how many of its next requests to hold
        self._gate = _Gate()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._server = server_class(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release(drop=True)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """slack_sdk's ``base_url`` format, with the trailing slash."""
        return f"{self.root_url}api/"

    # -- configuration -------------------------------------------------------------------------

    def set_user_tz(self, user: str, tz: str) -> None:
        with self._lock:
            self._user_tz[user] = tz

    def rate_limit(self, seconds_or_count: float, retry_after: int = 1, method: str | None = None) -> None:
        """Answer 429 + ``Retry-After``: an ``int`` counts answers, a ``float`` is a duration in seconds."""
        self._add_fault(429, seconds_or_count, retry_after=retry_after, method=method)

    def outage(self, n_or_seconds: float, status: int = 503, method: str | None = None) -> None:
        """Answer ``status`` (5xx): an ``int`` counts answers, a ``float`` is a duration in seconds."""
        self._add_fault(status, n_or_seconds, method=method)

    def fail_method(self, method: str, error: str = "channel_not_found") -> None:
        """Answer ``{"ok": false, "error": error}`` to every call of ``method`` until ``reset()``."""
        with self._lock:
            self._method_errors[method] = error

    def hold(self, method: str, count: int = 1) -> None:
        """Keep the next ``count`` requests of ``method`` waiting, unanswered and not yet processed,
        until :meth:`release`: a Slack call that takes as long as the test wants."""
        with self._lock:
            self._holds[method] = self._holds.get(method, 0) + count

    def held(self) -> int:
        """How many requests are waiting in a hold now."""
        with self._lock:
            return self._gate.waiting

    def release(self, *, drop: bool = False) -> None:
        """Let the held requests go on: processed and answered as usual, or with ``drop`` closed
        unprocessed and unanswered (a call that never reached Slack). Later holds wait anew."""
        with self._lock:
            gate, self._gate = self._gate, _Gate()
            gate.drop = drop
        gate.opened.set()

    def reset(self) -> None:
        """Forget calls, faults, failures, messages and uploads (time zones too)."""
        with self._lock:
            self._attempts.clear()
            self._faults.clear()
            self._method_errors.clear()
            self._user_tz.clear()
            self.messages.clear()
            self.uploads.clear()

    def _add_fault(
        self, status: int, amount: float, retry_after: int | None = None, method: str | None = None
    ) -> None:
        if isinstance(amount, bool) or amount < 0:
            raise ValueError("amount must be a non-negative int (count) or float (seconds)")
        if isinstance(amount, int):
            fault = _Fault(status, remaining=amount, until=None, retry_after=retry_after, method=method)
        else:
            until = time.monotonic() + amount
            fault = _Fault(status, remaining=None, until=until, retry_after=retry_after, method=method)
        with self._lock:
            self._faults.append(fault)

    # -- inspection ---------------------------------------------------------------------------

    def attempts(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._attempts if method is None or c.method == method]

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls Slack processed (HTTP 200), in arrival order."""
        return [c for c in self.attempts(method) if c.status == 200]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The current params (after updates) of every message posted in the thread ``ts``."""
        with self._lock:
            found = [
                (float(t), m)
                for (ch, t), m in self.messages.items()
                if ch == channel and m.get("thread_ts") == ts
            ]
        return [dict(m) for _, m in sorted(found, key=lambda x: x[0])]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Poll until ``count`` processed calls of ``method`` arrived; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{method}: {len(found)} of {count} calls after {timeout}s")
            time.sleep(0.01)

    # -- request handling ------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, http_method: str) -> None:
        parsed = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in req.headers.items()}

        if parsed.path.startswith("/upload/"):
            file_id = parsed.path.rsplit("/", 1)[-1]
            with self._lock:
                self.uploads[file_id] = raw
            self._send(req, 200, b"OK - %d" % len(raw), content_type="text/plain")
            return
        if not parsed.path.startswith("/api/"):
            self._send_json(req, 404, {"ok": False, "error": "not_found"})
            return

        method = parsed.path[len("/api/") :]
        params = _parse_params(raw, headers.get("content-type", ""), parsed.query)
        if not self._pass_hold(method):
            req.close_connection = True  # dropped: no answer, the connection closes
            return
        now = time.monotonic()

        with self._lock:
            fault = next((f for f in self._faults if f.applies(method, now)), None)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
        if fault is not None:
            self._record(method, params, headers, now, http_method, fault.status, {})
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body = json.dumps({"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"})
            self._send(req, fault.status, body.encode(), extra_headers=extra)
            return

        response = self._answer(method, params, headers)
        self._record(method, params, headers, now, http_method, 200, response)
        token = headers.get("authorization", "").removeprefix("Bearer ") or str(params.get("token", ""))
        extra = {"x-oauth-scopes": self.scopes} if token.startswith("xoxb-") else {}
        self._send(req, 200, json.dumps(response).encode(), extra_headers=extra)

    def _pass_hold(self, method: str) -> bool:
        """Wait here while ``method`` is held; False when the held request is dropped."""
        with self._lock:
            if self._holds.get(method, 0) <= 0:
                return True
            self._holds[method] -= 1
            gate = self._gate
            gate.waiting += 1
        gate.opened.wait(HOLD_LIMIT_S)
        with self._lock:
            gate.waiting -= 1
            return not gate.drop

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        at: float,
        http_method: str,
        status: int,
        response: dict[str, Any],
    ) -> None:
        with self._lock:
            self._attempts.append(Call(method, params, headers, at, http_method, status, response))

    def _next_ts(self) -> str:
        with self._lock:
            return f"1700000000.{next(self._ts):06d}"

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):08d}"

    def _answer(self, method: str, p: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") and not p.get("token"):
            return {"ok": False, "error": "not_authed"}
        with self._lock:
            error = self._method_errors.get(method)
        if error is not None:
            return {"ok": False, "error": error}

        token = auth.removeprefix("Bearer ") or str(p.get("token", ""))
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            if self.socket_url is None:  # a valid token, but no WebSocket server in this test
                return {"ok": True, "url": "ws://127.0.0.1:9/link?ticket=unserved"}
            return {"ok": True, "url": self.socket_url()}
        if token.startswith("xapp-"):  # an app-level token opens connections, nothing else
            return {"ok": False, "error": "not_allowed_token_type"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "inquirybot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "chat.postMessage":
            channel = str(p.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            ts = self._next_ts()
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
            message.update({k: v for k, v in p.items() if k in ("text", "blocks", "thread_ts")})
            with self._lock:
                self.messages[(channel, ts)] = dict(p)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            channel, ts = str(p.get("channel", "")), str(p.get("ts", ""))
            with self._lock:
                if (channel, ts) not in self.messages:
                    return {"ok": False, "error": "message_not_found"}
                self.messages[(channel, ts)] = {**self.messages[(channel, ts)], **p}
            return {"ok": True, "channel": channel, "ts": ts, "text": p.get("text", "")}
        if method == "chat.delete":
            channel, ts = str(p.get("channel", "")), str(p.get("ts", ""))
            with self._lock:
                if self.messages.pop((channel, ts), None) is None:
                    return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.info":
            channel = str(p.get("channel", ""))
            return {
                "ok": True,
                "channel": {"id": channel, "name": f"chan-{channel.lower()}", "is_member": True},
            }
        if method == "conversations.replies":
            channel, parent = str(p.get("channel", "")), str(p.get("ts", ""))
            with self._lock:
                replies = [
                    {
                        "type": "message",
                        "ts": ts,
                        "thread_ts": parent,
                        "text": m.get("text", ""),
                        **({"blocks": m["blocks"]} if m.get("blocks") else {}),
                        **({"metadata": m["metadata"]} if m.get("metadata") else {}),
                    }
                    for (ch, ts), m in self.messages.items()
                    if ch == channel and str(m.get("thread_ts", "")) == parent
                ]
            replies.sort(key=lambda m: float(m["ts"]))
            return {"ok": True, "messages": replies, "has_more": False}
        if method == "conversations.history":
            channel = str(p.get("channel", ""))
            oldest = float(p.get("oldest", 0) or 0)
            with self._lock:
                found = [
                    {
                        "type": "message",
                        "ts": ts,
                        "text": m.get("text", ""),
                        **({"blocks": m["blocks"]} if m.get("blocks") else {}),
                        **({"metadata": m["metadata"]} if m.get("metadata") else {}),
                    }
                    for (ch, ts), m in self.messages.items()
                    if ch == channel and not m.get("thread_ts") and float(ts) >= oldest
                ]
            found.sort(key=lambda m: float(m["ts"]), reverse=True)
            limit = int(p.get("limit", 100) or 100)
            return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}
        if method == "conversations.list":
            with self._lock:
                every = [{"id": i, "name": n, "is_channel": True} for i, n in self.channels.items()]
            start = int(p.get("cursor") or 0)
            limit = int(p.get("limit", 100) or 100)
            more = start + limit < len(every)
            return {
                "ok": True,
                "channels": every[start : start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }
        if method == "conversations.members":
            return {"ok": True, "members": [BOT_USER_ID], "response_metadata": {"next_cursor": ""}}
        if method == "conversations.open":
            users = str(p.get("users", "")).split(",")[0].strip()
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            return {"ok": True, "channel": {"id": f"D{users}"}}
        if method == "users.info":
            user = str(p.get("user", ""))
            with self._lock:
                tz = self._user_tz.get(user, DEFAULT_TZ)
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "real_name": f"User {user}",
                    "tz": tz,
                    "is_bot": user == BOT_USER_ID,
                    "profile": {"display_name": f"user-{user.lower()}", "real_name": f"User {user}"},
                },
            }
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = p.get("view")
            view_dict = dict(view) if isinstance(view, dict) else {}
            view_id = str(p.get("view_id") or self._next_id("V"))
            return {"ok": True, "view": {**view_dict, "id": view_id, "hash": self._next_id("h")}}
        if method == "files.getUploadURLExternal":
            file_id = self._next_id("F")
            return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = p.get("files") or []
            out = []
            for f in files if isinstance(files, list) else []:
                fid = str(f.get("id", ""))
                with self._lock:
                    uploaded = fid in self.uploads
                if not uploaded:
                    return {"ok": False, "error": "file_not_found"}
                out.append({"id": fid, "title": f.get("title"), "name": f.get("title")})
            return {"ok": True, "files": out}
        if method == "reactions.add":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _send_json(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        FakeSlack._send(req, status, json.dumps(body).encode())

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(body)))
        for k, v in (extra_headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)


def _parse_params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
    if raw:
        if "application/json" in content_type:
            body = json.loads(raw.decode("utf-8"))
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


@pytest.fixture
def slack_server() -> Iterator[FakeSlack]:
    """A fresh fake Slack per test; ``.base_url`` goes into ``WebClient(base_url=...)``."""
    server = FakeSlack().start()
    try:
        yield server
    finally:
        server.stop()
