"""The desk's open reads on PostgreSQL: every open inquiry (before) against the queries (after).

``python bench/bench_open_reads.py --store-url postgresql://… --n 100000`` seeds the database with
``COPY`` (bench/pg_seed.py, idempotent) and then, in this process at the bench inquiries' "now",
measures each read the way the desk made it before and the way it makes it now
(:mod:`bot.desk.open_reads`), and checks both give the view the same thing:

* the App Home queue (first page of "all", "mine", "unclaimed", "at risk"; a deep page of "all");
* the breached list of ``/inquiries overdue`` (15 newest);
* the owner reminder read: the digest tick when no digest is due (it runs every minute: who owns
  open inquiries), one owner's digest, and a tick where every owner's digest is due at once.

Per read: inquiry documents decoded (rows read), queries, time (best of three) and Python's peak
allocation (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Counting:
    """The store, counting the queries of its inquiry reads and the documents they return."""

    READS = ("open_inquiries", "open_where", "count_open", "summaries", "load_many")

    def __init__(self, store: Any) -> None:
        self._store = store
        self.queries = 0
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in self.READS:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            self.queries += 1
            if name != "count_open":  # counts return no document
                self.rows += len(out)
            return out

        return counted


def measure(store: Any, fn: Callable[[Any], Any], repeat: int = 3) -> tuple[Any, int, int, float, float]:
    """(result, rows read, queries, best seconds, peak MB) of ``fn(counting store)``."""
    best, out, rows, queries = float("inf"), None, 0, 0
    for _ in range(repeat):
        counting = Counting(store)
        t = time.perf_counter()
        out = fn(counting)
        best = min(best, time.perf_counter() - t)
        rows, queries = counting.rows, counting.queries
    tracemalloc.start()
    fn(store)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return out, rows, queries, best, peak


def main() -> int:
    from bench.bench_store import BASE_TIME, USERS
    from bench.pg_seed import copy_seed
    from bot.app.store import open_postgres
    from bot.blocks.home_queue import HomeFilter, queue_page
    from bot.desk.commands import list_inquiries
    from bot.desk.open_reads import digest_inquiries, home_page, open_owners, unclaimed_waiting
    from bot.sla.digest import owner_digest
    from bot.sla.engine import SlaPolicy, SlaState, sla_state

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--store-url", required=True)
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    copy_seed(args.store_url, args.n)
    store, _audit = open_postgres(args.store_url)
    policy = SlaPolicy()
    now = BASE_TIME + timedelta(minutes=1)
    me = USERS[0]
    n_open = len(store.open_inquiries())
    lines: list[str] = []

    def row(label: str, before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
        for name, m in (("before", before), ("after ", after)):
            figures = f"{m[1]:>7,} rows {m[2]:>3} q {m[3] * 1000:8.1f} ms {m[4]:6.1f} MB"
            lines.append(f"  {label:<32} {name} {figures}")

    for label, flt in (
        ("App Home, all, page 1", HomeFilter()),
        ("App Home, mine, page 1", HomeFilter(queue="mine")),
        ("App Home, unclaimed, page 1", HomeFilter(queue="unclaimed")),
        ("App Home, at risk, page 1", HomeFilter(queue="at_risk")),
        ("App Home, all, page 300", HomeFilter(page=299)),
        ("App Home, EU tier B, page 2", HomeFilter(market="EU", tier="B", page=1)),
    ):
        before = measure(store, lambda s, flt=flt: queue_page(s.open_inquiries(), now, policy, me, flt))
        after = measure(store, lambda s, flt=flt: home_page(s, now, policy, me, flt))
        assert before[0] == after[0], label
        row(label, before, after)

    def overdue_before(s: Any) -> list[Any]:  # what the handler and list_inquiries did
        ids = {i.id for i in s.open_inquiries() if sla_state(i, now, policy) is SlaState.BREACHED}
        chosen = [x for x in s.summaries() if x.is_inquiry and x.open and x.id in ids]
        chosen.sort(key=lambda x: x.created_at, reverse=True)
        return chosen[:15]

    before = measure(store, overdue_before)
    after = measure(store, lambda s: list_inquiries(s, "overdue", me, now, policy))
    assert before[0] == after[0]
    row("/inquiries overdue (15 newest)", before, after)

    def digest_of(inquiries: list[Any]) -> Any:
        return owner_digest(me, inquiries, now, policy)

    before = measure(store, lambda s: digest_of(s.open_inquiries()))
    after = measure(store, lambda s: digest_of(digest_inquiries(s, me)))
    assert before[0] == after[0]
    row("one owner's digest", before, after)

    before = measure(store, lambda s: sorted({i.owner for i in s.open_inquiries() if i.owner}))
    after = measure(store, open_owners)
    assert before[0] == after[0]
    row("digest tick, none due (each min)", before, after)

    def tick_before(s: Any) -> int:
        inquiries = s.open_inquiries()
        owners = sorted({i.owner for i in inquiries if i.owner})
        return len([owner_digest(o, inquiries, now, policy) for o in owners])

    def tick_after(s: Any) -> int:
        unclaimed = unclaimed_waiting(s)
        return len([owner_digest(o, digest_inquiries(s, o, unclaimed), now, policy) for o in open_owners(s)])

    before = measure(store, tick_before)
    after = measure(store, tick_after)
    assert before[0] == after[0]
    row(f"digest tick, {before[0]} owners", before, after)
    store.close()
    print(f"Open reads at {args.n:,} stored on PostgreSQL ({n_open:,} open); best of 3, Python peak")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
