"""Backlog: 10,000 old mails waiting in the mailbox at first start, backfill on.

Run: ``python bench/bench_backlog.py [--mails 10000] [--cards 300] [--min-interval 1.0]
[--no-summary]``. Prints figures; not a test. Needs Dovecot (``apt-get install dovecot-imapd``).

Set-up: a private Dovecot (:class:`tests.fixtures_dovecot.DovecotServer`) whose INBOX gets
``--mails`` messages by APPEND before the bot starts, their INTERNALDATEs spread over the last
20 hours (a mix of the bundled samples and the labelled fixtures, each with a unique Message-ID
and subject tag, so none is a duplicate or a follow-up; the mix has inquiries and filtered
mail). Then the bot starts as ``inquiry-bot run`` does, in this process: the INBOX watcher
thread (first start, ``backfill_hours`` 24: every message qualifies) and the delivery worker
thread with the production pacing of one card per second per channel, against the loopback
fake Slack.

The summary path (default; ``BACKFILL_SUMMARY_AFTER_MINUTES`` 10, issue #16): the old mail
makes ONE summary card. Measured: triage throughput; when the summary is posted; that no
inquiry card is posted for the old mail; how soon a new mail APPENDed after the catch-up gets
its card; then *Post the A and B cards* (what the click does): how many cards are owed, their
rate over the first ``--cards``, how soon a second new mail's card goes out while they are
flowing (it jumps the queue), and a check that nothing was dropped: every A/B inquiry has
exactly one posted card or one pending card item, the rest none.

``--no-summary`` (``BACKFILL_SUMMARY_AFTER_MINUTES=0``) measures the old path for comparison:
a card per inquiry, the rate of the first ``--cards``, and the hours the rest would take.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import LABELLED, SAMPLES, Row, machine_line, make_unique, print_table, rss_mb, start_dovecot
from bot.adapters.mail.imap_source import FetchedMessage, ImapSettings, MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink
from bot.app.wiring import Desktop, build
from bot.blocks.backlog import ACTION_HOME
from bot.config.settings import load_config
from bot.desk.backlog import batch_of, tier_of
from tests.fakes.slack_server import Call, FakeSlack
from tests.fixtures_dovecot import DovecotServer, Mailbox
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


def card_of(call: Call) -> str | None:
    meta = call.params.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("inquiry_id") if isinstance(meta, dict) else None


def top_posts(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if not c.params.get("thread_ts")]


def is_summary(call: Call) -> bool:
    return any(
        e.get("action_id") == ACTION_HOME
        for b in call.blocks
        for e in (b.get("elements") or [])
        if isinstance(e, dict)
    )


def new_card_after(slack: FakeSlack, mailbox: Mailbox, raw: bytes, timeout: float = 60) -> float:
    """APPEND one new mail now; seconds until a card for an inquiry seen for the first time."""
    before = {card_of(c) for c in top_posts(slack)}
    count = len(before)
    t0 = time.monotonic()
    mailbox.append("INBOX", raw)

    def arrived() -> bool:
        posts = top_posts(slack)
        return len(posts) > count and any(
            card_of(c) not in before and card_of(c) is not None and c.at >= t0 for c in posts
        )

    if not wait(arrived, timeout):
        return float("nan")
    return min(c.at for c in top_posts(slack) if card_of(c) not in before and c.at >= t0) - t0


def summary_path(
    args: argparse.Namespace,
    desk: Desktop,
    slack: FakeSlack,
    mailbox: Mailbox,
    sink: CountingSink,
    started: float,
    stored_s: float,
    all_stored: bool,
    rss_after_triage: float,
    halt: Callable[[], None],
) -> bool:
    """The figures of the summary path (see the module docstring); True when its checks hold."""
    backlog = desk.ingestor.backlog
    assert backlog is not None
    one_summary = wait(lambda: any(is_summary(c) for c in top_posts(slack)), timeout=600)
    summary_s = min((c.at for c in top_posts(slack) if is_summary(c)), default=float("nan")) - started
    cards_before = [c for c in top_posts(slack) if card_of(c) is not None]
    sources = mix()
    new_s = new_card_after(slack, mailbox, make_unique(sources[4], 10**6))

    t_click = time.monotonic()
    released = backlog.release("1", "UBENCH")  # what *Post the A and B cards* does
    first_backlog = wait(lambda: len([c for c in top_posts(slack) if card_of(c)]) >= 2, timeout=120)
    first_backlog_s = time.monotonic() - t_click
    wait(lambda: len([c for c in top_posts(slack) if card_of(c)]) >= 1 + min(args.cards, 10), timeout=120)
    jump_s = new_card_after(slack, mailbox, make_unique(sources[0], 10**6 + 1))
    enough = wait(
        lambda: len([c for c in top_posts(slack) if card_of(c)]) >= args.cards, timeout=args.cards * 3 + 60
    )
    halt()  # the worker stops: what is posted and what is pending are read at one moment
    posts = [c for c in top_posts(slack) if card_of(c)]
    backlog_posts = [c for c in posts if c.at >= t_click]
    rate = (
        (len(backlog_posts) - 1) / (backlog_posts[-1].at - backlog_posts[0].at)
        if len(backlog_posts) > 1
        else float("nan")
    )
    records = list(desk.store.all_inquiries())
    old = [i for i in records if batch_of(i) == "1"]
    ab = {i.id for i in old if i.triage.is_inquiry and tier_of(i) in ("A", "B")}
    rest = {i.id for i in old if i.triage.is_inquiry} - ab
    far = datetime.now(UTC) + timedelta(days=3650)
    pending = [it.inquiry_id for it in desk.outbox.due(far, limit=10**7) if it.kind == "card"]
    posted = [card_of(c) for c in posts]
    summaries = [c for c in top_posts(slack) if is_summary(c)]
    nothing_dropped = (
        len(records) == args.mails + 2
        and len(pending) == len(set(pending))
        and len(posted) == len(set(posted))
        and (set(posted) | set(pending)) & (ab | rest) == ab
        and not desk.outbox.dead()
    )
    counts = backlog.counts("1")
    pacing = args.min_interval or 0.0
    print_table(
        f"Backlog as a summary: {args.mails} mails from the last 20 h at first start, cards paced "
        f"{args.min_interval:.1f} s/channel",
        [
            Row("old messages stored", f"{len(old)}/{args.mails}", f"{args.mails}", all_stored),
            Row(
                "old mail: inquiries (A/B/C) / held / filtered",
                f"{counts.inquiries} ({counts.tiers.get('A', 0)}/{counts.tiers.get('B', 0)}/"
                f"{counts.tiers.get('C', 0)}) / {counts.held} / {counts.filtered}",
            ),
            Row("triage throughput (watcher start -> last stored)", f"{sink.count / stored_s:.0f} msg/s"),
            Row("time to store the whole backlog", f"{stored_s:.1f} s"),
            Row("summary cards posted", str(len(summaries)), "1", len(summaries) == 1 and one_summary),
            Row("summary posted after start", f"{summary_s:.1f} s"),
            Row("inquiry cards for old mail before the click", str(len(cards_before)), "0", not cards_before),
            Row("new mail after the catch-up: card after", f"{new_s:.2f} s", "<= 2 s", new_s <= 2.0),
            Row("Post the A and B cards: owed", f"{len(ab)} (click accepted: {released})", "", released),
            Row("first backlog card after the click", f"{first_backlog_s:.2f} s", "", first_backlog),
            Row(
                f"backlog card rate, first {len(backlog_posts)} cards",
                f"{rate:.3f} cards/s",
                f"<= {1 / pacing:.1f}/s" if pacing else "",
                None if not pacing else rate <= 1 / pacing + 0.01,
            ),
            Row("new mail while backlog cards flow: card after", f"{jump_s:.2f} s", "<= 2 s", jump_s <= 2.0),
            Row("C inquiries left for the App Home (no card)", str(len(rest))),
            Row(
                "nothing dropped (A/B: posted or pending once; C: none; no dead items)",
                str(nothing_dropped),
                "True",
                nothing_dropped,
            ),
            Row("time the A/B cards need at this pacing", f"{len(ab) * pacing / 3600:.2f} h"),
            Row("time a card per inquiry would need (old path)", f"{counts.inquiries * pacing / 3600:.2f} h"),
            Row("resident memory after triage", f"{rss_after_triage:.0f} MB"),
        ],
    )
    return (
        all_stored and one_summary and len(summaries) == 1 and not cards_before and nothing_dropped and enough
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=300, help="cards to watch being delivered")
    parser.add_argument("--min-interval", type=float, default=1.0, help="card pacing per channel (s)")
    parser.add_argument("--no-summary", action="store_true", help="the old path: a card per old mail")
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
        t_start = datetime.now(UTC)
        t0 = time.monotonic()
        client = mailbox.connect()
        try:
            for n in range(args.mails):
                client.append(
                    "INBOX",
                    make_unique(sources[n % len(sources)], n),
                    msg_time=t_start - timedelta(hours=20) + n * timedelta(hours=19) / max(1, args.mails),
                )
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
                "BACKFILL_SUMMARY_AFTER_MINUTES": "0" if args.no_summary else "10",
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
        if not args.no_summary:

            def halt() -> None:
                stop_worker.set()
                worker_thread.join(timeout=60)

            ok = summary_path(
                args, desk, slack, mailbox, sink, started, stored_s, all_stored, rss_after_triage, halt
            )
            stop_watch.set()
            watch_thread.join(timeout=30)
            desk.store.close()
            return 0 if ok else 1
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
