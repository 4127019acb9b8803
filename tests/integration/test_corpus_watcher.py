"""Every message of the shared third-party corpus goes through the real watcher without an error.

All files of the ``emails`` corpus (``tests/corpora.py``) are APPENDed to a
real Dovecot; the IMAP watcher backfills them through the store adapter and the delivery
worker posts cards to the fake Slack. Each stored record is either an inquiry with exactly one
card or a filtered record that says why; nothing is lost (every distinct Message-ID is stored
once) and nothing in the watcher failed. Bare reply bodies without headers are in the corpus on
purpose: they are messages too.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pytest

from bot.adapters.mail.imap_source import FetchedMessage, MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink
from bot.app.wiring import Desktop
from bot.core.models import Lane
from bot.intake.parse import parse_email
from tests.corpora import corpus_files
from tests.fakes.slack_server import FakeSlack
from tests.fixtures_dovecot import Mailbox, settings_for
from tests.slack_helpers import cards, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 240.0
# imaplib sends APPEND literals with every line ending turned into CRLF, and Dovecot stores a NUL
# byte as 0x80: that is the message the bot can see.
_EOL = re.compile(rb"\r\n|\r|\n")


def as_appended(raw: bytes) -> bytes:
    return _EOL.sub(b"\r\n", raw).replace(b"\x00", b"\x80")


class RecordingSink(StoreMailSink):
    """The production sink, also remembering which UIDs it was handed."""

    def __init__(self, desktop: Desktop) -> None:
        super().__init__(desktop.store, desktop.ingestor)
        self.uids: list[int] = []
        self.raw_by_uid: dict[int, bytes] = {}

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        super().deliver(folder, fetched)
        self.uids.append(fetched.uid)
        self.raw_by_uid[fetched.uid] = fetched.raw


@pytest.fixture
def desktop_env() -> dict[str, str]:
    return {"OWN_DOMAINS": "brightway-led.com"}


def append_all(mailbox: Mailbox, files: list[Path]) -> dict[int, Path]:
    """APPEND every file on one connection; returns uid -> file."""
    client = mailbox.connect()
    by_uid: dict[int, Path] = {}
    try:
        for path in files:
            resp = client.append("INBOX", path.read_bytes())
            text = resp.decode() if isinstance(resp, bytes) else str(resp)
            m = re.search(r"APPENDUID \d+ (\d+)", text)
            assert m is not None, f"no APPENDUID for {path}: {text!r}"
            by_uid[int(m.group(1))] = path
    finally:
        client.logout()
    return by_uid


def test_every_corpus_message_becomes_a_card_or_a_filtered_record_through_the_watcher(
    desktop: Desktop, mailbox: Mailbox, slack_server: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    files = corpus_files()
    assert len(files) > 400, "the corpus looks truncated"
    by_uid = append_all(mailbox, files)
    assert len(by_uid) == len(files)

    sink = RecordingSink(desktop)
    settings = settings_for(mailbox, read_timeout=30, backoff_base=0.1, backoff_cap=1.0)
    watcher = MailboxWatcher(settings, sink)
    stop = threading.Event()
    threads = [
        threading.Thread(target=watcher.run, args=(stop,), name="imap-inbox", daemon=True),
        threading.Thread(target=desktop.worker.run, args=(stop,), name="delivery", daemon=True),
    ]
    caplog.set_level(logging.WARNING, logger="bot")
    for th in threads:
        th.start()
    try:
        wait_until(lambda: len(sink.uids) >= len(by_uid), DEADLINE_S, "every message delivered")
        wait_until(lambda: desktop.outbox.pending_count() == 0, DEADLINE_S, "outbox drained")
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=15)
    assert not any(th.is_alive() for th in threads)

    # The watcher never had to retry a message and nothing in the bot logged an error.
    assert sorted(sink.uids) == sorted(by_uid), "each UID delivered exactly once"
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert not problems, [f"{r.name}: {r.getMessage()}" for r in problems[:10]]
    assert desktop.outbox.dead() == []

    # Nothing lost: every distinct Message-ID (after identical copies merge) is stored once.
    for uid, path in by_uid.items():
        assert parse_email(as_appended(path.read_bytes())).message_id == (
            parse_email(sink.raw_by_uid[uid]).message_id
        ), f"Dovecot changed {path.name} in a way that changes its identity"
    expected_ids = {parse_email(as_appended(p.read_bytes())).message_id for p in files}
    records = list(desktop.store.all_inquiries())
    stored_ids = [m.message_id for inq in records for m in inq.messages]
    assert len(stored_ids) == len(set(stored_ids)), "a message was stored twice"
    assert set(stored_ids) == expected_ids
    for mid in expected_ids:
        assert desktop.store.find_by_message_id(mid) is not None

    # Each record is a card or a filtered record with a reason.
    posted = cards(slack_server)
    card_ts = [c.response["ts"] for c in posted]
    assert len(card_ts) == len(set(card_ts))
    inquiries = [inq for inq in records if inq.triage.lane is Lane.INQUIRY]
    held = [inq for inq in records if inq.triage.lane is Lane.REVIEW]
    filtered = [inq for inq in records if inq.triage.lane is Lane.FILTERED]
    assert len(inquiries) + len(held) + len(filtered) == len(records) > 0
    assert all(inq.triage.is_inquiry for inq in inquiries) and not any(i.triage.is_inquiry for i in held)
    assert len(posted) == len(inquiries) + len(held), "exactly one top-level card per inquiry or held mail"
    assert {inq.card_ts for inq in (*inquiries, *held)} == set(card_ts)
    for inq in (*held, *filtered):
        assert inq.triage.reason.strip(), f"record {inq.id} has no reason"
        assert inq.sla_started_at is None, f"{inq.id} off the inquiry lane has an SLA clock"
    for inq in filtered:
        assert inq.card_ts is None
    print(
        f"\n{len(files)} corpus files, {len(expected_ids)} distinct messages, {len(records)} records: "
        f"{len(inquiries)} cards, {len(held)} check-first cards, {len(filtered)} filtered"
    )
