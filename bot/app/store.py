"""Opening the store: the TinyDB backend under ``DATA_DIR`` with the audit log injected."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.store.repo import TinyStore
from bot.records.audit import AuditLog


def audit_log(data_dir: Path) -> AuditLog:
    """The hash-chained audit log of ``data_dir`` (``audit/audit.jsonl``)."""
    return AuditLog(Path(data_dir) / "audit" / "audit.jsonl")


def open_store(data_dir: Path, *, shards: int | None = None) -> TinyStore:
    """The TinyDB store under ``data_dir``; every event on an inquiry goes to its audit log."""
    if shards is None:
        return TinyStore(data_dir, audit=audit_log(data_dir))
    return TinyStore(data_dir, audit=audit_log(data_dir), shards=shards)
