"""CLI sub-commands for records: ``audit verify|history``, ``export``, ``forget``, ``subject-export``.

``bot.app.cli.main.build_parser`` calls :func:`add_commands` with its sub-parsers. Each command
reads ``DATA_DIR`` from the configuration, prints a short result and returns an exit code
(0 ok, 1 problems found, 2 bad usage). ``forget`` and ``subject-export`` open the store
directly: run them while the bot is stopped (the store is single-process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from bot.adapters.store.postgres.store import PostgresStore
    from bot.config.settings import Config
    from bot.records.audit_pg import PgAuditLog


def _config() -> Config:
    from bot.config.settings import load_config

    try:
        return load_config(os.environ)
    except ConfigError as e:
        print(f"inquiry-bot: {e}", file=sys.stderr)
        raise SystemExit(2) from e


def _data_dir() -> Path:
    return _config().data_dir


def _date(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from e
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        yield fh


def _anchor(value: str) -> tuple[int, str]:
    seq, sep, digest = value.strip().partition(":")
    digest = digest.strip().lower()
    if (
        not sep
        or not seq.strip().isdigit()
        or int(seq) < 1
        or len(digest) != 64
        or not all(c in "0123456789abcdef" for c in digest)
    ):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an anchor like 57:<64 hex digits> (as posted in the audit-anchor message)"
        )
    return int(seq), digest


def _postgres_audit() -> tuple[PostgresStore, PgAuditLog] | None:
    """The PostgreSQL store and its audit log when STORE_URL names one, else None."""
    from bot.app.store import open_postgres
    from bot.config.settings import store_backend

    kind, where = store_backend(_config())
    return open_postgres(where) if kind == "postgresql" else None


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Read-only: checks the chain, the head, the store's events and witnessed anchors."""
    from bot.records.audit_verify import verify_data_dir

    anchors: list[tuple[int, str]] = list(args.anchor or [])
    pg = _postgres_audit()
    if pg is not None:  # STORE_URL=postgresql://…: the chain in the database (works while the bot runs)
        store, audit = pg
        try:
            result = audit.verify(anchors)
        finally:
            store.close()
    else:
        result = verify_data_dir(_data_dir(), anchors)
    for note in result.notes:
        print(f"note: {note}")
    if result.ok:
        witnessed = (
            f", anchor{'s' if len(anchors) > 1 else ''} {', '.join(str(a[0]) for a in anchors)} match"
            if anchors
            else ""
        )
        print(f"audit log OK: {result.count} entries, chain, head and store events agree{witnessed}")
        if result.head is not None and result.head[0]:
            print(f"head {result.head[0]}:{result.head[1]}")
        return 0
    print(f"audit log FAILED: {len(result.problems)} problem(s) in {result.count} entries")
    for problem in result.problems:
        print(f"  - {problem}")
    return 1


def cmd_audit_history(args: argparse.Namespace) -> int:
    from bot.records.audit import read_entries

    pg = _postgres_audit()
    if pg is not None:
        store, audit = pg
        try:
            entries = audit.history(args.inquiry_id)
        finally:
            store.close()
    else:
        entries = read_entries(_data_dir() / "audit" / "audit.jsonl")
    for e in entries:
        if e.inquiry_id != args.inquiry_id:
            continue
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        print(f"{e.seq:>6}  {e.at.isoformat()}  {e.actor:<12} {e.action:<16} {detail}".rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.app.store import open_configured
    from bot.records.export import export_records

    store, _ = open_configured(_config())
    try:
        with _output(args.out) as out:
            counts = export_records(store, args.since, args.format, out)
    finally:
        store.close()
    print(f"exported {counts.inquiries} inquiries and {counts.events} events", file=sys.stderr)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.app.store import open_configured
    from bot.records.privacy import forget

    config = _config()
    data_dir = config.data_dir
    channels = [config.slack.channel] if config.slack else []
    store, audit = open_configured(config)
    try:
        report = forget(data_dir, store, args.email, actor=args.actor, audit=audit, slack_channels=channels)
    except UsageError as e:
        print(f"inquiry-bot forget: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        f"erasure {report.erasure}: {len(report.inquiries)} inquiries pseudonymised "
        f"({', '.join(report.inquiries) or 'none'}), the person erased from {len(report.mentions)} more "
        f"and from {report.meta_redacted} other records, {report.mail_files} raw mail files and "
        f"{report.meta_records} pending records deleted; {report.slack_updates} Slack clean-ups owed "
        "(the bot performs them when it runs)"
    )
    if report.leftovers:
        print("the address is still found in:", file=sys.stderr)
        for name in report.leftovers:
            print(f"  - {name}", file=sys.stderr)
        return 1
    return 0


def cmd_subject_export(args: argparse.Namespace) -> int:
    from bot.app.store import open_configured
    from bot.records.privacy import subject_export

    store, _ = open_configured(_config())
    try:
        data: dict[str, Any] = subject_export(store, args.email)
    except UsageError as e:
        print(f"inquiry-bot subject-export: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    with _output(args.out) as out:
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")
    return 0


def add_commands(sub: Any) -> None:
    """Register the record commands on ``sub`` (what ``add_subparsers()`` returned)."""
    audit = sub.add_parser("audit", help="check or read the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check every hash, the chain, the head and the store's events (read-only)"
    )
    verify.add_argument(
        "--anchor",
        type=_anchor,
        action="append",
        metavar="SEQ:HASH",
        help="a head witnessed outside DATA_DIR (the daily audit-anchor message); repeatable",
    )
    verify.set_defaults(func=cmd_audit_verify)
    history = audit_sub.add_parser("history", help="print one inquiry's audit entries")
    history.add_argument("inquiry_id", metavar="ID", help="the inquiry's number, as on its card")
    history.set_defaults(func=cmd_audit_history)

    exp = sub.add_parser("export", help="export inquiries and events for a CRM or an auditor")
    exp.add_argument("--since", type=_date, required=True, metavar="DATE", help="e.g. 2026-01-01")
    exp.add_argument("--format", choices=["csv", "jsonl"], default="jsonl", help="output format")
    exp.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    exp.set_defaults(func=cmd_export)

    fg = sub.add_parser("forget", help="GDPR: erase everything held on a person (stop the bot first)")
    fg.add_argument("email", metavar="EMAIL", help="the person's email address")
    fg.add_argument("--actor", default="cli", help="who asked, for the audit trail (a user id)")
    fg.set_defaults(func=cmd_forget)

    se = sub.add_parser("subject-export", help="GDPR: write everything held on a person as JSON")
    se.add_argument("email", metavar="EMAIL", help="the person's email address")
    se.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    se.set_defaults(func=cmd_subject_export)
