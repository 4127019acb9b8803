"""A private PostgreSQL for the benches (the test suite's fixture code, fsync on).

``python bench/pg_server.py`` starts one under BENCH_TMP (or ``--root``), prints its URL and
keeps it running until interrupted (Ctrl-C or SIGTERM), then stops it and removes its files.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from bench.common import BENCH_TMP
    from tests.fixtures_postgres import PostgresServer, find_bin_dir

    ap = argparse.ArgumentParser(description="a private, durable PostgreSQL for the benches")
    ap.add_argument("--root", type=Path, help="where its files go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the files after it stops")
    args = ap.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("PostgreSQL is not installed", file=sys.stderr)
        return 1
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    root = args.root or Path(tempfile.mkdtemp(prefix="pg-bench-", dir=BENCH_TMP))
    server = PostgresServer(bin_dir, root, durable=True)
    server.start()

    def _stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops it as Ctrl-C does (a blocked wait is interrupted)

    signal.signal(signal.SIGTERM, _stop)
    try:
        print(server.create_database(), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
