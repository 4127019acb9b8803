"""Arrival to card: from IMAP APPEND to the ``chat.postMessage`` of its card, over single arrivals.

Run: ``python bench/bench_arrival.py [--n 100] [--spacing 1.1] [--min-interval 1.0]``. Prints
figures; not a test. Needs Dovecot (``apt-get install dovecot-imapd``).

Set-up: a private Dovecot started with the test suite's :class:`tests.fixtures_dovecot.DovecotServer`
(loopback, plain IMAP, ``mailbox_idle_check_interval = 1 secs``), the loopback fake Slack
(:class:`tests.fakes.slack_server.FakeSlack`) and the real composition root (``bot.app.wiring.build``)
with the production card pacing (``min_interval`` 1 s per channel). The bot runs in this
process as it does in ``inquiry-bot run``: one watcher thread on INBOX (IDLE) and one delivery
worker thread. Each probe is a buyer inquiry (a bundled sample with a fresh Message-ID and a
subject tag) APPENDed on its own connection, ``--spacing`` seconds apart (more than the pacing,
so arrivals are single, not a backlog). Latency = fake Slack's arrival time of the card's
``chat.postMessage`` (monotonic) minus the monotonic time just before the APPEND command.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    SAMPLES,
    Row,
    machine_line,
    make_unique,
    median,
    percentile,
    print_table,
    start_dovecot,
)
from bot.adapters.mail.imap_source import FetchedMessage, ImapSettings, MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink
from bot.app.wiring import build
from bot.config.settings import load_config
from tests.fakes.slack_server import Call, FakeSlack
from tests.fixtures_dovecot import DovecotServer
from tests.slack_helpers import CHANNEL, strings

TARGET_P95_S = 2.0
PROBES = ("01-de-a-led-panels.eml", "02-vi-a-floodlights.eml", "05-en-us-a-highbay.eml")


def probe(n: int) -> tuple[bytes, str]:
    """A buyer inquiry with a unique Message-ID and a subject tag that shows on its card."""
    raw = (SAMPLES / PROBES[n % len(PROBES)]).read_bytes()
    return make_unique(raw, 100_000 + n), f"[#{100_000 + n}]"


class StampingSink(StoreMailSink):
    """The production sink, noting when each message was stored (monotonic), by raw bytes."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stored: list[tuple[bytes, float]] = []

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        super().deliver(folder, fetched)
        self.stored.append((fetched.raw, time.monotonic()))

    def stored_at(self, tag: str) -> float | None:
        needle = tag.encode()
        return next((at for raw, at in self.stored if needle in raw), None)


def card_for(calls: list[Call], tag: str) -> Call | None:
    for call in calls:
        top_level = call.params.get("channel") == CHANNEL and not call.params.get("thread_ts")
        if top_level and any(tag in s for s in strings(call.params)):
            return call
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of single arrivals")
    parser.add_argument("--spacing", type=float, default=1.1, help="seconds between APPENDs")
    parser.add_argument("--min-interval", type=float, default=1.0, help="card pacing per channel (s)")
    args = parser.parse_args()

    started = start_dovecot("bench-arrival-")
    if started is None:
        return 2
    root, server = started
    assert isinstance(server, DovecotServer)
    dovecot = server
    slack = FakeSlack().start()
    mailbox = dovecot.add_user()
    config = load_config(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-secret",
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.base_url,
            "DATA_DIR": str(root / "data"),
            "OWN_DOMAINS": "brightway-led.com",
        }
    )
    desk = build(config, token_verification=False, min_interval=args.min_interval)
    if desk.ingestor.prework is not None:  # as start_watchers does: warm mail workers
        desk.ingestor.prework.start()
    states: list[str] = []
    sink = StampingSink(desk.store, desk.ingestor)
    watcher = MailboxWatcher(
        ImapSettings(
            host=mailbox.host,
            port=mailbox.port,
            ssl=False,
            user=mailbox.user,
            password=mailbox.password,
            folder="INBOX",
        ),
        sink,
        on_state=states.append,
    )
    stop = threading.Event()
    threads = [
        threading.Thread(target=watcher.run, args=(stop,), name="imap-inbox", daemon=True),
        threading.Thread(target=desk.worker.run, args=(stop,), name="delivery", daemon=True),
    ]
    print(machine_line())
    latencies: list[float] = []
    to_store: list[float] = []
    missing: list[str] = []
    try:
        for th in threads:
            th.start()
        deadline = time.monotonic() + 15
        while "idle" not in states and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "idle" in states, f"the watcher never went idle: {states}"
        sent: list[tuple[str, float]] = []
        for n in range(args.n):
            raw, tag = probe(n)
            started = time.monotonic()
            mailbox.append("INBOX", raw)
            sent.append((tag, started))
            next_at = started + args.spacing
            while time.monotonic() < next_at:
                time.sleep(0.01)
        deadline = time.monotonic() + 30
        while len(slack.calls("chat.postMessage")) < args.n and time.monotonic() < deadline:
            time.sleep(0.05)
        calls = slack.calls("chat.postMessage")
        for tag, started in sent:
            call = card_for(calls, tag)
            if call is None:
                missing.append(tag)
            else:
                latencies.append(call.at - started)
                stored = sink.stored_at(tag)
                if stored is not None:
                    to_store.append(stored - started)
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=15)
        desk.store.close()
        slack.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)

    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print_table(
        f"Arrival to card: {args.n} single arrivals, {args.spacing:.1f} s apart, "
        f"card pacing {args.min_interval:.1f} s/channel",
        [
            Row("cards posted", f"{len(latencies)}/{args.n}", f"{args.n}/{args.n}", not missing),
            Row("p50 APPEND -> chat.postMessage", f"{p50:.3f} s"),
            Row(
                "p95 APPEND -> chat.postMessage",
                f"{p95:.3f} s",
                f"< {TARGET_P95_S:.0f} s",
                p95 < TARGET_P95_S,
            ),
            Row(
                "min / median / max",
                f"{min(latencies):.3f} / {median(latencies):.3f} / {max(latencies):.3f} s",
            ),
            Row(
                "p50 / p95 APPEND -> stored",
                f"{percentile(to_store, 50):.3f} / {percentile(to_store, 95):.3f} s",
            ),
        ],
    )
    return 0 if not missing and p95 < TARGET_P95_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
