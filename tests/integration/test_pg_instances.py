"""Two ``inquiry-bot run`` processes on one PostgreSQL store and one mailbox (issue #15).

One leads (watches the mailbox, runs the scheduled jobs), both answer Slack and deliver the
outbox. The leader is SIGKILLed while mail is arriving: the other takes over within 30 s,
resumes from the checkpoint, and every inquiry still gets exactly one card, one SLA warning and
one breach (scheduled work runs once across instances); the killed one, restarted, follows.
"""

from __future__ import annotations

import json
import re
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
from typing import Any

import pytest

from bot.app.store import open_postgres
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack_helpers import bot_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

TAKEOVER_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail(n: int, msgid: str, in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = f"Buyer {n} <buyer{n}@company{n}.de>"
    m["To"] = "sales@brightway-led.com"
    m["Subject"] = f"Re: Angebot Panels {n}" if in_reply_to else f"Angebot Panels {n}"
    m["Message-ID"] = msgid
    m["Date"] = format_datetime(datetime.now(UTC))
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    m.set_content(f"Bitte Angebot für {100 * n} Stück 60x60 Panels, Lieferung nach Hamburg.")
    return m.as_bytes()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


class Instance:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=log_path.parent,
                env={**env, "BOT_HTTP_PORT": str(_free_port())},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def logged(self, text: str) -> bool:
        return text in self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"{self.log_path.name}: no stop within 30 s of SIGTERM")


def test_two_instances_one_card_per_inquiry_through_a_leader_crash(
    mailbox: Any, slack_server: FakeSlack, pg_url: str, tmp_path: Path
) -> None:
    env = bot_env(
        mailbox,
        slack_server,
        tmp_path / "data",
        STORE_URL=pg_url,
        SLACK_SIGNING_SECRET="test-secret",
        BACKFILL_SUMMARY_AFTER_MINUTES="0",
        # A 36 s SLA with a warning at half time: every inquiry's warning and breach fall inside
        # the test, on whichever instance leads at the time, and must be posted once each.
        SLA_HOURS_EU="0.01",
    )

    def cards() -> list[Call]:
        return [
            c
            for c in slack_server.calls("chat.postMessage")
            if not c.params.get("thread_ts") and "inquiry_claim" in json.dumps(c.blocks or [])
        ]

    a = Instance(env, tmp_path / "a.log")
    b: Instance | None = None
    a2: Instance | None = None
    try:
        _wait(lambda: a.logged("leader: this instance"), 30, "A to lead")
        _wait(lambda: a.logged(": connected (uidvalidity"), 30, "A's watcher")
        b = Instance(env, tmp_path / "b.log")
        _wait(lambda: b is not None and b.logged("another instance leads"), 30, "B to follow")
        ids = [make_msgid(domain=f"company{n}.de") for n in range(10)]
        for n in range(6):
            mailbox.append("INBOX", _mail(n, ids[n]))
        _wait(lambda: len(cards()) >= 1, 30, "the first card")
        a.proc.kill()  # mid-way: some of the six may be stored, carded, or neither
        a.proc.wait(timeout=10)
        for n in range(6, 10):
            mailbox.append("INBOX", _mail(n, ids[n]))
        takeover = _wait(lambda: b is not None and b.logged("leader: this instance"), TAKEOVER_S, "B to lead")
        assert takeover < TAKEOVER_S
        _wait(lambda: len(cards()) >= 10, 90, "ten cards")

        def thread(card: Call) -> list[str]:
            ts = card.response["ts"]
            return [
                str(c.params.get("text", ""))
                for c in slack_server.calls("chat.postMessage")
                if c.params.get("thread_ts") == ts
            ]

        _wait(lambda: all(any("🔴" in t for t in thread(c)) for c in cards()), 90, "every breach")
        for card in cards():  # the scheduled SLA work ran once across the instances
            posts = thread(card)
            assert sum("⏰" in t for t in posts) == 1 and sum("🔴" in t for t in posts) == 1, posts
        a2 = Instance(env, tmp_path / "a2.log")
        _wait(lambda: a2 is not None and a2.logged("another instance leads"), 30, "A, restarted, to follow")
        first = next(c for c in cards() if "Angebot Panels 0" in json.dumps(c.blocks or []))
        before = len(thread(first))
        mailbox.append("INBOX", _mail(0, make_msgid(domain="company0.de"), in_reply_to=ids[0]))
        _wait(lambda: len(thread(first)) > before, 30, "the follow-up in the first card's thread")
    finally:
        codes = [i.stop() for i in (b, a2) if i is not None]
        if a.proc.poll() is None:
            a.proc.kill()
    assert codes == [0, 0]
    assert len(cards()) == 10  # exactly one card per inquiry, whoever delivered it
    titles = sorted(re.findall(r"Angebot Panels (\d)", json.dumps(c.blocks or []))[0] for c in cards())
    assert titles == [str(n) for n in range(10)]
    store, audit = open_postgres(pg_url)
    try:
        assert store.count() == 10
        assert store.outbox.pending_count() == 0
        assert store.checkpoint("INBOX") is not None
        result = audit.verify()
        assert result.ok, result.problems
    finally:
        store.close()
