"""The whole pipeline against a real Dovecot and the fake Slack: IMAP watcher -> ingest -> store
-> outbox -> delivery worker -> card; a reply in the Sent folder stops the SLA clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from importlib import resources

import pytest

from bot.adapters.mail.imap_source import MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink
from bot.app.wiring import Desktop
from bot.core.models import Category
from tests.factories import raw_mail
from tests.fakes.slack_server import FakeSlack
from tests.fixtures_dovecot import Mailbox, settings_for
from tests.slack_helpers import cards, thread_posts, wait_until

pytestmark = pytest.mark.integration

BUYER_MESSAGE_ID = "<9bf6108c857f.1@lichtwerk-gmbh.de>"
AUTO_REPLY_MESSAGE_ID = "<1f0e55c74730.11@acme-lighting.com>"
DEADLINE_S = 15.0


def sample(name: str) -> bytes:
    return resources.files("bot.app").joinpath("samples", name).read_bytes()


def our_reply() -> bytes:
    return raw_mail(
        "Dear Mr Braun,\n\nthank you for your inquiry; please find our offer attached.\n\nLily",
        subject="Re: Anfrage: LED-Panels 62x62, 2.000 Stück",
        from_="Lily Chen <sales@brightway-led.com>",
        to="Stefan Braun <s.braun@lichtwerk-gmbh.de>",
        date=formatdate(localtime=False),
        message_id="<reply-1@brightway-led.com>",
        in_reply_to=BUYER_MESSAGE_ID,
        references=BUYER_MESSAGE_ID,
    )


@contextmanager
def running(target: Callable[[threading.Event], None], name: str) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{name} did not stop"


def watcher(
    desktop: Desktop,
    mailbox: Mailbox,
    folder: str,
    *,
    sent: bool = False,
    on_state: Callable[[str], None] | None = None,
) -> MailboxWatcher:
    settings = settings_for(mailbox, folder=folder, backfill_hours=24, backoff_base=0.1, backoff_cap=1.0)
    return MailboxWatcher(
        settings, StoreMailSink(desktop.store, desktop.ingestor, sent=sent), on_state=on_state
    )


def test_mail_in_the_inbox_becomes_a_card_and_a_sent_reply_stops_the_clock(
    desktop: Desktop, mailbox: Mailbox, slack_server: FakeSlack
) -> None:
    states: list[str] = []  # observed so mail is appended once IDLE (or polling) has begun
    inbox = watcher(desktop, mailbox, "INBOX", on_state=states.append)

    with running(desktop.worker.run, name="delivery"), running(inbox.run, name="imap-inbox"):
        wait_until(lambda: "idle" in states or "polling" in states, DEADLINE_S, "the watcher is waiting")
        mailbox.append("INBOX", sample("01-de-a-led-panels.eml"))
        mailbox.append("INBOX", sample("11-ooo-auto-reply.eml"))

        wait_until(
            lambda: desktop.store.find_by_message_id(AUTO_REPLY_MESSAGE_ID) is not None,
            DEADLINE_S,
            "both messages stored",
        )
        slack_server.wait_for("chat.postMessage", 1, timeout=DEADLINE_S)
        wait_until(lambda: desktop.outbox.pending_count() == 0, DEADLINE_S, "outbox empty")

        inq_id = desktop.store.find_by_message_id(BUYER_MESSAGE_ID)
        assert inq_id is not None
        inq = desktop.store.require(inq_id)
        assert inq.triage.is_inquiry
        assert inq.sla_started_at is not None and inq.first_response_at is None
        [card] = cards(slack_server)
        assert inq.card_ts == card.response["ts"]
        assert "Stefan Braun" in card.params["text"]

        filtered_id = desktop.store.find_by_message_id(AUTO_REPLY_MESSAGE_ID)
        assert filtered_id is not None and filtered_id != inq_id
        filtered = desktop.store.require(filtered_id)
        assert not filtered.triage.is_inquiry
        assert filtered.triage.category is Category.AUTO_REPLY
        assert filtered.card_ts is None
        assert len(slack_server.calls("chat.postMessage")) == 1, "the auto-reply got no card"

        mailbox.append("Sent", our_reply())
        with running(watcher(desktop, mailbox, "Sent", sent=True).run, name="imap-sent"):
            wait_until(
                lambda: desktop.store.require(inq_id).sla_started_at is None, DEADLINE_S, "inquiry answered"
            )
            answered = desktop.store.require(inq_id)
            assert answered.first_response_at is not None
            assert answered.answered_at == answered.first_response_at
            assert any(m.direction == "out" and m.folder == "Sent" for m in answered.messages)
            assert any(e.action == "replied" for e in answered.events)

            ts = answered.card_ts
            assert ts is not None
            wait_until(lambda: len(thread_posts(slack_server, ts)) == 1, DEADLINE_S, "answered note")
            assert "Answered" in thread_posts(slack_server, ts)[0].params["text"]
            wait_until(
                lambda: any(c.params.get("ts") == ts for c in slack_server.calls("chat.update")),
                DEADLINE_S,
                "card refreshed",
            )
    assert len(cards(slack_server)) == 1
