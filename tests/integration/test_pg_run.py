"""``inquiry-bot run`` on PostgreSQL (``STORE_URL``): Dovecot in, loopback Slack out, nothing
of the desk's on the host's disk."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from bot.app.store import open_postgres
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack_helpers import bot_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail(subject: str, body: str, sender: str, msgid: str, in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "sales@brightway-led.com"
    m["Subject"] = subject
    m["Message-ID"] = msgid
    m["Date"] = format_datetime(datetime.now(UTC))
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    m.set_content(body)
    return m.as_bytes()


def _wait(predicate: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"bot exited early ({proc.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def test_run_on_postgresql(mailbox, slack_server: FakeSlack, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = bot_env(
        mailbox,
        slack_server,
        tmp_path / "data",
        STORE_URL=pg_url,
        SLACK_SIGNING_SECRET="test-secret",
        BOT_HTTP_PORT=str(_free_port()),
    )
    log_path = tmp_path / "bot.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def cards() -> list[Call]:
        return [
            c
            for c in slack_server.calls("chat.postMessage")
            if not c.params.get("thread_ts") and "inquiry_claim" in json.dumps(c.blocks or [])
        ]

    try:
        _wait(
            lambda: ": connected (uidvalidity" in log_path.read_text(errors="replace"),
            30,
            "the watcher",
            proc,
        )
        first = make_msgid(domain="licht.de")
        mailbox.append(
            "INBOX",
            _mail("Angebot LED-Panels", "Bitte Angebot für 500 Stück 60x60.", "Anna <anna@licht.de>", first),
        )
        mailbox.append(
            "INBOX",
            _mail(
                "RFQ floodlights",
                "Please quote 1,000 pcs 100W floodlights, IP65, CIF Haiphong.",
                "An <an@dienquang.com.vn>",
                make_msgid(domain="dienquang.com.vn"),
            ),
        )
        _wait(lambda: len(cards()) >= 2, 30, "two cards", proc)
        card_ts = next(c.response["ts"] for c in cards() if "Angebot" in json.dumps(c.blocks or []))
        mailbox.append(
            "INBOX",
            _mail(
                "Re: Angebot LED-Panels", "Und 200 Stück 30x120?", "Anna <anna@licht.de>", make_msgid(), first
            ),
        )
        _wait(
            lambda: any(c.params.get("thread_ts") == card_ts for c in slack_server.calls("chat.postMessage")),
            30,
            "the follow-up in the card's thread",
            proc,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the bot did not stop within 20 s of SIGTERM")
    assert code == 0, log_path.read_text(errors="replace")[-3000:]
    assert len(cards()) == 2  # the follow-up went into the thread, not into a new card

    store, audit = open_postgres(pg_url)
    try:
        assert store.count() == 2
        assert {i.buyer_addr for i in store.open_inquiries()} == {"anna@licht.de", "an@dienquang.com.vn"}
        assert store.checkpoint("INBOX") is not None and store.checkpoint("INBOX")[1] == 3  # type: ignore[index]
        assert len(store.raw_hashes()) == 3
        assert store.outbox.pending_count() == 0
        result = audit.verify()
        assert result.ok and result.count >= 3, result.problems
    finally:
        store.close()
    data = tmp_path / "data"
    assert not (data / "store").exists() and not (data / "mail").exists() and not (data / "audit").exists()
    logged = log_path.read_text()
    assert "Traceback" not in logged and "xoxb-test" not in logged
