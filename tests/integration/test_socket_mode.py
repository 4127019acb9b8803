"""The Socket Mode link against the loopback fakes: a refused app token is a configuration error,
Slack down at start-up is retried, and the watchdog rebuilds a connection the client gave up on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.slack.socket_mode import SocketLink
from bot.app.wiring import Desktop
from bot.core.errors import ConfigError
from tests.fakes.slack_server import FakeSlack
from tests.fakes.socket_server import FakeSocketMode
from tests.slack_helpers import make_desktop, slash_body, wait_until


@pytest.fixture
def desk(slack_server: FakeSlack, tmp_path: Path) -> Iterator[Desktop]:
    desktop = make_desktop(slack_server, tmp_path, SLACK_APP_TOKEN="xapp-test")
    yield desktop
    desktop.store.close()


def _help(server: FakeSocketMode) -> str:
    form = dict(urllib.parse.parse_qsl(slash_body("help")))
    return str(server.wait_ack(server.send_command(form))["payload"]["text"])


def test_a_refused_app_token_is_a_configuration_error(slack_server: FakeSlack, desk: Desktop) -> None:
    slack_server.fail_method("apps.connections.open", "invalid_auth")
    link = SocketLink(desk.app, "xapp-revoked")
    with pytest.raises(ConfigError, match=r"SLACK_APP_TOKEN was refused by Slack.*invalid_auth.*xapp"):
        link.start()
    assert link.handler is None


def test_slack_down_at_start_up_is_retried_until_it_answers(
    slack_server: FakeSlack, socket_mode: FakeSocketMode, desk: Desktop
) -> None:
    slack_server.outage(1.5, status=503, method="apps.connections.open")
    link = SocketLink(desk.app, "xapp-test", watch_seconds=0.2, max_backoff=0.5)
    assert link.start() is False  # no exception: mail keeps flowing while Slack is down
    stop = threading.Event()
    runner = threading.Thread(target=link.run, args=(stop,), daemon=True)
    runner.start()
    try:
        socket_mode.wait_links(1, timeout=10)
        assert "/inquiries" in _help(socket_mode)
        assert len(slack_server.attempts("apps.connections.open")) >= 2
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    wait_until(lambda: not socket_mode.links[-1].open, what="the link closed on stop")
    assert socket_mode.links[-1].closed_by == "client"


def test_the_watchdog_rebuilds_a_connection_the_client_gave_up_on(
    slack_server: FakeSlack, socket_mode: FakeSocketMode, desk: Desktop
) -> None:
    link = SocketLink(desk.app, "xapp-test", watch_seconds=0.2)
    assert link.start() is True
    assert link.handler is not None
    link.handler.client.auto_reconnect_enabled = False  # as when its own reconnect failed for good
    link.handler.client.default_auto_reconnect_enabled = False
    stop = threading.Event()
    runner = threading.Thread(target=link.run, args=(stop,), daemon=True)
    runner.start()
    try:
        socket_mode.wait_links(1)
        dropped = socket_mode.drop()
        fresh = socket_mode.wait_links(2, timeout=10)
        assert fresh.ticket != dropped.ticket
        wait_until(lambda: link.connects == 2, what="the watchdog's new handler")
        assert "/inquiries" in _help(socket_mode)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert socket_mode.duplicate_acks == [] and socket_mode.refused == []


def test_run_with_a_refused_app_token_exits_2_and_says_which_token(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    slack_server.fail_method("apps.connections.open", "invalid_auth")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IMAP_", "OPENAI_"))},
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-revoked",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": slack_server.base_url,
        "DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "SLACK_APP_TOKEN was refused by Slack (apps.connections.open: invalid_auth)" in result.stderr
    assert "Traceback" not in result.stderr and "xapp-revoked" not in result.stderr


def test_a_link_that_delivers_nothing_is_replaced_without_a_gap(
    slack_server: FakeSlack, socket_mode: FakeSocketMode, desk: Desktop
) -> None:
    # Looks connected, delivers nothing (python-slack-sdk #1701): after idle_seconds with nothing
    # received, a fresh connection is opened first and only then the quiet one closed.
    link = SocketLink(desk.app, "xapp-test", watch_seconds=0.1, idle_seconds=1.0)
    assert link.start() is True
    stop = threading.Event()
    runner = threading.Thread(target=link.run, args=(stop,), daemon=True)
    runner.start()
    try:
        quiet = socket_mode.wait_links(1)
        fresh = socket_mode.wait_links(2, timeout=10)
        wait_until(lambda: not quiet.open, what="the quiet link closed")
        assert quiet.closed_by == "client" and fresh.opened_at < quiet.closed_at  # type: ignore[operator]
        assert "/inquiries" in _help(socket_mode)  # answered on the fresh link
        assert socket_mode.undelivered == [] and socket_mode.duplicate_acks == []
    finally:
        stop.set()
        runner.join(timeout=10)
