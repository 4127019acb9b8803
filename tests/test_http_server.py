"""HTTP mode over a real socket: signed requests answered, unsigned and stale ones refused,
slow work never blocks the next request's ack (a threaded server)."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.http_server import serve
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import make_desktop, signed_headers, slash_body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, body: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _flat(headers: dict[str, object]) -> dict[str, str]:
    return {k: str(v[0] if isinstance(v, list) else v) for k, v in headers.items()}


def test_http_mode_answers_signed_requests_and_refuses_the_rest(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    desk = make_desktop(slack_server, tmp_path)
    port, stop = _free_port(), threading.Event()
    thread = threading.Thread(
        target=serve, args=(desk.app, port, stop), kwargs={"host": "127.0.0.1"}, daemon=True
    )
    thread.start()
    try:
        body = slash_body("help")
        ctype = "application/x-www-form-urlencoded"
        deadline = time.monotonic() + 5
        while True:
            try:
                status, text = _post(port, body, _flat(signed_headers(body, ctype)))
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert status == 200 and "/inquiries" in text
        assert _post(port, body, {"content-type": ctype})[0] == 401  # unsigned
        stale = _flat(signed_headers(body, ctype, timestamp=int(time.time()) - 600))
        assert _post(port, body, stale)[0] == 401  # replayed after 10 minutes
        forged = _flat(signed_headers(body, ctype))
        assert _post(port, slash_body("claim 1"), forged)[0] == 401  # signature of another body
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
