"""GDPR: forget leaves no trace of a person in DATA_DIR, subject export, retention purge."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.core.errors import UsageError
from bot.core.models import Status
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.records.audit import AuditLog
from bot.records.privacy import forget, pseudonym, purge_closed_bodies, subject_export
from bot.triage import TriageConfig

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
ADDR = "Zofia.Kowalczyk@Licht-Tech.de"
LOCAL = "zofia.kowalczyk"


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: datetime


def _mail(
    sender: str,
    subject: str,
    body: str,
    msg_id: str,
    *,
    to: str = "sales@brightway-led.com",
    in_reply_to: str | None = None,
    cte: str | None = None,
    attachment: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = msg_id
    msg["Date"] = "Thu, 26 Nov 2026 08:00:00 +0100"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body, cte=cte) if cte else msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4 spec", maintype="application", subtype="pdf", filename=attachment)
    return msg.as_bytes()


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, TinyStore, Outbox, Ingestor]:
    store = open_store(tmp_path, shards=4)
    outbox = Outbox(store)
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    ingestor = Ingestor(store, outbox, config, lambda: NOW, keep_raw=True, sent_folders=frozenset({"Sent"}))
    return tmp_path, store, outbox, ingestor


def _fill(desk: tuple[Path, TinyStore, Outbox, Ingestor]) -> dict[str, str]:
    _, store, outbox, ingestor = desk
    ids: dict[str, str] = {}
    first = ingestor.deliver(
        "INBOX",
        Fetched(
            1,
            _mail(
                f"Zofia Kowalczyk <{ADDR}>",
                "RFQ 2,000 LED panels for Licht-Tech GmbH",
                "Dear sales team,\nI am purchasing manager at Licht-Tech GmbH. We need 2,000 pcs of "
                "60x60 LED panels, 40W, CE, FOB Shenzhen. Please quote.\n"
                f"Zofia Kowalczyk\n{ADDR}\n+49 30 1234567",
                "<rfq-1@licht-tech.de>",
                attachment="zofia.kowalczyk-specs.pdf",
            ),
            NOW - timedelta(days=2),
        ),
    )
    ids["zofia"] = first.inquiry_id or ""
    # A follow-up in quoted-printable, and our own reply found in the Sent folder.
    ingestor.deliver(
        "INBOX",
        Fetched(
            2,
            _mail(
                f"Zofia Kowalczyk <{ADDR.lower()}>",
                "Re: RFQ 2,000 LED panels",
                "Any news on the quotation? Grüße, Zofia Kowalczyk – Einkauf",
                "<rfq-2@licht-tech.de>",
                in_reply_to="<rfq-1@licht-tech.de>",
                cte="quoted-printable",
            ),
            NOW - timedelta(days=1),
        ),
    )
    ingestor.deliver(
        "Sent",
        Fetched(
            3,
            _mail(
                "Lin <sales@brightway-led.com>",
                "Re: RFQ 2,000 LED panels",
                "Dear Ms Kowalczyk, our quotation is attached.",
                "<reply-1@brightway-led.com>",
                to=f"Zofia Kowalczyk <{ADDR}>",
                in_reply_to="<rfq-2@licht-tech.de>",
                cte="base64",
            ),
            NOW - timedelta(hours=20),
        ),
    )
    # A second inquiry of hers, and two other buyers (one of them mentions her address).
    ids["zofia2"] = (
        ingestor.deliver(
            "INBOX",
            Fetched(
                4,
                _mail(
                    f"Zofia Kowalczyk <{ADDR}>",
                    "Samples of high bay lights",
                    "Please send 2 samples of your 150W UFO high bay, DDP Berlin.",
                    "<rfq-3@licht-tech.de>",
                ),
                NOW - timedelta(hours=5),
            ),
        ).inquiry_id
        or ""
    )
    ids["carlos"] = (
        ingestor.deliver(
            "INBOX",
            Fetched(
                5,
                _mail(
                    "Carlos Ruiz <carlos@iluminacion-ruiz.mx>",
                    "Cotización paneles LED",
                    "Buenos días, necesitamos 500 paneles LED 60x60 para un proyecto en Monterrey.",
                    "<c1@iluminacion-ruiz.mx>",
                ),
                NOW - timedelta(hours=3),
            ),
        ).inquiry_id
        or ""
    )
    ids["max"] = (
        ingestor.deliver(
            "INBOX",
            Fetched(
                6,
                _mail(
                    "Max Braun <max@elektro-braun.de>",
                    "Price list request",
                    f"Please send your price list for LED tubes; copy our partner {ADDR} as well.",
                    "<m1@elektro-braun.de>",
                ),
                NOW - timedelta(hours=2),
            ),
        ).inquiry_id
        or ""
    )
    # Deliveries owed, delivered and dead that carry her address, and a saved draft.
    outbox.enqueue("note:x", "note", ids["zofia"], {"to": ADDR, "text": "Dear Ms Kowalczyk"}, NOW)
    outbox.enqueue("note:y", "note", ids["zofia2"], {"who": ADDR}, NOW)
    outbox.done("note:y", NOW)
    outbox.enqueue("note:z", "note", ids["zofia"], {"who": ADDR}, NOW)
    outbox.give_up("note:z", NOW, "channel_not_found")
    store.drafts.add({"inquiry_id": ids["zofia"], "to": ADDR.lower(), "body": "Dear Ms Kowalczyk"})
    store.set_fields(ids["zofia"], card_ts="1700000000.000100", card_channel="C1", owner="U1")
    return ids


def _stats(store: TinyStore) -> tuple[Counter[str], Counter[str], Counter[str | None], int]:
    s = store.summaries()
    return (
        Counter(x.market for x in s),
        Counter(x.status for x in s),
        Counter(x.tier for x in s),
        len(s),
    )


def _files_containing(root: Path, needle: str) -> list[str]:
    low = needle.lower().encode()
    return [
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and low in p.read_bytes().lower()
    ]


def test_forget_leaves_no_trace_of_the_address_anywhere_in_data_dir(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    data_dir, store, _, _ = desk
    ids = _fill(desk)
    assert _files_containing(data_dir, ADDR)  # the test would prove nothing otherwise
    assert len(list((data_dir / "mail").rglob("*.eml"))) == 6
    before = _stats(store)

    report = forget(data_dir, store, f" <{ADDR.upper()}> ", now=NOW, actor="U9ADMIN")
    after = _stats(store)
    store.close()

    assert set(report.inquiries) == {ids["zofia"], ids["zofia2"]}
    assert report.mentions == (ids["max"],)
    assert report.mail_files == 5  # her 3 mails, our reply to her, Max's mail naming her
    assert report.meta_records >= 4
    assert report.leftovers == ()
    for needle in (ADDR, LOCAL, "kowalczyk", "Licht-Tech GmbH", "zofia"):
        assert _files_containing(data_dir, needle) == [], needle
    assert after == before


def test_forget_keeps_figures_and_a_usable_store(desk: tuple[Path, TinyStore, Outbox, Ingestor]) -> None:
    data_dir, store, _outbox, _ = desk
    ids = _fill(desk)
    original = store.require(ids["zofia"])
    report = forget(data_dir, store, ADDR, now=NOW)
    store.close()

    reopened = open_store(data_dir)
    erased = reopened.require(ids["zofia"])
    assert erased.buyer_addr == pseudonym(report.erasure) == reopened.require(ids["zofia2"]).buyer_addr
    assert erased.buyer_name == "[erased]" and erased.triage.company is None
    assert all(m.new_text == "[erased]" and m.subject == "[erased]" for m in erased.messages)
    assert all(a.filename == "[erased]" for m in erased.messages for a in m.attachments)
    assert erased.messages[0].attachments  # the attachment is still counted, just nameless
    assert (erased.triage.market, erased.triage.country, erased.tier, erased.status) == (
        original.triage.market,
        original.triage.country,
        original.tier,
        original.status,
    )
    assert (erased.created_at, erased.first_response_at) == (original.created_at, original.first_response_at)
    assert erased.events[-1].action == "data_erased"
    assert reopened.find_thread(ADDR.lower(), original.subject_key) is None
    carlos = reopened.require(ids["carlos"])
    assert carlos.buyer_addr == "carlos@iluminacion-ruiz.mx" and carlos.buyer_name == "Carlos Ruiz"
    assert "[erased]" in reopened.require(ids["max"]).messages[0].new_text
    # The Slack card is owed a refresh so it shows the erased version; an unposted one is still owed.
    assert f"card:{ids['zofia2']}" in [i.key for i in Outbox(reopened).due(NOW + timedelta(minutes=1))]
    assert [i.key for i in Outbox(reopened).due(NOW + timedelta(minutes=1))].count(
        f"update:{ids['zofia']}"
    ) == 1
    reopened.close()


def test_forget_is_recorded_in_the_audit_trail_without_the_address(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    data_dir, store, _, _ = desk
    ids = _fill(desk)
    report = forget(data_dir, store, ADDR, now=NOW, actor="U9ADMIN")
    trail = AuditLog(data_dir / "audit" / "audit.jsonl")
    assert trail.verify().ok
    erased = [(e.actor, dict(e.detail)) for e in trail.history(ids["zofia"]) if e.action == "data_erased"]
    assert ("U9ADMIN", {"erasure": report.erasure}) in erased
    assert trail.history(ids["zofia"])[0].action == "received"  # the store audits every event too
    summary = [e for e in trail.entries() if e.inquiry_id is None]
    assert summary[0].detail == {"erasure": report.erasure, "inquiries": 2, "mail_files": 5, "mentions": 1}
    store.close()


def test_forget_of_an_unknown_address_changes_nothing_but_is_recorded(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    data_dir, store, _, _ = desk
    ids = _fill(desk)
    before = store.require(ids["zofia"])
    report = forget(data_dir, store, "nobody@nowhere.example", now=NOW)
    assert report.inquiries == () and report.mail_files == 0
    assert store.require(ids["zofia"]) == before
    assert len(list((data_dir / "mail").rglob("*.eml"))) == 6
    store.close()


def test_forget_refuses_something_that_is_not_an_address(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    data_dir, store, _, _ = desk
    with pytest.raises(UsageError):
        forget(data_dir, store, "zofia")
    store.close()


def test_subject_export_holds_the_persons_inquiries_messages_events_and_records(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    _data_dir, store, _, _ = desk
    ids = _fill(desk)
    data = subject_export(store, ADDR.upper())
    json.dumps(data)  # JSON-ready
    assert data["subject"] == ADDR.lower()
    assert [i["id"] for i in data["inquiries"]] == [ids["zofia"], ids["zofia2"]]
    first = data["inquiries"][0]
    assert first["buyer_name"] == "Zofia Kowalczyk"
    assert [m["message_id"] for m in first["messages"]] == [
        "<rfq-1@licht-tech.de>",
        "<rfq-2@licht-tech.de>",
        "<reply-1@brightway-led.com>",
    ]
    assert "2,000 pcs" in first["messages"][0]["new_text"]
    assert first["events"][0]["action"] == "received"
    assert data["mentioned_in_inquiries"] == [ids["max"]]
    tables = Counter(r["table"] for r in data["other_records"])
    assert tables["drafts"] == 1 and tables["outbox_dead"] == 1
    outbox_keys = {r["record"]["key"] for r in data["other_records"] if r["table"] == "outbox"}
    assert {"note:x", f"card:{ids['zofia']}", f"card:{ids['zofia2']}"} <= outbox_keys
    assert f"card:{ids['carlos']}" not in outbox_keys
    assert len(data["raw_mail_files"]) == 5
    assert all(ids["carlos"] != i["id"] for i in data["inquiries"])
    store.close()


def test_retention_purges_bodies_of_old_closed_inquiries_only(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    data_dir, store, _, _ = desk
    ids = _fill(desk)
    store.set_fields(ids["carlos"], status=Status.LOST)
    store.set_fields(ids["zofia2"], status=Status.WON)
    later = NOW + timedelta(days=40)
    mails_before = len(list((data_dir / "mail").rglob("*.eml")))

    assert purge_closed_bodies(store, later, retention_days=30) == 2
    for key in ("carlos", "zofia2"):
        inq = store.require(ids[key])
        assert all(m.new_text == "" for m in inq.messages) and inq.status.closed
    assert store.require(ids["zofia"]).messages[0].new_text  # still open: kept
    assert len(list((data_dir / "mail").rglob("*.eml"))) == mails_before - 2
    # Ran within the hour: nothing to do; later runs skip what was already purged.
    assert purge_closed_bodies(store, later + timedelta(minutes=5), retention_days=30) == 0
    assert purge_closed_bodies(store, later + timedelta(hours=2), retention_days=30) == 0
    store.close()


def test_retention_keeps_closed_inquiries_that_are_still_young(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
) -> None:
    _, store, _, _ = desk
    ids = _fill(desk)
    store.update(ids["carlos"], lambda i: replace(i, status=Status.LOST))
    assert purge_closed_bodies(store, NOW + timedelta(days=10), retention_days=30) == 0
    assert store.require(ids["carlos"]).messages[0].new_text
    store.close()


def test_raw_mail_that_names_the_address_only_in_encoded_form_is_found(tmp_path: Path) -> None:
    from bot.records.privacy import raw_files_for

    store = open_store(tmp_path)
    encoded = _mail(
        "Max Braun <max@elektro-braun.de>",
        "Partner",
        f"Bitte kontaktieren Sie auch {ADDR} für die Bestellung.",
        "<m9@elektro-braun.de>",
        cte="base64",
    )
    assert ADDR.lower().encode() not in encoded.lower()
    store.save_raw("ab01", encoded)
    store.save_raw("ab02", _mail("x@y.example", "Hi", "unrelated", "<u1@y.example>"))
    assert (tmp_path / "mail" / "ab" / "ab01.eml").read_bytes() == encoded
    found = raw_files_for(store, (), ADDR.lower())
    assert found == ["ab01"]
    store.close()


def _run_cli(argv: list[str]) -> int:
    import argparse

    from bot.app.cli.records import add_commands

    parser = argparse.ArgumentParser(prog="inquiry-bot")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_subject_export_then_forget(
    desk: tuple[Path, TinyStore, Outbox, Ingestor],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir, store, _, _ = desk
    ids = _fill(desk)
    store.close()
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    out_file = data_dir.parent / "subject.json"
    assert _run_cli(["subject-export", ADDR, "--out", str(out_file)]) == 0
    exported = json.loads(out_file.read_text())
    assert [i["id"] for i in exported["inquiries"]] == [ids["zofia"], ids["zofia2"]]
    assert _run_cli(["forget", ADDR, "--actor", "U9ADMIN"]) == 0
    assert "2 inquiries pseudonymised" in capsys.readouterr().out
    assert _files_containing(data_dir, ADDR) == []
    assert _run_cli(["forget", "not-an-address"]) == 2
