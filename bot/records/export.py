"""Export inquiries and their events for a CRM or an auditor: CSV or JSON Lines.

``since`` selects inquiries *created* at or after it, and events that *happened* at or
after it (on any inquiry, so an auditor sees every action in the period, also on older
inquiries). Filtered mail (newsletters, bounces...) is included; ``category`` tells it apart.

JSONL: one object per line with ``"type": "inquiry"`` or ``"type": "event"``; times are
ISO-8601 UTC strings, missing values ``null``. Inquiries come first (by id), then events
(by time).

CSV: **one file** with a ``record`` column (``inquiry`` | ``event``) and the union of both
record's columns (:data:`CSV_COLUMNS`); the columns that do not apply to a row are empty.
One file keeps a single header a spreadsheet or CRM import can filter on. Cells that
start with ``= + - @`` or a tab/CR are prefixed with ``'`` so a spreadsheet does not run
buyer-controlled text as a formula (OWASP "CSV injection").

    >>> export_records(store, datetime(2026, 1, 1, tzinfo=UTC), "jsonl", sys.stdout)
    ExportCounts(inquiries=12, events=57)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from bot.adapters.store.codec import dt_to_str
from bot.core.models import Inquiry
from bot.desk.ports import Store

Format = Literal["csv", "jsonl"]

INQUIRY_FIELDS = (
    "inquiry_id",
    "created_at",
    "buyer_email",
    "buyer_name",
    "company",
    "country",
    "market",
    "language",
    "tier",
    "status",
    "category",
    "owner",
    "first_response_at",
    "answered_at",
    "subject",
)
EVENT_FIELDS = ("inquiry_id", "at", "actor", "action", "detail")
CSV_COLUMNS = ("record", *INQUIRY_FIELDS, *(f for f in EVENT_FIELDS if f != "inquiry_id"))
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportCounts:
    inquiries: int
    events: int


def inquiry_row(inq: Inquiry) -> dict[str, Any]:
    return {
        "inquiry_id": inq.id,
        "created_at": dt_to_str(inq.created_at),
        "buyer_email": inq.buyer_addr,
        "buyer_name": inq.buyer_name,
        "company": inq.triage.company,
        "country": inq.triage.country,
        "market": inq.triage.market.value,
        "language": inq.triage.language,
        "tier": inq.tier.value if inq.tier else None,
        "status": inq.status.value,
        "category": inq.triage.category.value,
        "owner": inq.owner,
        "first_response_at": dt_to_str(inq.first_response_at),
        "answered_at": dt_to_str(inq.answered_at),
        "subject": inq.subject,
    }


def collect(store: Store, since: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The inquiry rows and event rows selected by ``since`` (pure data, no formatting)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    inquiries: list[tuple[int, dict[str, Any]]] = []
    events: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for inq in store.all_inquiries():
        if inq.created_at >= since:
            inquiries.append((int(inq.id), inquiry_row(inq)))
        for n, ev in enumerate(inq.events):
            if ev.at >= since:
                row = {
                    "inquiry_id": inq.id,
                    "at": dt_to_str(ev.at),
                    "actor": ev.actor,
                    "action": ev.action,
                    "detail": ev.detail,
                }
                events.append((ev.at, int(inq.id), n, row))
    inquiries.sort(key=lambda t: t[0])
    events.sort(key=lambda t: (t[0], t[1], t[2]))
    return [r for _, r in inquiries], [r for *_, r in events]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(out: TextIO, inquiries: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in inquiries:
        writer.writerow({"record": "inquiry", **{k: _cell(v) for k, v in row.items()}})
    for row in events:
        writer.writerow({"record": "event", **{k: _cell(v) for k, v in row.items()}})


def _write_jsonl(out: TextIO, inquiries: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> None:
    for row in inquiries:
        out.write(json.dumps({"type": "inquiry", **row}, ensure_ascii=False) + "\n")
    for row in events:
        out.write(json.dumps({"type": "event", **row}, ensure_ascii=False) + "\n")


def export_records(store: Store, since: datetime, fmt: Format, out: TextIO) -> ExportCounts:
    """Write the inquiries and events since ``since`` to ``out``; return how many of each."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
    inquiries, events = collect(store, since)
    if fmt == "csv":
        _write_csv(out, inquiries, events)
    else:
        _write_jsonl(out, inquiries, events)
    return ExportCounts(len(inquiries), len(events))
