"""``inquiry-bot store migrate``: copy a TinyDB store into PostgreSQL and verify the copy.

What is copied: every inquiry (with its message ids and events), the outbox (pending, done keys,
dead letters), drafts, mailbox checkpoints, key/values, reputation, the text model, member
settings, raw mail and the audit chain (entry for entry, same hashes). Everything is written by
key (upserts), so running it again, after an interruption or after the TinyDB bot ran a little
longer, adds what is new and duplicates nothing. Stop the bot first: TinyDB is one process's.

Verification: the counts of inquiries, pending outbox items, drafts, raw mails, checkpoints and
audit entries match; the copied audit chain verifies and ends on the source's head; a sample of
inquiries (spread over the id range, up to ``SAMPLE``) is compared field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from bot.adapters.store.postgres.store import PostgresStore
from bot.adapters.store.repo import TinyStore
from bot.core.models import Inquiry
from bot.records.audit import AuditLog, _lines
from bot.records.audit_pg import PgAuditLog

SAMPLE = 200


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)
    skipped_tables: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _checkpoints(data_dir: Path) -> list[tuple[str, int, int]]:
    """The mailbox checkpoints of a TinyDB store (``meta.json``, table ``mailbox``)."""
    path = data_dir / "store" / "meta.json"
    try:
        tables = json.loads(path.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return []
    out = []
    for doc in (tables.get("mailbox") or {}).values():
        out.append((str(doc["folder"]), int(doc["uidvalidity"]), int(doc["last_uid"])))
    return sorted(out)


def copy_store(
    data_dir: Path, source: TinyStore, source_audit: AuditLog, target: PostgresStore, target_audit: PgAuditLog
) -> CopyReport:
    """Copy ``source`` (TinyDB under ``data_dir``) into ``target``, then verify; see the module."""
    report = CopyReport()
    copied = report.copied
    copied["inquiries"] = target.put_inquiries(source.all_inquiries())
    for table, record in source.other_records():
        if target.put_record(table, record):
            copied[table] = copied.get(table, 0) + 1
        else:
            report.skipped_tables.add(table)
    for folder, uidvalidity, last_uid in _checkpoints(data_dir):
        target.save_checkpoint(folder, uidvalidity, last_uid)
        copied["checkpoints"] = copied.get("checkpoints", 0) + 1
    for content_hash in source.raw_hashes():
        if not target.has_raw(content_hash):
            raw = source.load_raw(content_hash)
            if raw is not None:
                target.save_raw(content_hash, raw)
        copied["raw mail"] = copied.get("raw mail", 0) + 1
    copied["audit entries"] = 0
    for lineno, raw_line in _lines(source_audit.path):
        try:
            line = json.loads(raw_line)
        except ValueError:
            report.problems.append(f"audit log line {lineno} is unreadable: not copied")
            continue
        target_audit.put_entry(line)
        copied["audit entries"] += 1
    verify(data_dir, source, source_audit, target, target_audit, report)
    return report


def verify(
    data_dir: Path,
    source: TinyStore,
    source_audit: AuditLog,
    target: PostgresStore,
    target_audit: PgAuditLog,
    report: CopyReport,
) -> None:
    problems = report.problems

    def same(what: str, a: int, b: int) -> None:
        if a != b:
            problems.append(f"{what}: {a} in TinyDB, {b} in PostgreSQL")

    same("inquiries", source.count(), target.count())
    same("pending outbox items", source.outbox.pending_count(), target.outbox.pending_count())
    same("dead letters", len(source.outbox.dead()), len(target.outbox.dead()))
    source_drafts = sum(1 for table, _ in source.other_records() if table == "drafts")
    same("drafts", source_drafts, len(target.drafts.all()))
    same("raw mails", len(source.raw_hashes()), len(target.raw_hashes()))
    for folder, uidvalidity, last_uid in _checkpoints(data_dir):
        if target.checkpoint(folder) != (uidvalidity, last_uid):
            problems.append(f"checkpoint of {folder!r} differs")
    result = target_audit.verify()
    problems.extend(f"audit: {p}" for p in result.problems)
    source_head = source_audit.head()
    if source_head[0] and target_audit.hash_at(source_head[0]) != source_head[1]:
        problems.append(f"audit: the copy does not hold the source's last entry (seq {source_head[0]})")
    ids = sorted(int(s.id) for s in source.summaries())
    step = max(1, len(ids) // SAMPLE)
    sample = [str(i) for i in ids[::step][:SAMPLE]] + ([str(ids[-1])] if ids else [])
    for inq_id in dict.fromkeys(sample):
        a, b = source.get(inq_id), target.get(inq_id)
        report.compared += 1
        if a is None or b is None:
            problems.append(f"inquiry {inq_id}: missing in {'PostgreSQL' if b is None else 'TinyDB'}")
            continue
        differ = _differing_fields(a, b)
        if differ:
            problems.append(f"inquiry {inq_id}: {', '.join(differ)} differ")


def _differing_fields(a: Inquiry, b: Inquiry) -> list[str]:
    return [f.name for f in fields(a) if getattr(a, f.name) != getattr(b, f.name)]


def summary_lines(report: CopyReport) -> list[str]:
    lines = [f"copied {n} {what}" for what, n in report.copied.items()]
    if report.skipped_tables:
        lines.append(f"not copied (unknown tables): {', '.join(sorted(report.skipped_tables))}")
    lines.append(f"compared {report.compared} inquiries field by field")
    return lines
