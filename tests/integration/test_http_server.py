"""HTTP mode over a real socket: signed requests answered, unsigned and stale ones refused;
oversized bodies refused before they are read, bad Content-Length refused, half-open
connections hold no thread, a busy port named, and no request body in the log."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.slack.http_server import HttpLimits, SlackHttpServer, serve
from bot.app.wiring import Desktop
from bot.config.settings import load_config
from bot.core.errors import ConfigError
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    T_ARRIVED,
    block_actions,
    click,
    drain,
    form_body,
    make_desktop,
    signed_headers,
    slash_body,
    wait_until,
)


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


# -- safe by default: limits, timeouts, no bodies in the log ------------------------------------

MARKER = "Jane-Doe-+44-20-7946-0958"  # stands for a buyer's personal data inside a request body


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


class PeakRss:
    """How much the process's resident memory rose at its peak inside the ``with`` block: the
    kernel's high-water mark (reset on entry), and samples every 2 ms where it cannot be reset."""

    def __enter__(self) -> PeakRss:
        self.before = _status_kb("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self.hwm = True
        except OSError:
            self.hwm = False
        self.samples = [self.before]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.samples.append(_status_kb("VmRSS"))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        peak = max(self.samples)
        if self.hwm:
            peak = max(peak, _status_kb("VmHWM"))
        self.grown = peak - self.before


def _status_of(sock: socket.socket) -> int:
    """The status code of the answer on ``sock`` (reads the status line only)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1."), data[:80]
    return int(data.split(b" ", 2)[1])


def _raw(port: int, head: str, body: bytes = b"") -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        return _status_of(sock)


@pytest.fixture
def http(slack_server: FakeSlack, tmp_path: Path) -> Iterator[tuple[Desktop, SlackHttpServer]]:
    desk = make_desktop(slack_server, tmp_path)
    server = SlackHttpServer(desk.app, 0)  # port 0: the kernel picks a free one
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_until, args=(stop,), daemon=True)
    thread.start()
    try:
        yield desk, server
    finally:
        stop.set()
        thread.join(timeout=15)
        desk.store.close()
    assert not thread.is_alive()


def _signed_click(desk: Desktop, slack_server: FakeSlack, port: int) -> tuple[int, str]:
    """Claim a fresh card through the socket, signed as Slack would."""
    result = desk.ingestor.ingest(
        make_email(
            subject="LED panels 600x600 quotation request",
            new_text="We need 2,000 pcs of 600x600 LED panels. Please quote your FOB price and MOQ.",
            from_addr="buyer@licht.de",
            from_name="Anna Buyer",
        ),
        T_ARRIVED,
    )
    assert result.inquiry_id is not None
    drain(desk.worker)
    inq = desk.store.require(result.inquiry_id)
    assert inq.card_ts is not None
    blocks = slack_server.messages[(CHANNEL, inq.card_ts)]["blocks"]
    body = form_body(block_actions("UALICE", click(blocks, "inquiry_claim"), ts=inq.card_ts))
    return _post(port, body, _flat(signed_headers(body, FORM)))


def test_it_listens_on_loopback_unless_told_otherwise(slack_server: FakeSlack, tmp_path: Path) -> None:
    assert load_config({}).slack is None
    env = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL": "CINQ"}
    sl = load_config(env).slack
    assert sl is not None and sl.http_host == "127.0.0.1" and sl.http_max_body_bytes == 1024 * 1024
    wide = load_config({**env, "BOT_HTTP_HOST": "0.0.0.0", "BOT_HTTP_MAX_BODY_BYTES": "2000000"}).slack
    assert wide is not None and wide.http_host == "0.0.0.0" and wide.http_max_body_bytes == 2_000_000
    with pytest.raises(ConfigError) as e:
        load_config({**env, "BOT_HTTP_MAX_BODY_BYTES": "-1", "BOT_HTTP_TIMEOUT_SECONDS": "soon"})
    assert "BOT_HTTP_MAX_BODY_BYTES" in str(e.value) and "BOT_HTTP_TIMEOUT_SECONDS" in str(e.value)
    desk = make_desktop(slack_server, tmp_path)
    server = SlackHttpServer(desk.app, 0)
    try:
        assert server._server.socket.getsockname()[0] == "127.0.0.1"
    finally:
        server.close()
        desk.store.close()


def test_a_busy_port_is_a_configuration_error_that_names_it(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = make_desktop(slack_server, tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as e:
            SlackHttpServer(desk.app, port)
    desk.store.close()
    assert f"BOT_HTTP_PORT={port} is already in use" in str(e.value)


def test_a_50_mb_unsigned_body_is_refused_413_before_it_is_read(
    http: tuple[Desktop, SlackHttpServer],
) -> None:
    _, server = http
    chunk = (MARKER * 3000).encode()[:65536]
    total = 50 * 1024 * 1024
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
    )
    with PeakRss() as memory, socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode() + chunk)
        assert _status_of(sock) == 413  # answered from the header, before the body
        sent = len(chunk)
        try:  # the rest of the 50 MB, as an attacker would: the server has closed the connection
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
    assert memory.grown < 10 * 1024 * 1024, f"memory rose by {memory.grown / 1e6:.1f} MB for one refused body"
    # A body just over the limit is refused too; a normal request still works afterwards.
    over = 1024 * 1024 + 1
    assert (
        _raw(server.port, f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {over}\r\n\r\n") == 413
    )


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", None])
def test_a_bad_or_missing_content_length_is_400(
    http: tuple[Desktop, SlackHttpServer], length: str | None
) -> None:
    _, server = http
    header = f"Content-Length: {length}\r\n" if length is not None else ""
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{header}Connection: close\r\n\r\n"
    )
    assert _raw(server.port, head, b'{"marker": "' + MARKER.encode() + b'"}') == 400


def test_a_thousand_half_open_connections_do_not_stop_a_signed_click(
    http: tuple[Desktop, SlackHttpServer], slack_server: FakeSlack
) -> None:
    desk, server = http
    threads_before = threading.active_count()
    half_open: list[socket.socket] = []
    try:
        for i in range(1000):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if i % 2:  # half the head
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")
            else:  # the whole head, a tenth of the body
                sock.sendall(
                    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100
                )
            half_open.append(sock)
        started = time.monotonic()
        status, _ = _signed_click(desk, slack_server, server.port)
        took = time.monotonic() - started
        assert status == 200
        assert took < 3, f"the click took {took:.1f} s behind 1,000 half-open connections"
        # Waiting requests hold sockets, not threads: the pool stays bounded.
        assert threading.active_count() - threads_before < 50
        wait_until(
            lambda: any(
                e.action == "claimed" for s in desk.store.summaries() for e in desk.store.require(s.id).events
            ),
            what="claimed",
        )
    finally:
        for sock in half_open:
            sock.close()


def test_stalled_connections_are_closed_after_the_timeout(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = make_desktop(slack_server, tmp_path)
    server = SlackHttpServer(desk.app, 0, limits=HttpLimits(timeout_seconds=1))
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_until, args=(stop,), daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            started = time.monotonic()
            assert sock.recv(4096) == b""  # closed by the server, no answer
            assert time.monotonic() - started < 8
    finally:
        stop.set()
        thread.join(timeout=15)
        desk.store.close()


def test_no_request_body_reaches_the_log_at_any_level(
    slack_server: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    desk = make_desktop(slack_server, tmp_path)
    server = SlackHttpServer(desk.app, 0)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_until, args=(stop,), daemon=True)
    thread.start()
    try:
        port = server.port
        body = slash_body(f"search {MARKER}")
        ctype = "application/x-www-form-urlencoded"
        assert _post(port, body, {"content-type": ctype})[0] == 401  # unsigned
        forged = _flat(signed_headers(slash_body("help"), ctype))
        assert _post(port, body, forged)[0] == 401  # signature of another body
        event = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "text": MARKER}})
        assert _post(port, event, _flat(signed_headers(event, "application/json")))[0] in (200, 404)
        huge = f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {10**8}\r\n\r\n"
        assert _raw(port, huge, MARKER.encode()) == 413
        assert (
            _raw(
                port, "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", MARKER.encode()
            )
            == 400
        )
    finally:
        stop.set()
        thread.join(timeout=15)
        desk.store.close()
    assert caplog.records, "the test should see some log records"
    for record in caplog.records:
        assert MARKER not in record.getMessage(), (record.name, record.levelname)
    assert MARKER not in caplog.text
    assert "Jane-Doe" not in caplog.text
