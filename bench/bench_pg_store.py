"""The PostgreSQL store at scale: start-up, memory, and the store's part of a click.

Run: ``python bench/bench_pg_store.py [--n 100000] [--url postgresql://…]``. Prints figures;
not a test. Without ``--url`` a private server is started (initdb in a temp folder, as the test
suite does) **with fsync on**, as in production.

1. Load ``N`` realistic inquiries (:func:`bench.bench_store.make_bench_inquiry`) with
   ``PostgresStore.put_inquiries`` (the ``store migrate`` path) and report the rate.
2. In a **fresh process**: open the store (pool, migrations check) and its audit log, then
   time ``open_inquiries()``, and per operation p50/p99 over random inquiries: ``get``,
   ``find_by_message_id``, ``find_thread`` and ``update`` with a claim (row lock, document
   write, event row, audit entry under the audit lock: the store's whole share of a click).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, machine_line, ms, percentile, print_table, rss_mb

CLICK_TARGET_MS = 50.0
START_TARGET_S = 3.0
MEMORY_TARGET_MB = 300.0


def load(url: str, n: int) -> float:
    from bench.bench_store import make_bench_inquiry
    from bot.adapters.store.postgres.store import PostgresStore

    store = PostgresStore(url)
    try:
        have = store.count()
        start = time.perf_counter()
        store.put_inquiries(make_bench_inquiry(i, n, 1) for i in range(have + 1, n + 1))
        took = time.perf_counter() - start
        return (n - have) / took if n > have else float("nan")
    finally:
        store.close()


def measure(url: str, rounds: int) -> dict[str, float]:
    """Runs in a fresh process (see main)."""
    from bot.app.store import open_postgres
    from bot.core.models import Event

    base_rss = rss_mb()
    start = time.perf_counter()
    store, _audit = open_postgres(url)
    opened = time.perf_counter() - start
    t = time.perf_counter()
    open_ids = [i.id for i in store.open_inquiries()]
    open_s = time.perf_counter() - t
    rss = rss_mb()
    t = time.perf_counter()
    domains = len(store.buyer_domains())  # what the Ingestor reads at start (known buyer domains)
    domains_s = time.perf_counter() - t
    t = time.perf_counter()
    summaries = len(store.summaries())  # what it read before (every summary), for comparison
    summaries_s = time.perf_counter() - t
    rss_summaries = rss_mb()
    rng = random.Random(7)
    n = store.count()
    times: dict[str, list[float]] = {"get": [], "find_by_message_id": [], "find_thread": [], "update": []}
    for k in range(rounds):
        inq_id = str(rng.randint(1, n))
        t = time.perf_counter()
        inq = store.require(inq_id)
        times["get"].append((time.perf_counter() - t) * 1000)
        mid = inq.messages[0].message_id if inq.messages else "<none>"
        t = time.perf_counter()
        store.find_by_message_id(mid)
        times["find_by_message_id"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.find_thread(inq.buyer_addr, inq.subject_key)
        times["find_thread"].append((time.perf_counter() - t) * 1000)
        target = rng.choice(open_ids) if open_ids else inq_id
        user = f"U{k % 7}"
        t = time.perf_counter()
        store.update(
            target,
            lambda i, user=user: replace(  # type: ignore[misc]
                i,
                owner=None if i.owner else user,
                events=(*i.events, Event(i.created_at, user, "released" if i.owner else "claimed")),
            ),
        )
        times["update"].append((time.perf_counter() - t) * 1000)
    store.close()
    out = {"open_s": opened, "open_inquiries_s": open_s, "open_count": len(open_ids), "rss_mb": rss}
    out["base_rss_mb"] = base_rss
    out["summaries_s"], out["summaries"], out["rss_summaries_mb"] = summaries_s, summaries, rss_summaries
    out["domains_s"], out["domains"] = domains_s, domains
    for name, values in times.items():
        out[f"{name}_p50"] = percentile(values, 50)
        out[f"{name}_p99"] = percentile(values, 99)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--url", help="an existing database (default: a private durable server)")
    ap.add_argument("--measure-only", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.measure_only, args.rounds)))
        return 0
    print(machine_line())
    server = root = None
    url = args.url
    if url is None:
        from tests.fixtures_postgres import PostgresServer, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            print("PostgreSQL is not installed", file=sys.stderr)
            return 1
        root = Path(tempfile.mkdtemp(prefix="pg-bench-"))
        server = PostgresServer(bin_dir, root, durable=True)
        server.start()
        url = server.create_database()
    try:
        rate = load(url, args.n)
        done = subprocess.run(
            [sys.executable, __file__, "--measure-only", url, "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            check=True,
        )
        m = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if server is not None:
            server.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
    rows = [
        Row("loaded (put_inquiries)", f"{rate:,.0f} inquiries/s"),
        Row(
            "open store + audit log",
            f"{m['open_s']:.2f} s",
            f"<= {START_TARGET_S:g} s",
            m["open_s"] <= START_TARGET_S,
        ),
        Row("open_inquiries()", f"{m['open_inquiries_s']:.2f} s for {m['open_count']:,}"),
        Row(
            "process RSS after both",
            f"{m['rss_mb']:.0f} MB",
            f"<= {MEMORY_TARGET_MB:g} MB",
            m["rss_mb"] <= MEMORY_TARGET_MB,
        ),
        Row("buyer_domains() (Ingestor start-up)", f"{m['domains_s'] * 1000:.1f} ms for {m['domains']:,}"),
        Row(
            "summaries() (start-up before; comparison)",
            f"{m['summaries_s']:.2f} s for {m['summaries']:,}, RSS then {m['rss_summaries_mb']:.0f} MB",
        ),
        *(
            Row(f"{op} p50 / p99", f"{ms(m[op + '_p50'])} / {ms(m[op + '_p99'])}")
            for op in ("get", "find_by_message_id", "find_thread")
        ),
        Row(
            "update (claim) p50 / p99",
            f"{ms(m['update_p50'])} / {ms(m['update_p99'])}",
            f"p99 <= {CLICK_TARGET_MS:g} ms",
            m["update_p99"] <= CLICK_TARGET_MS,
        ),
    ]
    print_table(f"PostgreSQL store, {args.n:,} inquiries (fsync on)", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
