"""CLI sub-commands for records: ``audit verify|history``, ``export``, ``forget``, ``subject-export``.

``bot.cli.build_parser`` calls :func:`add_commands` with its sub-parsers. Each command
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
from typing import Any, TextIO

from bot.errors import ConfigError, UsageError


def _data_dir() -> Path:
    from bot.config import load_config

    try:
        return load_config(os.environ).data_dir
    except ConfigError as e:
        print(f"inquiry-bot: {e}", file=sys.stderr)
        raise SystemExit(2) from e


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


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from bot.audit import AuditLog

    path = _data_dir() / "audit" / "audit.jsonl"
    if not path.exists():
        print(f"no audit log at {path}")
        return 0
    result = AuditLog(path).verify()
    if result.ok:
        print(f"audit log OK: {result.count} entries, chain and head intact")
        return 0
    print(f"audit log FAILED: {len(result.problems)} problem(s) in {result.count} entries")
    for problem in result.problems:
        print(f"  - {problem}")
    return 1


def cmd_audit_history(args: argparse.Namespace) -> int:
    from bot.audit import AuditLog

    log = AuditLog(_data_dir() / "audit" / "audit.jsonl")
    for e in log.history(args.inquiry_id):
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        print(f"{e.seq:>6}  {e.at.isoformat()}  {e.actor:<12} {e.action:<16} {detail}".rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.export import export_records
    from bot.store.repo import Store

    store = Store(_data_dir())
    try:
        with _output(args.out) as out:
            counts = export_records(store, args.since, args.format, out)
    finally:
        store.close()
    print(f"exported {counts.inquiries} inquiries and {counts.events} events", file=sys.stderr)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.privacy import forget
    from bot.store.repo import Store

    data_dir = _data_dir()
    store = Store(data_dir)
    try:
        report = forget(data_dir, store, args.email, actor=args.actor)
    except UsageError as e:
        print(f"inquiry-bot forget: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        f"erasure {report.erasure}: {len(report.inquiries)} inquiries pseudonymised "
        f"({', '.join(report.inquiries) or 'none'}), address removed from {len(report.mentions)} more, "
        f"{report.mail_files} raw mail files and {report.meta_records} pending records deleted"
    )
    if report.leftovers:
        print("the address is still found in:", file=sys.stderr)
        for name in report.leftovers:
            print(f"  - {name}", file=sys.stderr)
        return 1
    return 0


def cmd_subject_export(args: argparse.Namespace) -> int:
    from bot.privacy import subject_export
    from bot.store.repo import Store

    store = Store(_data_dir())
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
    verify = audit_sub.add_parser("verify", help="check every hash, the chain and the head checkpoint")
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
