"""Worst per-mail time over the hostile set and over the shared corpora, through the budgeted path.

Run: ``python bench/bench_hostile.py [--corpora /work/shared/corpora]``. Prints figures; not a test.

Each mail goes through the production ingest path: ``Ingestor.deliver`` with the warm worker pool
(:mod:`bot.desk.prework`: parse, triage and the Authentication-Results headers in a worker process
under the per-mail budget), then the trust checks, the store (with fsync) and the owed card.
Time = wall time of ``deliver`` for one mail, one mail at a time (single arrivals: nothing is
worked ahead). Memory = the peak resident size (VmHWM) of each worker after the run.

Sets: the hostile set of issue #13 (``bench/hostile_set.py``); every file of ``emails/`` (except
SOURCES.md and README files) and ``inbound/`` under the corpora folder, each with a unique
Message-ID so none is a duplicate.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH_TMP, OWN_DOMAINS, Row, machine_line, make_unique, percentile, print_table
from bench.hostile_set import hostile_set

TARGET_S = 2.0
WORKER_MB = 300.0


class Fetched:
    def __init__(self, uid: int, raw: bytes) -> None:
        self.uid, self.raw, self.internaldate = uid, raw, datetime.now(UTC)


def corpus_mail(root: Path) -> dict[str, list[tuple[str, bytes]]]:
    out: dict[str, list[tuple[str, bytes]]] = {}
    for name in ("emails", "inbound"):
        files = sorted(
            p
            for p in (root / name).rglob("*")
            if p.is_file() and p.name not in ("SOURCES.md", "README.md") and not p.name.startswith(".")
        )
        out[name] = [(str(p.relative_to(root)), p.read_bytes()) for p in files]
    return out


def worker_peaks(prework: object) -> list[float]:
    peaks = []
    for worker in list(prework.pool._idle.queue):  # type: ignore[attr-defined]
        with open(f"/proc/{worker.proc.pid}/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        peaks.append(int(line.split()[1]) / 1024)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    args = parser.parse_args()

    from bot.app.store import open_store
    from bot.desk.ingest import Ingestor
    from bot.desk.outbox import Outbox
    from bot.desk.prework import UNREAD_DEFECT, Prework
    from bot.triage import TriageConfig

    print(machine_line())
    sets: dict[str, list[tuple[str, bytes]]] = {"hostile": hostile_set(), **corpus_mail(args.corpora)}
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-", dir=BENCH_TMP))
    config = TriageConfig(own_domains=OWN_DOMAINS)
    prework = Prework(config, workers=2)
    rows: list[Row] = []
    try:
        store = open_store(tmp / "data")
        ingestor = Ingestor(
            store, Outbox(store), config, lambda: datetime.now(UTC), keep_raw=True, prework=prework
        )
        prework.start()
        for worker in list(prework.pool._idle.queue):
            worker.wait_ready()
        uid = 0
        for set_name, mails in sets.items():
            times: list[tuple[float, str]] = []
            unread = 0
            for name, raw in mails:
                uid += 1
                raw = make_unique(raw, 500_000 + uid)
                started = time.perf_counter()
                result = ingestor.deliver("INBOX", Fetched(uid, raw))
                times.append((time.perf_counter() - started, name))
                inq = store.get(result.inquiry_id) if result.inquiry_id else None
                if inq is not None and any(UNREAD_DEFECT in d for d in inq.messages[0].defects):
                    unread += 1
            worst, worst_name = max(times)
            values = [t for t, _ in times]
            rows.append(
                Row(
                    f"{set_name}: worst per mail ({len(mails)} mails; {worst_name})",
                    f"{worst:.2f} s",
                    f"< {TARGET_S:g} s",
                    worst < TARGET_S,
                )
            )
            rows.append(
                Row(
                    f"{set_name}: p50 / p99 per mail",
                    f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f} ms",
                )
            )
            rows.append(Row(f'{set_name}: marked "could not be fully read"', str(unread)))
        peak = max(worker_peaks(prework))
        rows.append(
            Row("peak worker memory (VmHWM)", f"{peak:.0f} MB", f"< {WORKER_MB:g} MB", peak < WORKER_MB)
        )
        rows.append(Row("workers killed over the budget", str(prework.pool.kills)))
        rows.append(Row("workers replaced after a mail for their memory", str(prework.pool.recycled)))
        store.close()
    finally:
        prework.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print_table("hostile mail and corpora, one mail at a time through the budgeted workers", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
