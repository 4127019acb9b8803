"""Mail throughput: parse-only, triage-only, and parse-to-stored (Ingestor.deliver) rates.

Run: ``python bench/bench_triage.py [--messages 2000]``. Prints figures; not a test.

The mix is every bot sample, every labelled fixture, the broken-mail fixtures and the full
messages of the shared real-world corpus, repeated to ``--messages``. Each copy gets a unique
Message-ID (so dedupe does not skip it) and a `` [#n]`` tag on its Subject (so it is a new
thread, not a follow-up of the first copy). "Parse to stored" is what the IMAP watcher calls
per fetched message: ``Ingestor.deliver`` = parse, keep the raw bytes, dedupe, triage, store,
owe the card to the outbox, into a fresh store (every write fsynced).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BENCH_TMP,
    OWN_DOMAINS,
    Row,
    machine_line,
    mail_mix,
    make_unique,
    print_table,
    rss_mb,
    sample_profile,
)


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: datetime


def workload(count: int) -> tuple[list[bytes], dict[str, int]]:
    mix = mail_mix()
    base = [raw for raws in mix.values() for raw in raws]
    sizes = {name: len(raws) for name, raws in mix.items()}
    return [make_unique(base[k % len(base)], k) for k in range(count)], sizes


class FsyncCounter:
    """Counts ``os.fsync`` calls (the store and raw-mail writes call it through the module)."""

    def __init__(self) -> None:
        self.count = 0
        self._real = os.fsync

    def __enter__(self) -> FsyncCounter:
        def counting(fd: Any) -> None:
            self.count += 1
            self._real(fd)

        os.fsync = counting
        return self

    def __exit__(self, *exc: object) -> None:
        os.fsync = self._real


def run_ingest(
    raws: list[bytes],
    drain: bool,
    fsyncs: FsyncCounter | None = None,
    batch: int = 1,
    prework: bool = False,
) -> tuple[float, Counter[str], float, int]:
    """Seconds to deliver every message into a fresh store; outcomes; seconds spent draining;
    fsync calls made by ``deliver`` (when ``fsyncs`` is counting).

    With ``drain`` the outbox is emptied after each message (untimed), as a delivery worker
    that keeps up would; without it the owed cards pile up (a backfill while Slack is paced).
    Like the watcher, the mailbox checkpoint is saved after each message; with ``batch`` > 1
    messages are delivered in groups inside ``store.batch()`` (the watcher's group commit per
    IMAP fetch batch), and the timing includes each group's final flush."""
    from bot.adapters.mail.imap_source import Checkpoint
    from bot.adapters.mail.watching import StoreMailSink
    from bot.app.store import open_store
    from bot.desk.ingest import Ingestor
    from bot.desk.outbox import Outbox
    from bot.desk.prework import Prework
    from bot.triage import TriageConfig

    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-triage-", dir=BENCH_TMP))
    try:
        store = open_store(tmp / "data")
        outbox = Outbox(store)
        ingestor = Ingestor(
            store,
            outbox,
            TriageConfig(own_domains=OWN_DOMAINS, profile=sample_profile()),
            lambda: datetime.now(UTC),
            keep_raw=True,
            prework=(
                Prework(TriageConfig(own_domains=OWN_DOMAINS, profile=sample_profile())) if prework else None
            ),
        )
        if prework:  # start the pool's processes before timing, as a running bot has them
            ingestor.prepare([b"Subject: warm-up\r\n\r\nhello\r\n" + bytes([i]) for i in range(8)])
            for i in range(8):
                assert ingestor.prework is not None
                ingestor.prework.take(b"Subject: warm-up\r\n\r\nhello\r\n" + bytes([i]))
        sink = StoreMailSink(store, ingestor)  # the watcher's sink: group commit per batch
        outcomes: Counter[str] = Counter()
        busy = 0.0
        synced = 0
        drained = 0.0
        arrived = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
        numbered = list(enumerate(raws, start=1))
        if prework:
            ingestor.prepare([raw for _, raw in numbered[:batch]])
        for start in range(0, len(numbered), batch):
            group = numbered[start : start + batch]
            before = fsyncs.count if fsyncs else 0
            t0 = time.perf_counter()
            with sink.batch() if batch > 1 else contextlib.nullcontext():
                # One batch ahead: the pool parses the next batch while this one is stored.
                ingestor.prepare([raw for _, raw in numbered[start + batch : start + 2 * batch]])
                for uid, raw in group:
                    result = ingestor.deliver("INBOX", Fetched(uid, raw, arrived))
                    sink.save_checkpoint("INBOX", Checkpoint(1, uid))
                    outcomes[result.outcome] += 1
            busy += time.perf_counter() - t0
            synced += (fsyncs.count if fsyncs else 0) - before
            if drain:
                t0 = time.perf_counter()
                for item in outbox.due(datetime.now(UTC) + timedelta(days=1), limit=1000):
                    outbox.done(item.key, datetime.now(UTC))
                drained += time.perf_counter() - t0
        store.close()
        if ingestor.prework is not None:
            ingestor.prework.close()
        return busy, outcomes, drained, synced
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="parse / triage / parse-to-stored throughput")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=1000, help="messages for the no-drain run (0: skip)")
    args = parser.parse_args(argv)

    from bot.intake.parse import parse_email
    from bot.triage import TriageConfig, triage, warm_up

    print(f"bench_triage: {machine_line()}")
    raws, sizes = workload(args.messages)
    total_bytes = sum(len(r) for r in raws)
    print(
        "mix: "
        + ", ".join(f"{name} {k}" for name, k in sizes.items())
        + f" distinct messages, repeated to {len(raws):,} ({total_bytes / 1e6:.1f} MB, "
        + f"mean {total_bytes / len(raws) / 1e3:.1f} kB)"
    )
    t0 = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    parsed = [parse_email(r) for r in raws]
    parse_s = time.perf_counter() - t0

    config = TriageConfig(own_domains=OWN_DOMAINS, profile=sample_profile())
    t0 = time.perf_counter()
    verdicts = [triage(p, config) for p in parsed]
    triage_s = time.perf_counter() - t0
    inquiries = sum(v.is_inquiry for v in verdicts)

    with FsyncCounter() as fsyncs:
        busy, outcomes, drained, synced = run_ingest(raws, drain=True, fsyncs=fsyncs, batch=25)
    busy_p, _, _, _ = run_ingest(raws, drain=True, batch=25, prework=True)
    with FsyncCounter() as fsyncs1:
        busy1, _, _, synced1 = run_ingest(raws[: len(raws) // 2], drain=True, fsyncs=fsyncs1, batch=1)
    rows = [
        Row("langdetect warm-up (once per process)", f"{warm:.2f} s"),
        Row(
            "parse only (parse_email)",
            f"{len(raws) / parse_s:,.0f} msg/s ({parse_s * 1000 / len(raws):.2f} ms/msg)",
        ),
        Row(
            "triage only (triage on parsed mail)",
            f"{len(raws) / triage_s:,.0f} msg/s ({triage_s * 1000 / len(raws):.2f} ms/msg); "
            f"{inquiries / len(raws):.0%} judged inquiries",
        ),
        Row(
            "parse to stored, one message at a time (fsync per write)",
            f"{len(raws) // 2 / busy1:,.0f} msg/s ({busy1 * 1000 / (len(raws) // 2):.2f} ms/msg); "
            f"{synced1 / (len(raws) // 2):.1f} fsync calls/msg",
        ),
        Row(
            "parse to stored, watcher batches of 25 (group commit, in-process parse)",
            f"{len(raws) / busy:,.0f} msg/s ({busy * 1000 / len(raws):.2f} ms/msg)",
            ">= 200 msg/s",
            len(raws) / busy >= 200,
        ),
        Row(
            "parse to stored, batches of 25, parse+triage on a process pool (as the bot does)",
            f"{len(raws) / busy_p:,.0f} msg/s ({busy_p * 1000 / len(raws):.2f} ms/msg)",
            ">= 200 msg/s",
            len(raws) / busy_p >= 200,
        ),
        Row(
            "  of which neither parse nor triage (store, raw copy, outbox)",
            f"{(busy - parse_s - triage_s) * 1000 / len(raws):.2f} ms/msg; "
            f"{synced / len(raws):.1f} fsync calls/msg",
        ),
        Row("  outcomes", ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))),
        Row(
            "  outbox drain (the worker's bookkeeping, untimed above)",
            f"{drained * 1000 / len(raws):.2f} ms/msg",
        ),
    ]
    if args.backlog:
        back = raws[: args.backlog]
        busy_b, _, _, _ = run_ingest(back, drain=False, batch=25)
        rows.append(
            Row(
                f"parse to stored, outbox never drained ({len(back):,} msgs, backfill)",
                f"{len(back) / busy_b:,.0f} msg/s ({busy_b * 1000 / len(back):.2f} ms/msg)",
            )
        )
    rows.append(Row("RSS at the end", f"{rss_mb():.0f} MB"))
    print_table(f"Mail throughput, {len(raws):,} messages, one process", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
