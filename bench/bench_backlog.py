"""Backlog: 10,000 mails waiting in the mailbox at first start, backfill on.

Run: ``python bench/bench_backlog.py [--mails 10000] [--cards 300] [--min-interval 1.0]``.
Prints figures; not a test. Needs Dovecot (``apt-get install dovecot-imapd``).

Set-up: a private Dovecot (:class:`tests.fixtures_dovecot.DovecotServer`) whose INBOX gets
``--mails`` messages by APPEND before the bot starts (a mix of the bundled samples and the
labelled fixtures, each with a unique Message-ID and subject tag, so none is a duplicate or a
follow-up; the mix has inquiries and filtered mail). Then the bot starts as ``inquiry-bot run``
does, in this process: the INBOX watcher thread (first start, ``backfill_hours`` 24: every
message qualifies) and the delivery worker thread with the production pacing of one card per
second per channel, against the loopback fake Slack.

Measured:

- triage throughput: messages stored per second, from the watcher's start to the last
  message stored (fetch, parse, triage, store, raw-mail archive, outbox entry);
- card delivery: the rate of the first ``--cards`` cards (at 1 card/s, 10,000 cards would take
  hours, so the run stops there), then a check that nothing was dropped: every inquiry has
  either exactly one posted card or exactly one pending ``card`` item in the outbox.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import LABELLED, SAMPLES, Row, machine_line, make_unique, print_table, rss_mb, start_dovecot
from bot.app import build
from bot.config import load_config
from bot.mail.imap_source import FetchedMessage, ImapSettings, MailboxWatcher
from bot.watching import StoreMailSink
from tests.fakes.slack_server import FakeSlack
from tests.fixtures_dovecot import DovecotServer
from tests.slack_helpers import CHANNEL

_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


class CountingSink(StoreMailSink):
    """The production sink, counting deliveries and noting when the first and last happened."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.count = 0
        self.first_at: float | None = None
        self.last_at = 0.0

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        super().deliver(folder, fetched)
        self.count += 1
        self.last_at = time.monotonic()
        if self.first_at is None:
            self.first_at = self.last_at


def mix() -> list[bytes]:
    paths = sorted(SAMPLES.glob("*.eml")) + sorted(LABELLED.glob("*.eml"))
    return [p.read_bytes() for p in paths]


def wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=300, help="cards to watch being delivered")
    parser.add_argument("--min-interval", type=float, default=1.0, help="card pacing per channel (s)")
    args = parser.parse_args()

    started = start_dovecot("bench-backlog-")
    if started is None:
        return 2
    root, server = started
    assert isinstance(server, DovecotServer)
    dovecot = server
    slack = FakeSlack().start()
    print(machine_line())
    ok = True
    try:
        mailbox = dovecot.add_user()
        sources = mix()
        t0 = time.monotonic()
        client = mailbox.connect()
        try:
            for n in range(args.mails):
                client.append("INBOX", make_unique(sources[n % len(sources)], n))
        finally:
            client.logout()
        append_s = time.monotonic() - t0
        print(f"set-up: {args.mails} messages APPENDed in {append_s:.1f} s", flush=True)

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
        sink = CountingSink(desk.store, desk.ingestor)
        watcher = MailboxWatcher(
            ImapSettings(
                host=mailbox.host,
                port=mailbox.port,
                ssl=False,
                user=mailbox.user,
                password=mailbox.password,
                folder="INBOX",
                backfill_hours=24,
            ),
            sink,
        )
        stop_watch, stop_worker = threading.Event(), threading.Event()
        watch_thread = threading.Thread(
            target=watcher.run, args=(stop_watch,), name="imap-inbox", daemon=True
        )
        worker_thread = threading.Thread(
            target=desk.worker.run, args=(stop_worker,), name="delivery", daemon=True
        )
        started = time.monotonic()
        watch_thread.start()
        worker_thread.start()

        all_stored = wait(lambda: sink.count >= args.mails, timeout=3600)
        stored_s = sink.last_at - started
        rss_after_triage = rss_mb()
        print(f"stored {sink.count} in {stored_s:.1f} s", flush=True)
        enough_cards = wait(
            lambda: len(slack.calls("chat.postMessage")) >= args.cards, timeout=args.cards * 3 + 60
        )
        stop_worker.set()
        worker_thread.join(timeout=60)
        stop_watch.set()
        watch_thread.join(timeout=30)

        posts = [c for c in slack.calls("chat.postMessage") if not c.params.get("thread_ts")]
        rate = (len(posts) - 1) / (posts[-1].at - posts[0].at) if len(posts) > 1 else float("nan")
        gaps = sorted(b.at - a.at for a, b in itertools.pairwise(posts))
        first_card_s = posts[0].at - started if posts else float("nan")

        # Nothing dropped: each inquiry has one posted card or one pending card item.
        records = list(desk.store.all_inquiries())
        inquiries = {i.id for i in records if i.triage.is_inquiry}
        filtered = len(records) - len(inquiries)
        posted = {i.id for i in records if i.card_ts}
        far = datetime.now(UTC) + timedelta(days=3650)
        pending_items = [it for it in desk.outbox.due(far, limit=10**7) if it.kind == "card"]
        pending = [it.inquiry_id for it in pending_items]
        card_ts = [c.response.get("ts") for c in posts]
        dead = desk.outbox.dead()
        nothing_dropped = (
            len(records) == args.mails
            and len(pending) == len(set(pending))
            and posted.isdisjoint(pending)
            and posted | set(pending) == inquiries
            and len(posted) == len(posts) == len(set(card_ts))
            and not dead
        )
        remaining_s = len(pending) * args.min_interval
        desk.store.close()
        ok = all_stored and enough_cards and nothing_dropped
        print_table(
            f"Backlog: {args.mails} mails at first start (backfill 24 h), cards paced "
            f"{args.min_interval:.1f} s/channel",
            [
                Row("messages stored", f"{sink.count}/{args.mails}", f"{args.mails}", all_stored),
                Row("records: inquiries / filtered", f"{len(inquiries)} / {filtered}"),
                Row("triage throughput (watcher start -> last stored)", f"{sink.count / stored_s:.0f} msg/s"),
                Row("time to store the whole backlog", f"{stored_s:.1f} s"),
                Row("first card after start", f"{first_card_s:.2f} s"),
                Row(
                    f"card delivery rate, first {len(posts)} cards",
                    f"{rate:.3f} cards/s",
                    f"<= {1 / args.min_interval:.1f}/s" if args.min_interval else "",
                    None if not args.min_interval else rate <= 1 / args.min_interval + 0.01,
                ),
                Row("gap between cards: min / median", f"{gaps[0]:.3f} / {gaps[len(gaps) // 2]:.3f} s"),
                Row("cards posted / pending in the outbox", f"{len(posted)} / {len(pending)}"),
                Row(
                    "nothing dropped (posted + pending == inquiries, no dead items)",
                    str(nothing_dropped),
                    "True",
                    nothing_dropped,
                ),
                Row("time the remaining cards need at this pacing", f"{remaining_s / 3600:.2f} h"),
                Row("resident memory after triage", f"{rss_after_triage:.0f} MB"),
            ],
        )
    finally:
        slack.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
