"""A button click with N stored inquiries: signed request in, chat.update recorded by Slack.

Run: ``python bench/bench_click.py [--n 100000] [--clicks 300] [--store-url postgresql://…]``.
Prints figures; not a test. With ``--store-url`` the same stored inquiries are copied into that
PostgreSQL database first (``store migrate``'s copy; skipped when it holds them already) and the
desk runs on it (``STORE_URL``). With ``--store-url … --copy-seed`` the database is seeded with
``COPY`` (bench/pg_seed.py: the same generated inquiries, no TinyDB store built first; what a
1,000,000-inquiry run needs) and the desk starts on an empty ``DATA_DIR``.

Uses the cached pristine store of bench_store (built on first use; a scratch copy is used),
the real composition root (``bot.app.wiring.build``) against the loopback fake Slack Web API, and
the DeliveryWorker in its own thread (``worker.run(stop)``, woken by ``services.wake_delivery``).
Each click is a ``block_actions`` payload built from the card's real blocks (``inquiry_claim``
on an unclaimed open inquiry, or ``inquiry_tier`` on any open one), form-encoded and signed
with ``SignatureVerifier``, and handed to ``app.dispatch(BoltRequest(...))``. Clicks are
sequential; before each one the outbox is empty (the previous click's thread note delivered).
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import BoltRequest

from bench.bench_store import pristine_store, working_copy
from bench.common import BENCH_TMP, GcPauses, Row, machine_line, median, ms, percentile, print_table, rss_mb
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    block_actions,
    choose,
    click,
    form_body,
    make_desktop,
    signed_headers,
)


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each chat.update for a card ``ts`` was recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.updated_at: dict[str, float] = {}
        self.update_seen = threading.Condition()

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        at: float,
        http_method: str,
        status: int,
        response: dict[str, Any],
    ) -> None:
        super()._record(method, params, headers, at, http_method, status, response)
        if method == "chat.update" and status == 200:
            with self.update_seen:
                self.updated_at[str(params.get("ts", ""))] = time.perf_counter()
                self.update_seen.notify_all()

    def wait_update(self, ts: str, timeout: float) -> float | None:
        with self.update_seen:
            self.update_seen.wait_for(lambda: ts in self.updated_at, timeout)
            return self.updated_at.pop(ts, None)


def wait_idle(outbox: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while outbox.pending_count():
        if time.monotonic() > deadline:
            raise TimeoutError("the outbox did not drain")
        time.sleep(0.002)


def copy_to_postgres(data: Path, url: str) -> None:
    """The TinyDB store under ``data`` copied into ``url`` (unless it holds as many inquiries)."""
    from bot.app.store import audit_log, open_postgres, open_store
    from bot.app.store_copy import copy_store

    source = open_store(data)
    target, target_audit = open_postgres(url)
    try:
        if target.count() != source.count():
            t0 = time.perf_counter()
            report = copy_store(data, source, audit_log(data), target, target_audit)
            print(f"copied into PostgreSQL in {time.perf_counter() - t0:.0f} s; problems: {report.problems}")
    finally:
        source.close()
        target.close()


def open_owners(store: Any, url: str | None) -> list[tuple[str, str | None]]:
    """(id, owner) of every open inquiry: the bench's choice of cards to click (on PostgreSQL a
    query, so a million summaries are not read into this process)."""
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT id, owner FROM inquiries WHERE is_open AND is_inquiry").fetchall()
        return [(str(r[0]), r[1]) for r in rows]
    return [(s.id, s.owner) for s in store.summaries() if s.is_inquiry and s.open]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="click-to-chat.update latency")
    parser.add_argument("--n", type=int, default=100_000, help="stored inquiries (default 100,000)")
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="skip gc.freeze() after start-up (the bot does freeze, in bot.app.wiring.run_app)",
    )
    parser.add_argument("--store-url", help="run the desk on this PostgreSQL database (STORE_URL)")
    parser.add_argument(
        "--copy-seed",
        action="store_true",
        help="with --store-url: seed it with COPY (bench/pg_seed.py) instead of a TinyDB store's copy",
    )
    args = parser.parse_args(argv)

    print(f"bench_click: {machine_line()}")
    seeded = bool(args.store_url and args.copy_seed)
    built = None if seeded else pristine_store(args.n, seed=args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="bench-click-", dir=BENCH_TMP))
    slack = TimedSlack()
    slack.start()
    stop = threading.Event()
    try:
        extra = {}
        if seeded:
            from bench.pg_seed import copy_seed

            data = scratch / "data"
            data.mkdir()
            rate = copy_seed(args.store_url, args.n, args.seed)
            if rate == rate:  # not NaN: it seeded now
                print(f"seeded with COPY at {rate:,.0f} inquiries/s")
        else:
            assert built is not None
            data = working_copy(built, scratch)
            if args.store_url:
                copy_to_postgres(data, args.store_url)
        if args.store_url:
            extra["STORE_URL"] = args.store_url
        gc.collect()
        rss_before = rss_mb()
        t0 = time.perf_counter()
        desktop = make_desktop(slack, data, **extra)
        build_s = time.perf_counter() - t0
        rss_built = rss_mb()
        store, outbox = desktop.store, desktop.outbox
        worker = threading.Thread(target=desktop.worker.run, args=(stop,), name="delivery", daemon=True)
        worker.start()

        rng = random.Random(args.seed + 11)
        total = args.clicks + args.warmup
        opened = open_owners(store, args.store_url)
        unowned = [i for i, owner in opened if owner is None]
        claim_ids = rng.sample(unowned, min(total // 2, len(unowned)))
        rest = sorted({i for i, _ in opened} - set(claim_ids))
        tier_ids = rng.sample(rest, total - len(claim_ids))
        chosen = [("claim", i) for i in claim_ids] + [("tier", i) for i in tier_ids]
        rng.shuffle(chosen)
        plans: list[tuple[str, str, str, dict[str, Any]]] = []  # (kind, user, ts, action)
        now = datetime.now(UTC)
        for kind, inq_id in chosen:
            inq = store.require(inq_id)
            assert inq.card_ts is not None
            slack.messages[(CHANNEL, inq.card_ts)] = {"channel": CHANNEL, "ts": inq.card_ts, "text": ""}
            _, blocks = desktop.services.renderer.card(inq, now)
            if kind == "claim":
                plans.append(("claim", "UBENCH", inq.card_ts, click(blocks, "inquiry_claim")))
            else:
                new_tier = rng.choice([t for t in "ABC" if t != (inq.tier.value if inq.tier else "")])
                user = inq.owner or "UBENCH"
                plans.append(("tier", user, inq.card_ts, choose(blocks, "inquiry_tier", new_tier)))

        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        acks: list[float] = []
        pauses = GcPauses().__enter__()
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {"claim": [], "tier": []}
        timeouts = 0
        for k, (kind, user, ts, action) in enumerate(plans):
            body = form_body(block_actions(user, action, ts=ts))
            headers = signed_headers(body, FORM)
            wait_idle(outbox)
            t0 = time.perf_counter()
            response = desktop.app.dispatch(BoltRequest(body=body, headers=headers))
            t_ack = time.perf_counter()
            assert response.status == 200, response.body
            t_update = slack.wait_update(ts, timeout=5.0)
            if k < args.warmup:
                continue
            if t_update is None:
                timeouts += 1
                continue
            acks.append((t_ack - t0) * 1000)
            latencies.append((t_update - t0) * 1000)
            by_kind[kind].append((t_update - t0) * 1000)
        wait_idle(outbox)
        pauses.__exit__()
        dead = len(outbox.dead())
        rows = [
            Row("stored inquiries", f"{store.count():,}"),
            Row("build(): store open + Bolt app", f"{build_s:.2f} s"),
            Row("RSS before / after build()", f"{rss_before:.0f} / {rss_built:.0f} MB"),
            Row(
                "clicks measured (after warm-up)", f"{len(latencies)} ({timeouts} without chat.update in 5 s)"
            ),
            Row("  of which claim / tier", f"{len(by_kind['claim'])} / {len(by_kind['tier'])}"),
            Row("dispatch returned (ack) p50", ms(median(acks))),
            Row("dispatch returned (ack) p99", ms(percentile(acks, 99))),
            Row("click -> chat.update recorded p50", ms(median(latencies))),
            Row("click -> chat.update recorded p95", ms(percentile(latencies, 95))),
            Row(
                "click -> chat.update recorded p99",
                ms(percentile(latencies, 99)),
                "< 50 ms",
                percentile(latencies, 99) < 50 and timeouts == 0,
            ),
            Row("click -> chat.update max", ms(max(latencies, default=float("nan")))),
            Row(
                "  claim p50 / p99",
                f"{ms(median(by_kind['claim']))} / {ms(percentile(by_kind['claim'], 99))}",
            ),
            Row("  tier p50 / p99", f"{ms(median(by_kind['tier']))} / {ms(percentile(by_kind['tier'], 99))}"),
            Row(
                "GC during the clicks" + (" (gc.freeze() after start-up)" if args.gc_freeze else ""),
                pauses.summary(),
            ),
            Row("outbox items given up", str(dead)),
            Row("RSS at the end (bot + fake Slack + bench)", f"{rss_mb():.0f} MB"),
        ]
        print_table(f"Click latency with {store.count():,} stored inquiries", rows)
        stop.set()
        desktop.worker.wake.set()
        worker.join(timeout=5)
        store.close()
    finally:
        stop.set()
        slack.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
