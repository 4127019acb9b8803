"""A loopback fake of the OpenAI chat-completions API, loaded as a pytest plugin.

``FakeLlmServer`` is a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1:0`` that answers
``POST /v1/chat/completions`` and ``GET /v1/models`` in the OpenAI wire format, records every
request (method, path, headers, JSON body) and can be programmed:

- ``reply("text")`` / ``reply(fn)`` / ``reply(a, b, c)``: queue assistant contents; a callable gets
  the request's JSON body and returns the content. Queued replies are used in order; the last one
  stays and is reused for every later request.
- ``fail(status, times=1, retry_after=...)``: answer the next ``times`` chat requests with an error
  (429 carries ``Retry-After``).
- ``delay(seconds, times=None)``: hold chat answers that long (to trigger client timeouts).

The real ``openai`` client (3.x, httpx2) talks to it through ``base_url``::

    def test_x(llm_server):
        llm_server.reply('{"draft": "Xin chào"}')
        client = openai.OpenAI(base_url=llm_server.base_url, api_key="k")
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Responder = Callable[[dict[str, Any]], str]

DEFAULT_REPLY = "OK"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None for GET / unparsable bodies


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: float | None
    message: str | None


class FakeLlmServer:
    """See the module docstring."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._replies: deque[str | Responder] = deque([DEFAULT_REPLY])
        self._faults: deque[_Fault] = deque()
        self._delay_s = 0.0
        self._delay_times: int | None = None
        self._stopping = threading.Event()
        self._counter = 0
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLlmServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers held by delay()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- programming -----------------------------------------------------------------------------

    def reply(self, *items: str | Responder) -> None:
        """Replace the reply queue. The last item is reused once the others are consumed."""
        if not items:
            raise ValueError("reply() needs at least one text or callable")
        with self._lock:
            self._replies = deque(items)

    def fail(
        self, status: int, times: int = 1, retry_after: float | None = 0.01, message: str | None = None
    ) -> None:
        """Answer the next ``times`` chat requests with ``status`` (after earlier queued faults),
        with a ``Retry-After`` header when ``retry_after`` is set and an optional error message."""
        with self._lock:
            self._faults.extend(_Fault(status, retry_after, message) for _ in range(times))

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Hold chat answers ``seconds`` long; for the next ``times`` requests, or all when None."""
        with self._lock:
            self._delay_s = seconds
            self._delay_times = times

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last_body(self) -> dict[str, Any]:
        chats = self.chat_requests
        if not chats:
            raise AssertionError("the fake LLM server received no chat request")
        body = chats[-1].body
        assert isinstance(body, dict)
        return body

    # -- request handling (server threads) --------------------------------------------------------

    def _next_plan(self) -> tuple[_Fault | None, float, str | Responder]:
        with self._lock:
            self._counter += 1
            fault = self._faults.popleft() if self._faults else None
            delay = 0.0
            if self._delay_s > 0 and (self._delay_times is None or self._delay_times > 0):
                delay = self._delay_s
                if self._delay_times is not None:
                    self._delay_times -= 1
            responder: str | Responder = DEFAULT_REPLY
            if fault is None:
                responder = self._replies.popleft() if len(self._replies) > 1 else self._replies[0]
            return fault, delay, responder

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

            def _record(self, body: Any) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(RecordedRequest(self.command, self.path, headers, body))

            def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._record(None)
                if self.path.rstrip("/").endswith("/models"):
                    models = [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]
                    self._send_json(200, {"object": "list", "data": models})
                else:
                    self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw.decode("utf-8")) if raw else None
                except ValueError:
                    body = None
                self._record(body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})
                    return
                fault, delay, responder = server._next_plan()
                if delay and server._stopping.wait(delay):
                    return
                if fault is not None:
                    extra = {}
                    if fault.retry_after is not None:
                        extra["Retry-After"] = f"{fault.retry_after:g}"
                    kind = "rate_limit_exceeded" if fault.status == 429 else "server_error"
                    message = fault.message or f"fake {fault.status}"
                    err = {"error": {"message": message, "type": kind, "code": kind}}
                    self._send_json(fault.status, err, extra)
                    return
                if not isinstance(body, dict):
                    self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid"}})
                    return
                content = responder(body) if callable(responder) else responder
                prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
                usage = {
                    "prompt_tokens": max(1, prompt_chars // 4),
                    "completion_tokens": max(1, len(content) // 4),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                payload = {
                    "id": f"chatcmpl-fake-{server._counter}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": usage,
                }
                self._send_json(200, payload)

        return Handler


@pytest.fixture
def llm_server() -> Iterator[FakeLlmServer]:
    server = FakeLlmServer().start()
    try:
        yield server
    finally:
        server.stop()
