"""Seed a PostgreSQL store with N generated inquiries fast, with ``COPY`` (issue #15 benches).

``python bench/pg_seed.py --n 1000000 --url postgresql://…``, or :func:`copy_seed` from a bench.
The inquiries are bench_store's (:func:`bench.bench_store.make_bench_inquiry`, deterministic
from ``(i, seed)``); each row holds what :class:`PostgresStore` writes for it (the document and
the derived columns; ``buyer_domain`` the database derives), plus its message ids and events.
Workers generate the rows on every core; the parent streams them through one ``COPY`` per
table (psycopg ``cursor.copy``), about 30 times the rate of one insert per inquiry. No audit
entries are written (as ``store migrate``'s copy). Idempotent: a database holding ``N`` rows
is left as it is.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNK = 2000

Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _rows(span: tuple[int, int, int, int]) -> Rows:
    """The (inquiries, messages, events) rows of inquiries ``start..stop-1`` (a worker's part)."""
    from bench.bench_store import make_bench_inquiry
    from bot.adapters.store.codec import inquiry_to_doc
    from bot.adapters.store.postgres.jsonb import dumps
    from bot.adapters.store.postgres.store import derived_columns
    from bot.desk.ports import summarize

    start, stop, n, seed = span
    inqs: list[tuple[Any, ...]] = []
    msgs: list[tuple[Any, ...]] = []
    evs: list[tuple[Any, ...]] = []
    for i in range(start, stop):
        inq = make_bench_inquiry(i, n, seed)
        s = summarize(inq)
        inqs.append(
            (
                i,
                dumps(inquiry_to_doc(inq)),
                s.status,
                inq.triage.lane.value,
                s.is_inquiry,
                s.is_inquiry and s.open,
                s.owner,
                s.buyer_addr,
                s.subject_key,
                s.subject,
                s.market,
                s.tier,
                inq.created_at,
                inq.sla_started_at,
                inq.answered_at,
                *derived_columns(inq),
            )
        )
        msgs.extend((mid, i) for mid in dict.fromkeys(m.message_id for m in inq.messages))
        evs.extend((i, k, e.at, e.actor, e.action, e.detail) for k, e in enumerate(inq.events))
    return inqs, msgs, evs


def _spans(first: int, n: int, seed: int) -> Iterator[tuple[int, int, int, int]]:
    for start in range(first, n + 1, CHUNK):
        yield start, min(start + CHUNK, n + 1), n, seed


_INQ_COPY = (
    "COPY inquiries (id, doc, status, lane, is_inquiry, is_open, owner, buyer_addr, subject_key,"
    " subject, market, tier, created_at, sla_started_at, answered_at, sla_settled, fu_sent, fu_tier)"
    " FROM STDIN"
)


def copy_seed(url: str, n: int, seed: int = 1, *, workers: int | None = None) -> float:
    """Make the store at ``url`` hold inquiries 1..n; returns inquiries written per second."""
    import psycopg

    from bot.adapters.store.postgres.store import PostgresStore

    PostgresStore(url).close()  # migrated
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM inquiries").fetchone()
        have = int(row[0]) if row else 0
        if have >= n:
            return float("nan")
        t0 = time.perf_counter()
        done = 0
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for inqs, msgs, evs in pool.imap(_rows, _spans(have + 1, n, seed)):
                with conn.cursor() as cur:
                    with cur.copy(_INQ_COPY) as cp:
                        for r in inqs:
                            cp.write_row(r)
                    with cur.copy("COPY inquiry_messages (message_id, inquiry_id) FROM STDIN") as cp:
                        for r in msgs:
                            cp.write_row(r)
                    with cur.copy("COPY events (inquiry_id, n, at, actor, action, detail) FROM STDIN") as cp:
                        for r in evs:
                            cp.write_row(r)
                conn.commit()
                done += len(inqs)
                if done % 100_000 < CHUNK:
                    rate = done / (time.perf_counter() - t0)
                    print(f"  seeded {have + done:,} of {n:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        conn.execute("SELECT setval('inquiry_ids', %s)", (n,))
        conn.commit()
        took = time.perf_counter() - t0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) inquiries, inquiry_messages, events")
    return done / took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", required=True)
    args = ap.parse_args()
    t0 = datetime.now()
    rate = copy_seed(args.url, args.n, args.seed)
    print(f"seeded {args.n:,} inquiries at {rate:,.0f}/s (started {t0:%H:%M:%S})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
