"""``inquiry-bot store …``: moving the store between backends (issue #15)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bot.core.errors import ConfigError, InquiryDeskError


def cmd_store_migrate(args: argparse.Namespace) -> int:
    from bot.adapters.store.postgres.pool import redact_url
    from bot.adapters.store.repo import TinyStore
    from bot.app.store import audit_log, open_postgres
    from bot.app.store_copy import copy_store, summary_lines
    from bot.config.settings import load_config, store_backend

    try:
        config = load_config({**os.environ, "STORE_URL": args.to})
    except ConfigError as e:
        print(f"inquiry-bot store migrate: --to: {e}", file=sys.stderr)
        return 2
    kind, url = store_backend(config)
    if kind != "postgresql":
        print("inquiry-bot store migrate: --to must be a postgresql:// URL", file=sys.stderr)
        return 2
    data_dir = Path(args.source) if args.source else _tinydb_dir(config)
    if not (data_dir / "store").is_dir():
        print(f"inquiry-bot store migrate: no TinyDB store under {data_dir}", file=sys.stderr)
        return 2
    source_audit = audit_log(data_dir)
    source = TinyStore(data_dir, audit=source_audit)
    try:
        target, target_audit = open_postgres(url)
    except InquiryDeskError as e:
        source.close()
        print(f"inquiry-bot store migrate: {e}", file=sys.stderr)
        return 1
    try:
        report = copy_store(data_dir, source, source_audit, target, target_audit)
    except InquiryDeskError as e:
        print(f"inquiry-bot store migrate: {e}", file=sys.stderr)
        return 1
    finally:
        source.close()
        target.close()
    for line in summary_lines(report):
        print(line)
    if not report.ok:
        print(f"copy to {redact_url(url)} FAILED verification:", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"copy to {redact_url(url)} verified: counts, audit chain and sample agree")
    print(f"next: set STORE_URL={redact_url(url)} (with its password) and start the bot")
    return 0


def _tinydb_dir(config: Any) -> Path:
    """The TinyDB store of the current settings: STORE_URL's folder when it is tinydb:<folder>."""
    current = os.environ.get("STORE_URL", "").strip()
    if current.startswith("tinydb:") and current[len("tinydb:") :]:
        return Path(current[len("tinydb:") :])
    return Path(config.data_dir)


def add_commands(sub: Any) -> None:
    """Register ``store`` on ``sub`` (what ``add_subparsers()`` returned)."""
    store = sub.add_parser("store", help="move the store to PostgreSQL")
    store_sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    mig = store_sub.add_parser(
        "migrate",
        help="copy the TinyDB store into PostgreSQL and verify the copy (stop the bot first)",
        description="Copy inquiries, events, outbox, drafts, checkpoints, key/values, raw mail and "
        "the audit chain from the TinyDB store under DATA_DIR into the PostgreSQL database, then "
        "compare counts, verify the audit chain and compare a sample of inquiries field by field. "
        "Safe to run again: records are written by key. Exit status 0 when verified, 1 when not.",
    )
    mig.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:port/database")
    mig.add_argument(
        "--from", dest="source", metavar="DATA_DIR", help="the TinyDB data folder (default: DATA_DIR)"
    )
    mig.set_defaults(func=cmd_store_migrate)
