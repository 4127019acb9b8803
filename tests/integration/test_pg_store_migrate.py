"""``inquiry-bot store migrate --to postgresql://…`` from a populated TinyDB store (issue #15)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from bot.app.cli.main import main
from bot.app.store import open_postgres, open_store
from bot.core.models import Event, MessageRecord
from bot.core.prefs import MemberPrefs
from tests.inquiries import T0, make_inquiry

pytestmark = pytest.mark.postgres

RAW = b"From: anna@licht.de\r\nSubject: LED panels\r\n\r\nWe need 2,000 pcs.\r\n"


def _populate(data_dir: Path) -> tuple[int, str]:
    """A TinyDB store with some of everything; returns its audit head."""
    store = open_store(data_dir, shards=4)
    try:
        for n in range(1, 41):
            inq = make_inquiry(str(n), events=(Event(T0, "mail", "received"),))
            if n % 3 == 0:
                inq = replace(
                    inq,
                    messages=(
                        *inq.messages,
                        MessageRecord(f"<f{n}@buyer.de>", "in", T0, "anna@licht.de", "Re", ""),
                    ),
                )
            store.add(inq)
        store.update("2", lambda i: replace(i, owner="U1", events=(*i.events, Event(T0, "U1", "claimed"))))
        store.outbox.add("card:1", "card", "1", {"n": 1}, T0)
        store.outbox.add("card:2", "card", "2", {}, T0, low=True)
        store.outbox.add("card:3", "card", "3", {}, T0)
        store.outbox.done("card:3", T0)
        store.outbox.add("ping:4", "ping", "4", {}, T0)
        store.outbox.give_up("ping:4", T0, "channel_not_found")
        store.drafts.add({"inquiry_id": "1", "status": "drafted", "body": "Dear Anna"})
        store.drafts.add(
            {"inquiry_id": "2", "status": "scheduled", "send_at": (T0 + timedelta(hours=1)).isoformat()}
        )
        store.save_checkpoint("INBOX", 7, 123)
        store.set_meta("tz:U1", "Europe/Berlin")
        store.set_reputation("sender", "anna@licht.de", {"real": 3})
        store.set_text_model({"docs": 4})
        store.set_member_prefs("U1", MemberPrefs.from_doc({"lang": "zh"}))
        store.set_home_state("U1", {"filter": "mine"})
        store.save_raw("ab" * 32, RAW)
    finally:
        store.close()
    from bot.app.store import audit_log

    return audit_log(data_dir).head()


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("inquiries", "inquiry_messages", "events", "outbox", "drafts", "audit", "raw_mail")
        }


def test_migrate_copies_everything_verifies_and_can_run_again(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _populate(tmp_path)
    assert main(["store", "migrate", "--to", pg_url, "--from", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "copied 40 inquiries" in out and "verified" in out

    source = open_store(tmp_path, shards=4)
    target, audit = open_postgres(pg_url)
    try:
        assert target.count() == 40
        for n in ("1", "2", "3", "40"):
            assert target.get(n) == source.get(n)
        assert target.find_by_message_id("<f3@buyer.de>") == "3"
        assert target.require("2").owner == "U1"
        assert [i.key for i in target.outbox.due(T0)] == ["card:1", "card:2"]
        assert not target.outbox.add("card:3", "card", "3", {}, T0)  # delivered once already
        assert [d["key"] for d in target.outbox.dead()] == ["ping:4"]
        assert [d["inquiry_id"] for d in target.drafts.scheduled()] == ["2"]
        assert target.checkpoint("INBOX") == (7, 123)
        assert target.get_meta("tz:U1") == "Europe/Berlin"
        assert target.reputation("sender", "anna@licht.de") == {"real": 3}
        assert target.text_model() == {"docs": 4}
        assert target.member_prefs("U1") == MemberPrefs.from_doc({"lang": "zh"})
        assert target.home_state("U1") == {"filter": "mine"}
        assert target.load_raw("ab" * 32) == RAW
        assert audit.head() == head and audit.verify().ok
        assert int(target.next_id()) > 40
    finally:
        source.close()
        target.close()

    before = _counts(pg_url)
    assert main(["store", "migrate", "--to", pg_url, "--from", str(tmp_path)]) == 0  # safe again
    assert _counts(pg_url) == before

    # The bot goes on on PostgreSQL: its audit entries continue the copied chain.
    target, audit = open_postgres(pg_url)
    try:
        target.update("5", lambda i: replace(i, owner="U2", events=(*i.events, Event(T0, "U2", "claimed"))))
        assert audit.head()[0] == head[0] + 1
        assert target.drafts.add({"status": "drafted"}) == "d3"  # ids go on after the copied ones
        result = audit.verify()
        assert result.ok, result.problems
    finally:
        target.close()


def test_migrate_refuses_a_database_whose_audit_chain_differs(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _populate(tmp_path)
    target, audit = open_postgres(pg_url)
    try:
        audit.append(None, "bot", "anchor", {"day": "2026-11-20"}, T0)  # a bot already ran here
    finally:
        target.close()
    assert main(["store", "migrate", "--to", pg_url, "--from", str(tmp_path)]) == 1
    assert "differs from the source" in capsys.readouterr().err


def test_migrate_wants_a_postgresql_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "migrate", "--to", "mysql://u:secret@h/db", "--from", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "STORE_URL" in err and "secret" not in err
