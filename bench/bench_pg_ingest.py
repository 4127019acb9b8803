"""Mails stored per second on PostgreSQL, with one and with two instances against one Dovecot.

Run: ``python bench/bench_pg_ingest.py [--mails 3000] [--instances 2] [--url postgresql://…]``.
Prints figures; not a test. Needs Dovecot and PostgreSQL (a private durable server is started
without ``--url``, as bench/pg_server.py does).

Set-up: a private Dovecot with one mailbox. One watcher per mailbox folder at a time (the
leader per folder, issue #15), so two instances share the work only over two folders: with
``--instances K`` the mailbox gets ``--mails`` messages in each of K folders (``INBOX``,
``Brand2`` …; the bench_backlog mix, unique Message-IDs and subject tags, INTERNALDATEs in the
last 20 hours), and K processes start together, each the real composition root
(``bot.app.wiring.build`` with ``STORE_URL``) with the production sink and a watcher on its own
folder (first start, backfill 24 h, the summary path for old mail) and its delivery worker,
against the loopback fake Slack. Rate = every stored message / (last stored − first watcher
start), as bench_backlog's "triage throughput" (IMAP fetch, parse, triage, store).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH_TMP, CpuAccount, Row, machine_line, make_unique, print_table, rss_mb

TARGET_TWO = 300.0
FOLDERS = ("INBOX", "Brand2", "Brand3", "Brand4")


def profiled(run: Callable[[threading.Event], None]) -> Callable[[threading.Event], None]:
    """With ``BENCH_PROFILE=<file>``, the watcher thread runs under cProfile (CPU time, so waits
    for the database and the pool do not count) and the stats go to ``<file>.<pid>``."""
    target = os.environ.get("BENCH_PROFILE")
    if not target:
        return run

    def wrapped(stop: threading.Event) -> None:
        import cProfile

        prof = cProfile.Profile(time.thread_time)
        try:
            prof.runcall(run, stop)
        finally:
            prof.dump_stats(f"{target}.{os.getpid()}")

    return wrapped


def worker(spec: dict[str, str]) -> dict[str, float]:
    """One instance: watch ``spec['folder']`` until ``spec['mails']`` are stored (own process)."""
    from bench.bench_backlog import CountingSink, wait
    from bot.adapters.mail.imap_source import ImapSettings, MailboxWatcher
    from bot.app.wiring import build
    from bot.config.settings import load_config
    from tests.slack_helpers import CHANNEL

    config = load_config(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-secret",
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": spec["slack"],
            "DATA_DIR": spec["data"],
            **({"STORE_URL": spec["url"]} if spec["url"] != "tinydb" else {}),
            "OWN_DOMAINS": "brightway-led.com",
        }
    )
    desk = build(config, token_verification=False, min_interval=1.0)
    if desk.ingestor.prework is not None:  # as bot.app.wiring.run does before the watchers start
        desk.ingestor.prework.start()
    sink = CountingSink(desk.store, desk.ingestor)
    watcher = MailboxWatcher(
        ImapSettings(
            host=spec["host"],
            port=int(spec["port"]),
            ssl=False,
            user=spec["user"],
            password=spec["password"],
            folder=spec["folder"],
            backfill_hours=24,
        ),
        sink,
    )
    stop, stop_worker = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=profiled(watcher.run), args=(stop,), daemon=True),
        threading.Thread(target=desk.worker.run, args=(stop_worker,), daemon=True),
    ]
    # Start together: the parent writes the wall time to start at.
    time.sleep(max(0.0, float(spec["start_at"]) - time.time()))
    started = time.time()
    for t in threads:
        t.start()
    mails = int(spec["mails"])
    wait(lambda: sink.count >= mails, timeout=3600)
    last = time.time() - (time.monotonic() - sink.last_at)
    stop.set()
    stop_worker.set()
    for t in threads:
        t.join(30)
    out = {"started": started, "last": last, "stored": float(sink.count), "rss_mb": rss_mb()}
    desk.store.close()
    return out


def spy_prefix(folder: str) -> list[str]:
    """With ``BENCH_PYSPY=<prefix>``, each instance runs under py-spy (sampling, its process pool
    included) and writes collapsed stacks to ``<prefix>.<folder>.txt`` (flamegraph input)."""
    prefix = os.environ.get("BENCH_PYSPY")
    if not prefix:
        return []
    return [
        "py-spy",
        "record",
        "--subprocesses",
        "--format",
        "raw",
        "-r",
        "200",
        "-o",
        f"{prefix}.{folder}.txt",
        "--",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--mails", type=int, default=3000, help="messages per folder (per instance)")
    ap.add_argument("--instances", type=int, default=2, choices=(1, 2, 3, 4))
    ap.add_argument(
        "--url",
        help="an empty PostgreSQL database (default: a private durable server); tinydb: the default store",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        result = worker(spec)
        print(json.dumps(result), flush=True)
        return 0

    from bench.bench_backlog import mix
    from bench.common import start_dovecot
    from tests.fakes.slack_server import FakeSlack

    print(machine_line())
    started = start_dovecot("bench-pg-ingest-")
    if started is None:
        return 2
    root, dovecot = started
    slack = FakeSlack().start()
    pg = None
    url = args.url
    try:
        if url is None:  # (with --url tinydb, one instance on its own DATA_DIR: the comparison)
            from tests.fixtures_postgres import PostgresServer, find_bin_dir

            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("PostgreSQL is not installed", file=sys.stderr)
                return 1
            BENCH_TMP.mkdir(parents=True, exist_ok=True)
            pg = PostgresServer(
                bin_dir, Path(tempfile.mkdtemp(prefix="pg-ingest-", dir=BENCH_TMP)), durable=True
            )
            pg.start()
            url = pg.create_database()
        mailbox = dovecot.add_user()  # type: ignore[attr-defined]
        sources = mix()
        now = datetime.now(UTC)
        folders = FOLDERS[: args.instances]
        client = mailbox.connect()
        try:
            t0 = time.monotonic()
            for f, folder in enumerate(folders):
                if folder != "INBOX":
                    client.create_folder(folder)
                for n in range(args.mails):
                    k = f * 1_000_000 + n
                    client.append(
                        folder,
                        make_unique(sources[n % len(sources)], k),
                        msg_time=now - timedelta(hours=20) + n * timedelta(hours=19) / max(1, args.mails),
                    )
            print(f"set-up: {args.mails:,} messages in each of {folders} in {time.monotonic() - t0:.0f} s")
        finally:
            client.logout()
        start_at = time.time() + 8.0  # every instance built and waiting by then
        procs = []
        for folder in folders:
            spec = {
                "folder": folder,
                "mails": str(args.mails),
                "url": url,
                "slack": slack.base_url,
                "data": str(root / f"data-{folder}"),
                "host": mailbox.host,
                "port": str(mailbox.port),
                "user": mailbox.user,
                "password": mailbox.password,
                "start_at": str(start_at),
            }
            procs.append(
                subprocess.Popen(
                    [
                        *spy_prefix(folder),
                        sys.executable,
                        __file__,
                        "--worker",
                        json.dumps(spec),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        time.sleep(max(0.0, start_at - time.time()))
        roots = [root / "dovecot" / "run" / "master.pid"]
        if pg is not None:
            roots.append(pg.data / "postmaster.pid")
        cpu = CpuAccount(roots=tuple(roots)).start()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=3600)
            results.append(json.loads(out.strip().splitlines()[-1]))
        first = min(r["started"] for r in results)
        last = max(r["last"] for r in results)
        stored = sum(r["stored"] for r in results)
        rate = stored / (last - first)
        spent = cpu.stop()
        if os.environ.get("BENCH_CPU_PIDS"):
            for pid, kind, secs in cpu.per_pid()[:12]:
                print(f"  pid {pid} {kind}: {secs:.2f} s CPU", file=sys.stderr)
        rows = [
            Row("instances (one folder each)", str(args.instances)),
            Row("messages stored", f"{stored:,.0f} in {last - first:.1f} s"),
            *(
                Row(
                    f"  instance on {f}",
                    f"{r['stored'] / (r['last'] - r['started']):.0f} msg/s, RSS {r['rss_mb']:.0f} MB",
                )
                for f, r in zip(folders, results, strict=True)
            ),
            Row(
                "mails stored per second (all instances)",
                f"{rate:.0f} msg/s",
                f">= {TARGET_TWO:g}/s with two" if args.instances == 2 else "",
                rate >= TARGET_TWO if args.instances == 2 else None,
            ),
            Row(
                "CPU per stored mail (all processes, whole run)",
                f"{sum(spent.values()) / stored * 1000:.1f} ms: "
                + ", ".join(f"{k} {v / stored * 1000:.1f}" for k, v in sorted(spent.items())),
            ),
        ]
        store = "TinyDB" if url == "tinydb" else "PostgreSQL"
        print_table(f"Mail stored on {store}, {args.instances} instance(s), one Dovecot", rows)
    finally:
        slack.stop()
        dovecot.stop()  # type: ignore[attr-defined]
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.root, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
