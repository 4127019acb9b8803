"""A refused IMAP login (wrong password, app password needed) against the real Dovecot: told
in the channel and the log as "check the password / app password", retried slowly (not with
the fast network backoff); the server's temporary trouble stays a connection problem."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient.exceptions import LoginError

from bot.adapters.mail.connect import ConnectionSpec, credentials_refused, make_watcher
from bot.adapters.mail.imap_source import LoginRejected
from bot.app.wiring import login_refused_notice
from tests.fakes.slack_server import FakeSlack
from tests.fixtures_dovecot import Mailbox, settings_for
from tests.integration.test_imap_source import MemorySink, wait_for
from tests.slack_helpers import CHANNEL, drain, make_desktop


def test_only_refused_credentials_count_as_a_refused_login() -> None:
    assert credentials_refused(LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"))
    assert credentials_refused(LoginError("b'[ALERT] Please log in via your web browser'"))
    assert credentials_refused(LoginError("b'LOGIN failed.'"))
    assert not credentials_refused(LoginError("b'[UNAVAILABLE] Temporary authentication failure.'"))
    assert not credentials_refused(LoginError("b'[SERVERBUG] Internal error occurred.'"))
    assert not credentials_refused(ConnectionResetError("reset by peer"))


@pytest.mark.integration
def test_a_wrong_password_is_told_in_the_channel_and_retried_slowly(
    mailbox: Mailbox, slack_server: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    desk = make_desktop(slack_server, tmp_path)
    notify = login_refused_notice(desk.outbox, "en", lambda: datetime.now(UTC))
    refused: list[LoginRejected] = []

    def on_refused(error: LoginRejected) -> None:
        refused.append(error)
        notify(error)

    spec = ConnectionSpec(
        host=mailbox.host, port=mailbox.port, user=mailbox.user, password="wrong-Pa55", tls_mode="none"
    )
    # The fast backoff would retry within 10 ms; a refused login waits login_retry_seconds.
    base = settings_for(mailbox, backoff_base=0.001, backoff_cap=0.01, login_retry_seconds=1.5)
    states: list[tuple[str, float]] = []
    watcher = make_watcher(
        spec,
        "INBOX",
        MemorySink(),
        base=base,
        on_state=lambda s: states.append((s, time.monotonic())),
        on_login_refused=on_refused,
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        # Dovecot delays repeated failed logins from one address (its auth penalty, up to 15 s).
        assert wait_for(lambda: len(refused) >= 2, timeout=60), states
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    names = [s for s, _ in states]
    assert "login_refused" in names and "reconnecting" not in names, names
    tries = [at for s, at in states if s == "connecting"]
    assert tries[1] - tries[0] >= 1.4, f"retried after {tries[1] - tries[0]:.2f} s"
    assert "check the password / app password" in str(refused[0]) and mailbox.user in str(refused[0])
    logged = [
        r for r in caplog.records if r.levelno == logging.ERROR and "refused the login" in r.getMessage()
    ]
    assert logged and "check the password / app password" in logged[0].getMessage()
    assert "wrong-Pa55" not in caplog.text
    drain(desk.worker)
    posts = [c for c in slack_server.calls("chat.postMessage") if "app password" in c.params.get("text", "")]
    assert len(posts) == 1 and posts[0].params["channel"] == CHANNEL  # two refusals, one notice a day
    desk.store.close()
