"""The SLA tick's read on PostgreSQL: every open inquiry (before) against ``due_candidates`` (after).

``python bench/bench_sla_tick.py --store-url postgresql://… --n 100000`` seeds the database with
``COPY`` (bench/pg_seed.py, idempotent) and then, in this process at the bench inquiries' "now":

* before: ``open_inquiries()`` and the engine over all of them (what ``sla_tick`` read until now);
* after: ``due_candidates(…)`` and the engine over those, on the first tick (the seeded desk
  has never been ticked: every waiting inquiry's breach is still owed) and again after one real
  ``Reminders.sla_tick`` has recorded what was owed (the steady state, every minute after);
* whole ``sla_tick`` times for that first (catch-up) tick and the next one.

Times and Python's peak allocation (tracemalloc) per read; the pings found must be the same.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = TypeVar("T")


def _measure(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, seconds, peak MB allocated by Python while it ran)."""
    tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return out, took, peak


def main() -> int:
    from bench.bench_store import BASE_TIME
    from bench.pg_seed import copy_seed
    from bot.app.store import open_postgres
    from bot.core.models import Inquiry
    from bot.desk.outbox import Outbox
    from bot.desk.reminders import Reminders
    from bot.sla.engine import SlaPolicy, due_pings, earliest_event_offset
    from bot.sla.followup import earliest_followup_delay

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--store-url", required=True)
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    copy_seed(args.store_url, args.n)
    store, _audit = open_postgres(args.store_url)
    policy = SlaPolicy()
    now = BASE_TIME + timedelta(minutes=1)

    def read_after() -> list[Inquiry]:
        return list(
            store.due_candidates(
                now - earliest_event_offset(policy),
                now - earliest_followup_delay(policy.followup),
                policy.followup,
            )
        )

    full, full_s, full_mb = _measure(store.open_inquiries)
    before = due_pings(full, now, policy)
    first, first_s, first_mb = _measure(read_after)
    assert due_pings(first, now, policy) == before, "the pre-filter lost a ping"
    reminders = Reminders(store, Outbox(store), policy, lambda: now)
    owed, tick1_s, _ = _measure(lambda: reminders.sla_tick(now))
    steady, steady_s, steady_mb = _measure(read_after)
    full2 = store.open_inquiries()
    assert due_pings(steady, now, policy) == due_pings(full2, now, policy)
    owed2, tick2_s, tick2_mb = _measure(lambda: reminders.sla_tick(now))
    store.close()
    print(f"SLA tick read at {args.n:,} stored on PostgreSQL ({len(full):,} open)")
    print(f"  before  open_inquiries():          {len(full):>7,} read  {full_s:7.2f} s  {full_mb:7.1f} MB")
    print(
        f"  after   due_candidates(), 1st tick: {len(first):>7,} read  {first_s:7.2f} s  {first_mb:7.1f} MB"
    )
    print(
        f"  after   due_candidates(), steady:   {len(steady):>7,} read  {steady_s:7.2f} s"
        f"  {steady_mb:7.1f} MB"
    )
    print(
        f"  sla_tick: catch-up {tick1_s:.2f} s ({owed:,} pings owed),"
        f" next {tick2_s:.3f} s ({owed2} owed, {tick2_mb:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
