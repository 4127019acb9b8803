"""Ingest: new inquiries, follow-ups, filtered mail, dedupe, replies from the Sent folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.store.memory import MemoryStore
from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.config.settings import load_config
from bot.core.models import Inquiry, Market
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.desk.ports import Summary
from bot.desk.triage_context import Trust
from bot.intake.parse import parse_email
from bot.triage import TriageConfig
from tests.factories import buyer_mail as _buyer_mail
from tests.factories import make_email
from tests.inquiries import make_inquiry
from tests.paths import SAMPLES

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path: Path) -> tuple[TinyStore, Outbox, Ingestor]:
    store = open_store(tmp_path, shards=4)
    outbox = Outbox(store)
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    return store, outbox, Ingestor(store, outbox, config, lambda: NOW, keep_raw=True)


def test_new_buyer_mail_becomes_an_inquiry_with_a_card_owed(desk: tuple[TinyStore, Outbox, Ingestor]) -> None:
    store, outbox, ingestor = desk
    result = ingestor.ingest(_buyer_mail(), NOW - timedelta(minutes=3))  # type: ignore[arg-type]
    assert result.outcome == "new"
    inq = store.require(result.inquiry_id or "")
    assert inq.triage.is_inquiry and inq.triage.market is Market.EU
    assert inq.created_at == NOW - timedelta(minutes=3)  # arrival, never the Date header
    assert inq.sla_started_at == inq.created_at
    assert [i.key for i in outbox.due(NOW)] == [f"card:{inq.id}"]


def test_same_message_twice_is_stored_once(desk: tuple[TinyStore, Outbox, Ingestor]) -> None:
    store, outbox, ingestor = desk
    first = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    again = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    assert again.outcome == "duplicate" and again.inquiry_id == first.inquiry_id
    assert store.count() == 1 and outbox.pending_count() == 1


def test_follow_up_by_in_reply_to_attaches_and_goes_to_the_thread(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    store, outbox, ingestor = desk
    first = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    follow = _buyer_mail(
        message_id="<second@licht.de>",
        subject="Re: something else",
        in_reply_to="<first@licht.de>",
        new_text="Any news on the quotation?",
    )
    result = ingestor.ingest(follow, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert result.outcome == "followup" and result.inquiry_id == first.inquiry_id
    inq = store.require(first.inquiry_id or "")
    assert [m.message_id for m in inq.messages] == ["<first@licht.de>", "<second@licht.de>"]
    keys = {i.key for i in outbox.due(NOW + timedelta(hours=2))}
    assert "thread:<second@licht.de>" in keys and f"update:{inq.id}" in keys


def test_follow_up_by_same_buyer_and_subject_without_headers(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    store, _, ingestor = desk
    first = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    follow = _buyer_mail(message_id="<third@licht.de>", subject="AW: RFQ LED panels", new_text="Hallo?")
    assert ingestor.ingest(follow, NOW).inquiry_id == first.inquiry_id  # type: ignore[arg-type]
    assert store.count() == 1


def test_reply_from_sent_folder_stops_the_clock_and_buyer_reply_restarts_it(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    store, _, ingestor = desk
    first = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    ours = make_email(
        message_id="<reply@brightway-led.com>",
        from_addr="sales@brightway-led.com",
        to=("anna@licht.de",),
        subject="Re: RFQ LED panels",
        in_reply_to="<first@licht.de>",
    )
    answered = ingestor.record_sent(ours, NOW + timedelta(hours=2))
    assert answered.outcome == "answered"
    inq = store.require(first.inquiry_id or "")
    assert inq.sla_started_at is None and inq.first_response_at == NOW + timedelta(hours=2)
    again = _buyer_mail(
        message_id="<fourth@licht.de>",
        in_reply_to="<reply@brightway-led.com>",
        new_text="Thanks, can you do USD 8.5?",
    )
    ingestor.ingest(again, NOW + timedelta(hours=5))  # type: ignore[arg-type]
    inq = store.require(first.inquiry_id or "")
    assert inq.sla_started_at == NOW + timedelta(hours=5)
    assert inq.first_response_at == NOW + timedelta(hours=2)


def test_sent_mail_matched_by_recipient_and_subject_when_headers_are_missing(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    _store, _, ingestor = desk
    first = ingestor.ingest(_buyer_mail(), NOW)  # type: ignore[arg-type]
    ours = make_email(
        message_id="<r2@brightway-led.com>",
        from_addr="sales@brightway-led.com",
        to=("anna@licht.de",),
        subject="RE: RFQ LED panels",
    )
    assert ingestor.record_sent(ours, NOW).inquiry_id == first.inquiry_id
    assert (
        ingestor.record_sent(make_email(message_id="<r3@x>", to=("nobody@x.com",)), NOW).outcome
        == "unmatched_sent"
    )


def test_filtered_mail_is_kept_with_its_reason_and_gets_no_card(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    store, outbox, ingestor = desk
    ooo = make_email(
        subject="Out of Office: RFQ",
        headers={"Auto-Submitted": "auto-replied"},
        new_text="I am out of the office until Monday.",
        message_id="<ooo@x.com>",
    )
    result = ingestor.ingest(ooo, NOW)
    assert result.outcome == "filtered"
    inq = store.require(result.inquiry_id or "")
    assert not inq.triage.is_inquiry and "auto" in inq.triage.reason.lower()
    assert outbox.pending_count() == 0


def test_every_bundled_sample_is_ingested_and_raw_bytes_are_kept(
    desk: tuple[TinyStore, Outbox, Ingestor], tmp_path: Path
) -> None:
    _store, _, ingestor = desk

    class Fetched:
        def __init__(self, raw: bytes, uid: int) -> None:
            self.raw, self.uid, self.internaldate = raw, uid, NOW

    outcomes = []
    for uid, path in enumerate(sorted(SAMPLES.glob("*.eml")), start=1):
        outcomes.append(ingestor.deliver("INBOX", Fetched(path.read_bytes(), uid)).outcome)
    assert outcomes.count("new") >= 9 and outcomes.count("filtered") >= 4
    assert len(list((tmp_path / "mail").rglob("*.eml"))) == len(outcomes)


def test_a_broken_email_is_still_recorded(desk: tuple[TinyStore, Outbox, Ingestor]) -> None:
    store, _, ingestor = desk
    raw = (
        b'From: "broken\nSubject: =?gb2312?B?not-base64!!?=\n'
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: base64\n\n%%%%\n"
    )
    result = ingestor.ingest(parse_email(raw), NOW)
    assert result.inquiry_id is not None and store.get(result.inquiry_id) is not None


def test_a_partly_unreadable_email_is_shown_with_what_could_be_read(
    desk: tuple[TinyStore, Outbox, Ingestor],
) -> None:
    from bot.blocks.card import inquiry_card

    store, _, ingestor = desk
    raw = (
        b"From: Buyer <buyer@firma.de>\r\nSubject: RFQ panels\r\nMessage-ID: <broken1@firma.de>\r\n"
        b"Content-Type: text/plain; charset=x-unknown-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"V2UgbmVlZCA1MDAgcGNzIExFRCBwYW5lbHMu!!!broken\r\n"
    )
    result = ingestor.ingest(parse_email(raw), NOW)
    inq = store.require(result.inquiry_id or "")
    assert inq.messages[0].defects
    _, blocks = inquiry_card(inq, now=NOW, lang="en", sla_deadline=None, sla_state="on_track")
    assert "could not be decoded" in str(blocks)


class _NoFullReads(MemoryStore):
    """A store whose every-inquiry reads fail: start-up must answer from indexes (issue #15)."""

    def summaries(self) -> list[Summary]:
        raise AssertionError("start-up read every summary")

    def all_inquiries(self) -> Iterator[Inquiry]:
        raise AssertionError("start-up read every inquiry")


def test_start_up_learns_known_buyer_domains_without_reading_every_inquiry(tmp_path: Path) -> None:
    store = _NoFullReads()
    store.add(make_inquiry("1", buyer_addr="anna@Licht.de"))
    store.add(make_inquiry("2", buyer_addr="li@gmail.com"))  # free mail: not a company's domain
    store.add(make_inquiry("3", buyer_addr="ops@brightway-led.com"))  # our own
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_CHANNEL": "C1",
        "DATA_DIR": str(tmp_path),
        "OWN_DOMAINS": "brightway-led.com",
    }
    trust = Trust(load_config(env))
    Ingestor(
        store,
        Outbox(store),
        TriageConfig(own_domains=frozenset({"brightway-led.com"})),
        lambda: NOW,
        trust=trust,
    )
    assert trust._buyer_domains == {"licht.de"}
