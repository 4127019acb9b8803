"""The record commands on PostgreSQL (``STORE_URL``): audit verify/history, export, forget,
subject-export and doctor's store line, with another instance's store open meanwhile."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from bot.adapters.store.codec import inquiry_to_doc
from bot.app.cli.main import main
from bot.app.doctor import check_store
from bot.app.store import open_postgres
from bot.config.settings import load_config
from bot.core.models import Event
from tests.inquiries import T0, make_inquiry

pytestmark = pytest.mark.postgres


@pytest.fixture
def running(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A populated PostgreSQL store, held open as a running bot would, and the CLI's env."""
    monkeypatch.setenv("STORE_URL", pg_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    store, audit = open_postgres(pg_url)
    store.add(make_inquiry("1", events=(Event(T0, "mail", "received"),)))
    store.add(
        make_inquiry(
            "2",
            buyer_addr="bob@acme.example",
            events=(Event(T0, "mail", "received"),),
        )
    )
    store.update("1", lambda i: replace(i, owner="U1", events=(*i.events, Event(T0, "U1", "claimed"))))
    store.save_raw("ab" * 32, b"From: anna@licht.de\r\n\r\nhello")
    try:
        yield store, audit
    finally:
        store.close()


def test_audit_verify_and_history_while_the_bot_runs(
    running, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    assert main(["audit", "verify"]) == 0
    assert "audit log OK: 3 entries" in capsys.readouterr().out
    assert main(["audit", "history", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in lines] == ["received", "claimed"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE audit SET body = replace(body, 'claimed', 'dropped') WHERE seq = 3")
    assert main(["audit", "verify"]) == 1
    assert "content does not match its hash" in capsys.readouterr().out


def test_export_forget_and_subject_export_while_the_bot_runs(
    running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    store, audit = running
    out = tmp_path / "export.jsonl"
    assert main(["export", "--since", "2026-01-01", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) >= 2
    subject = tmp_path / "anna.json"
    assert main(["subject-export", "anna@licht.de", "--out", str(subject)]) == 0
    assert "anna@licht.de" in subject.read_text()
    capsys.readouterr()
    assert main(["forget", "anna@licht.de"]) == 0, capsys.readouterr().err
    # The running instance sees the erasure at once: nothing of hers is left.
    assert store.latest_of_buyer("anna@licht.de") is None
    assert store.find_thread("anna@licht.de", "led panels 600x600") is None
    assert "licht.de" not in json.dumps([inquiry_to_doc(i) for i in store.all_inquiries()])
    assert store.load_raw("ab" * 32) is None
    assert store.count() == 2 and store.require("1").owner == "U1"
    assert audit.verify().ok
    assert "data_erased" in [e.action for e in audit.entries()]


def test_doctor_reports_the_postgresql_store(running, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    assert check_store(load_config({"STORE_URL": pg_url}), out)
    assert "store in PostgreSQL" in out.getvalue() and "2 emails" in out.getvalue()
    bad = io.StringIO()
    assert not check_store(load_config({"STORE_URL": pg_url.rsplit("/", 1)[0] + "/no_such_db"}), bad)
    assert "could not connect" in bad.getvalue()
