"""Export of inquiries and events for a CRM or an auditor: CSV and JSON Lines round trips."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.core.models import Event, Status, Tier
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.records.export import CSV_COLUMNS, ExportCounts, export_records
from bot.triage import TriageConfig
from tests.factories import make_email

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> TinyStore:
    store = open_store(tmp_path, shards=4)
    clock = [NOW - timedelta(days=30)]
    ingestor = Ingestor(
        store, Outbox(store), TriageConfig(own_domains=frozenset({"brightway-led.com"})), lambda: clock[0]
    )
    old = ingestor.ingest(
        make_email(
            from_addr="anna@licht.de",
            from_name="Anna Schmidt",
            subject="RFQ LED panels",
            new_text="We need 2,000 pcs of 60x60 LED panels, 40W, FOB Shenzhen, target price USD 9.",
        ),
        NOW - timedelta(days=30),
    )
    clock[0] = NOW - timedelta(days=1)
    new = ingestor.ingest(
        make_email(
            from_addr="carlos@iluminacion-ruiz.mx",
            from_name="Carlos Ruiz",
            subject='=HYPERLINK("http://evil.example","quote"), "urgent"',
            new_text="Necesitamos 500 paneles LED 60x60, por favor cotización.",
        ),
        NOW - timedelta(days=1),
    )
    old_id, new_id = old.inquiry_id or "", new.inquiry_id or ""
    store.update(
        old_id,
        lambda i: replace(
            i,
            status=Status.QUOTED,
            owner="U1",
            tier=Tier.A,
            first_response_at=NOW - timedelta(days=29),
            answered_at=NOW - timedelta(days=29),
            events=(*i.events, Event(NOW - timedelta(hours=2), "U1", "tier", "B -> A")),
        ),
    )
    store.update(new_id, lambda i: replace(i, events=(*i.events, Event(NOW, "U2", "claimed", ""))))
    return store


def test_jsonl_has_one_typed_object_per_line(store: TinyStore) -> None:
    out = io.StringIO()
    counts = export_records(store, NOW - timedelta(days=60), "jsonl", out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert counts == ExportCounts(inquiries=2, events=4)
    assert [r["type"] for r in rows] == ["inquiry", "inquiry", "event", "event", "event", "event"]
    anna = rows[0]
    assert anna["buyer_email"] == "anna@licht.de" and anna["buyer_name"] == "Anna Schmidt"
    assert (anna["market"], anna["tier"], anna["status"], anna["owner"]) == ("EU", "A", "quoted", "U1")
    assert datetime.fromisoformat(anna["created_at"]) == NOW - timedelta(days=30)
    assert datetime.fromisoformat(anna["first_response_at"]) == NOW - timedelta(days=29)
    events = rows[2:]
    assert [e["action"] for e in events] == ["received", "received", "tier", "claimed"]
    assert [datetime.fromisoformat(e["at"]) for e in events] == sorted(
        datetime.fromisoformat(e["at"]) for e in events
    )
    assert events[2] == {
        "type": "event",
        "inquiry_id": anna["inquiry_id"],
        "at": (NOW - timedelta(hours=2)).isoformat(),
        "actor": "U1",
        "action": "tier",
        "detail": "B -> A",
    }


def test_since_selects_new_inquiries_and_recent_events_of_old_ones(store: TinyStore) -> None:
    out = io.StringIO()
    counts = export_records(store, NOW - timedelta(days=2), "jsonl", out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert counts == ExportCounts(inquiries=1, events=3)
    assert [r["buyer_email"] for r in rows if r["type"] == "inquiry"] == ["carlos@iluminacion-ruiz.mx"]
    assert [r["action"] for r in rows if r["type"] == "event"] == ["received", "tier", "claimed"]


def test_csv_round_trips_through_the_csv_module(store: TinyStore) -> None:
    out = io.StringIO(newline="")
    export_records(store, NOW - timedelta(days=60), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r["record"] for r in rows] == ["inquiry", "inquiry", "event", "event", "event", "event"]
    anna, carlos = rows[0], rows[1]
    assert anna["buyer_email"] == "anna@licht.de" and anna["tier"] == "A"
    assert anna["company"] == (store.require(anna["inquiry_id"]).triage.company or "")
    assert anna["action"] == "" and anna["at"] == ""  # event columns stay empty on inquiry rows
    tier_event = rows[4]
    assert (tier_event["inquiry_id"], tier_event["actor"], tier_event["detail"]) == (
        anna["inquiry_id"],
        "U1",
        "B -> A",
    )
    assert tier_event["buyer_email"] == ""
    # Quotes and commas survive; a formula is neutralised for spreadsheets.
    assert carlos["subject"] == '\'=HYPERLINK("http://evil.example","quote"), "urgent"'


def test_unknown_format_is_refused(store: TinyStore) -> None:
    with pytest.raises(ValueError):
        export_records(store, NOW, "xml", io.StringIO())  # type: ignore[arg-type]


def test_cli_export_writes_a_csv_file(
    store: TinyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from bot.app.cli.records import add_commands

    store.close()
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    parser = argparse.ArgumentParser(prog="inquiry-bot")
    add_commands(parser.add_subparsers(dest="command"))
    out_file = tmp_path / "export.csv"
    args = parser.parse_args(["export", "--since", "2026-11-01", "--format", "csv", "--out", str(out_file)])
    assert args.func(args) == 0
    with open(out_file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["record"] for r in rows] == ["inquiry", "event", "event", "event"]  # since 1 Nov
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--since", "last tuesday"])
