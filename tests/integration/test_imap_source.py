"""MailboxWatcher and find_folder against a real Dovecot (see tests/fixtures_dovecot.py)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from imapclient import IMAPClient

from bot.adapters.mail.folders import find_folder, pick_folder
from bot.adapters.mail.imap_source import (
    Checkpoint,
    FetchedMessage,
    ImapSettings,
    MailboxWatcher,
    SinkError,
    backoff_delay,
)
from tests.factories import raw_mail
from tests.fixtures_dovecot import Mailbox, settings_for

integration = pytest.mark.integration


class MemorySink:
    """Records every delivery and every saved checkpoint; can fail the next N deliveries."""

    def __init__(self, fail_deliveries: int = 0) -> None:
        self.lock = threading.Lock()
        self.deliveries: list[tuple[str, FetchedMessage]] = []
        self.positions: dict[str, Checkpoint] = {}
        self.saved: list[tuple[str, Checkpoint]] = []
        self.fail_left = fail_deliveries
        self.failed_uids: list[int] = []

    def checkpoint(self, folder: str) -> Checkpoint | None:
        with self.lock:
            return self.positions.get(folder)

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                self.failed_uids.append(fetched.uid)
                raise RuntimeError("disk full")
            self.deliveries.append((folder, fetched))

    def save_checkpoint(self, folder: str, checkpoint: Checkpoint) -> None:
        with self.lock:
            self.positions[folder] = checkpoint
            self.saved.append((folder, checkpoint))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.lock:
            return [m.uid for f, m in self.deliveries if f == folder]

    def subjects(self) -> list[str]:
        with self.lock:
            return [_subject(m.raw) for _, m in self.deliveries]


def _subject(raw: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"subject: "):
            return line[9:].decode()
    return ""


def mail(subject: str, date: str = "Mon, 23 Nov 2026 10:00:00 +0000") -> bytes:
    return raw_mail(
        "Please quote 500 pcs.",
        subject=subject,
        from_="Buyer <buyer@example.net>",
        to="sales@example.com",
        date=date,
        message_id=f"<{subject.replace(' ', '-')}@example.net>",
        crlf=True,
    )


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


@contextmanager
def running(watcher: MailboxWatcher) -> Iterator[list[str]]:
    """Run the watcher in a thread; yields the list of states it reported."""
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield []
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "watcher did not stop"


def watcher_with_states(
    settings: ImapSettings, sink: MemorySink, **kw: Any
) -> tuple[MailboxWatcher, list[str]]:
    states: list[str] = []
    return MailboxWatcher(settings, sink, on_state=states.append, **kw), states


# -- delivery --------------------------------------------------------------------------------------


@integration
def test_new_mail_is_delivered_once_with_its_internaldate(mailbox: Mailbox) -> None:
    sink = MemorySink()
    watcher = MailboxWatcher(settings_for(mailbox), sink)
    assert watcher.catch_up() == 0
    arrived = datetime(2026, 11, 23, 8, 30, 15, tzinfo=UTC)
    uid = mailbox.append("INBOX", mail("quote one"), msg_time=arrived)

    assert watcher.catch_up() == 1
    assert watcher.catch_up() == 0

    [(folder, msg)] = sink.deliveries
    assert folder == "INBOX"
    assert msg.uid == uid
    assert msg.internaldate == arrived
    assert msg.internaldate.tzinfo is not None
    assert msg.backfill is False
    assert msg.raw.startswith(b"From: Buyer")
    assert msg.size == len(mail("quote one"))
    assert sink.positions["INBOX"].last_uid == uid


@integration
def test_fetching_does_not_mark_the_message_seen(mailbox: Mailbox) -> None:
    sink = MemorySink()
    uid = mailbox.append("INBOX", mail("unread please"))
    assert MailboxWatcher(settings_for(mailbox), sink).catch_up() == 1

    assert b"\\Seen" not in mailbox.flags("INBOX", uid)
    assert "\\Seen" not in sink.deliveries[0][1].flags


@integration
def test_message_already_seen_by_another_client_is_still_delivered(mailbox: Mailbox) -> None:
    sink = MemorySink()
    watcher = MailboxWatcher(settings_for(mailbox), sink)
    watcher.catch_up()
    uid = mailbox.append("INBOX", mail("read on phone"))
    mailbox.set_flags("INBOX", uid, [b"\\Seen"])

    assert watcher.catch_up() == 1
    assert sink.uids() == [uid]
    assert "\\Seen" in sink.deliveries[0][1].flags


@integration
def test_new_watcher_on_same_sink_delivers_only_new_mail(mailbox: Mailbox) -> None:
    sink = MemorySink()
    first = [mailbox.append("INBOX", mail(f"first {i}")) for i in range(2)]
    assert MailboxWatcher(settings_for(mailbox), sink).catch_up() == 2

    again = MailboxWatcher(settings_for(mailbox), sink)
    assert again.catch_up() == 0
    later = mailbox.append("INBOX", mail("after restart"))
    assert again.catch_up() == 1
    assert sink.uids() == [*first, later]


@integration
def test_first_start_backfills_only_mail_within_the_window(mailbox: Mailbox) -> None:
    now = datetime.now(UTC)
    old = mailbox.append("INBOX", mail("three days old"), msg_time=now - timedelta(days=3))
    older_same_day = mailbox.append("INBOX", mail("25 hours old"), msg_time=now - timedelta(hours=25))
    recent = mailbox.append("INBOX", mail("an hour old"), msg_time=now - timedelta(hours=1))
    sink = MemorySink()
    watcher = MailboxWatcher(settings_for(mailbox, backfill_hours=24), sink)

    assert watcher.catch_up() == 1
    assert sink.uids() == [recent]
    assert sink.deliveries[0][1].backfill is True
    assert sink.positions["INBOX"].last_uid == recent
    assert old < older_same_day < recent

    newer = mailbox.append("INBOX", mail("brand new"), msg_time=now - timedelta(days=30))
    assert watcher.catch_up() == 1  # new arrivals are new whatever their date
    assert sink.uids() == [recent, newer]
    assert sink.deliveries[1][1].backfill is False


@integration
def test_first_start_on_empty_folder_starts_from_zero(mailbox: Mailbox) -> None:
    sink = MemorySink()
    assert MailboxWatcher(settings_for(mailbox), sink).catch_up() == 0
    assert sink.positions["INBOX"].last_uid == 0
    assert sink.positions["INBOX"].uidvalidity == mailbox.uidvalidity("INBOX")


@integration
def test_mail_with_an_ancient_date_header_arriving_now_is_delivered(mailbox: Mailbox) -> None:
    uid = mailbox.append("INBOX", mail("stale clock", date="Mon, 01 Jan 2001 00:00:00 +0000"))
    sink = MemorySink()
    assert MailboxWatcher(settings_for(mailbox, backfill_hours=1), sink).catch_up() == 1
    assert sink.uids() == [uid]


@integration
def test_long_backfill_logs_progress_without_bodies(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    uids = [mailbox.append("INBOX", mail(f"bulk {i}")) for i in range(5)]
    sink = MemorySink()
    watcher = MailboxWatcher(settings_for(mailbox, progress_every=2, fetch_batch=2), sink)
    with caplog.at_level("INFO", logger="bot.adapters.mail.imap_source"):
        assert watcher.catch_up() == 5
    watcher.close()
    assert sink.uids() == uids
    progress = [r.getMessage() for r in caplog.records if "backfill: " in r.getMessage()]
    assert progress == [
        "imap INBOX backfill: 2/5 messages",
        "imap INBOX backfill: 4/5 messages",
        "imap INBOX backfill: 5/5 messages",
    ]
    assert not any("Please quote" in r.getMessage() for r in caplog.records)


# -- failures --------------------------------------------------------------------------------------


@integration
def test_failed_delivery_does_not_advance_the_checkpoint(mailbox: Mailbox) -> None:
    sink = MemorySink()
    watcher = MailboxWatcher(settings_for(mailbox), sink)
    watcher.catch_up()
    a = mailbox.append("INBOX", mail("a"))
    b = mailbox.append("INBOX", mail("b"))
    sink.fail_left = 1

    with pytest.raises(SinkError) as err:
        watcher.catch_up()
    assert err.value.uid == a
    assert sink.positions["INBOX"].last_uid == 0

    assert watcher.catch_up() == 2
    assert sink.uids() == [a, b]
    assert sink.positions["INBOX"].last_uid == b


@integration
def test_running_watcher_retries_a_failed_delivery(mailbox: Mailbox) -> None:
    sink = MemorySink(fail_deliveries=1)
    a = mailbox.append("INBOX", mail("retry me"))
    b = mailbox.append("INBOX", mail("next"))
    watcher, states = watcher_with_states(settings_for(mailbox), sink)
    with running(watcher):
        assert wait_for(lambda: len(sink.uids()) == 2)
    assert sink.failed_uids == [a]
    assert sink.uids() == [a, b]
    assert "retrying" in states
    # The checkpoint never passed a message before it was delivered.
    with sink.lock:
        saved_uids = [c.last_uid for _, c in sink.saved]
    assert saved_uids == sorted(saved_uids)
    assert saved_uids[0] == a


@integration
def test_uidvalidity_change_rescans_the_recreated_folder(mailbox: Mailbox) -> None:
    mailbox.create_folder("Orders")
    first = mailbox.append("Orders", mail("before reset"))
    sink = MemorySink()
    assert MailboxWatcher(settings_for(mailbox, folder="Orders"), sink).catch_up() == 1
    old_validity = sink.positions["Orders"].uidvalidity

    mailbox.delete_folder("Orders")
    mailbox.create_folder("Orders")
    old = mailbox.append("Orders", mail("before reset"), msg_time=datetime.now(UTC) - timedelta(days=2))
    ancient = mailbox.append("Orders", mail("last month"), msg_time=datetime.now(UTC) - timedelta(days=30))
    fresh = mailbox.append("Orders", mail("after reset"))
    assert mailbox.uidvalidity("Orders") != old_validity

    watcher = MailboxWatcher(settings_for(mailbox, folder="Orders", backfill_hours=24), sink)
    assert watcher.catch_up() == 2  # 7-day re-scan window: the 2-day-old one too, not the 30-day one
    assert sink.subjects() == ["before reset", "before reset", "after reset"]
    assert sink.uids("Orders") == [first, old, fresh]
    assert ancient == old + 1
    assert sink.positions["Orders"] == Checkpoint(mailbox.uidvalidity("Orders"), fresh)


# -- IDLE, polling, reconnect ------------------------------------------------------------------------


@integration
def test_idle_push_delivers_new_mail_within_two_seconds(mailbox: Mailbox) -> None:
    sink = MemorySink()
    watcher, states = watcher_with_states(settings_for(mailbox), sink)
    with running(watcher):
        assert wait_for(lambda: watcher.state == "idle")
        sent_at = time.monotonic()
        uid = mailbox.append("INBOX", mail("pushed"))
        assert wait_for(lambda: sink.uids() == [uid], timeout=5)
        elapsed = time.monotonic() - sent_at
    assert elapsed < 2.5
    assert states[:3] == ["connecting", "connected", "idle"]
    assert states[-1] == "stopped"


@integration
def test_watcher_polls_when_the_server_has_no_idle(mailbox: Mailbox) -> None:
    class NoIdleClient(IMAPClient):  # type: ignore[misc]
        def has_capability(self, capability: str) -> bool:
            return capability.upper() != "IDLE" and bool(super().has_capability(capability))

    sink = MemorySink()
    watcher, states = watcher_with_states(
        settings_for(mailbox, poll_seconds=0.2),
        sink,
        client_factory=lambda: NoIdleClient(mailbox.host, port=mailbox.port, ssl=False, timeout=5),
    )
    with running(watcher):
        assert wait_for(lambda: watcher.state == "polling")
        uid = mailbox.append("INBOX", mail("polled"))
        assert wait_for(lambda: sink.uids() == [uid], timeout=3)
    assert "idle" not in states


@integration
def test_watcher_reconnects_after_dovecot_restart(mailbox: Mailbox) -> None:
    sink = MemorySink()
    before = mailbox.append("INBOX", mail("before restart"))
    watcher, states = watcher_with_states(settings_for(mailbox), sink)
    with running(watcher):
        assert wait_for(lambda: watcher.state == "idle" and sink.uids() == [before])
        mailbox.server.restart()
        after = mailbox.append("INBOX", mail("after restart"))
        # Two failed attempts (BYE, then reset while Dovecot restarts) put the jittered back-off
        # at up to 4 s; on a loaded machine 10 s was not always enough.
        assert wait_for(lambda: sink.uids() == [before, after], timeout=30)
    assert "reconnecting" in states
    assert states.count("connected") >= 2


@integration
def test_run_survives_a_server_that_is_down_at_start(mailbox: Mailbox) -> None:
    sink = MemorySink()
    watcher, states = watcher_with_states(settings_for(mailbox), sink)
    mailbox.server.stop()
    try:
        with running(watcher):
            assert wait_for(lambda: states.count("reconnecting") >= 2)
            mailbox.server.start()
            uid = mailbox.append("INBOX", mail("server back"))
            assert wait_for(lambda: sink.uids() == [uid], timeout=10)
    finally:
        mailbox.server.start()


# -- folders ---------------------------------------------------------------------------------------


@integration
def test_find_folder_uses_special_use_attributes(mailbox: Mailbox) -> None:
    client = mailbox.connect()
    try:
        assert find_folder(client, "sent") == "Sent"
        assert find_folder(client, "drafts") == "Drafts"
        assert find_folder(client, "junk") == "Junk"
    finally:
        client.logout()


@integration
def test_find_folder_falls_back_to_localized_names(mailbox: Mailbox) -> None:
    mailbox.create_folder("已发送")
    mailbox.create_folder("草稿箱")
    client = mailbox.connect()
    try:
        listed = client.list_folders()
    finally:
        client.logout()
    # The same server answer, as from a server without SPECIAL-USE and without English folders.
    plain = [((), delim, name) for _flags, delim, name in listed if name not in ("Sent", "Drafts", "Junk")]
    assert pick_folder(plain, "sent") == "已发送"
    assert pick_folder(plain, "drafts") == "草稿箱"
    assert pick_folder(plain, "junk") is None


def test_special_use_attribute_beats_a_well_known_name() -> None:
    folders = [((b"\\HasNoChildren",), b"/", "Sent"), ((b"\\HasNoChildren", b"\\Sent"), b"/", "Gesendet")]
    assert pick_folder(folders, "sent") == "Gesendet"


def test_pick_folder_matches_nested_and_case_insensitive_names() -> None:
    folders = [
        ((b"\\Noselect",), b"/", "[Gmail]"),
        ((), b"/", "[Gmail]/Sent Mail"),
        ((), b".", "INBOX.junk e-mail"),
        ((), b".", "INBOX.Entwürfe"),
    ]
    assert pick_folder(folders, "sent") == "[Gmail]/Sent Mail"
    assert pick_folder(folders, "junk") == "INBOX.junk e-mail"
    assert pick_folder(folders, "drafts") == "INBOX.Entwürfe"
    with pytest.raises(ValueError):
        pick_folder(folders, "outbox")


def test_backoff_is_capped_full_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 300.0, rng) for n in range(20)]
    assert all(0 <= d <= min(300.0, 2**n) for n, d in enumerate(delays))
    assert max(delays[10:]) > 30  # grows towards the cap
    assert all(d <= 300.0 for d in delays)
