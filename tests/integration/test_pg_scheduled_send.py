"""A scheduled reply goes out once when two instances run the scheduler at the same moment
(issue #15): each claims a draft (scheduled -> sending, one conditional UPDATE) before its
mail goes out, so of two instances racing on one draft exactly one sends it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.adapters.store.postgres.store import PostgresStore
from bot.desk.draft_sending import DraftSending, QuoteGate
from bot.desk.outbox import Outbox
from tests.inquiries import make_inquiry
from tests.integration.test_draft_sending import NOW, RecordingMailer

pytestmark = pytest.mark.postgres

DRAFTS = 40


def _sending(store: PostgresStore, mailer: RecordingMailer) -> DraftSending:
    return DraftSending(
        store,
        store.drafts,
        Outbox(store),
        mailer,
        lambda: NOW,
        from_addr="sales@brightway-led.com",
        rep_name=lambda user: "Li Wei",
        gate=QuoteGate(None),
    )


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_two_instances_sending_due_drafts_at_once_send_each_once(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    a.add(make_inquiry("1", card_ts="1700000000.000001", card_channel="CINQ"))
    mail_a, mail_b = RecordingMailer(), RecordingMailer()
    send_a, send_b = _sending(a, mail_a), _sending(b, mail_b)
    ids = []
    for n in range(DRAFTS):
        draft_id = a.drafts.add(
            {
                "inquiry_id": "1",
                "subject": "Re: LED panels 600x600",
                "body": f"Dear Anna,\n\nour quotation no. {n} follows.\n\nLi Wei",
                "to": "anna@licht.de",
                "status": "drafted",
                "created_by": "UREP",
            }
        )
        at = send_a.schedule_send(draft_id, "UREP")
        ids.append(draft_id)
    start = threading.Barrier(2)
    counts: dict[str, int] = {}

    def run(name: str, sending: DraftSending) -> None:
        start.wait(10)
        counts[name] = sending.send_due(at + timedelta(seconds=1))

    threads = [threading.Thread(target=run, args=p) for p in (("a", send_a), ("b", send_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    bodies = [m.get_content() for m in (*mail_a.sent, *mail_b.sent)]
    assert len(bodies) == DRAFTS and len(set(bodies)) == DRAFTS  # every draft once, none twice
    assert counts["a"] + counts["b"] == DRAFTS
    assert {a.drafts.get(i)["status"] for i in ids} == {"sent"}  # type: ignore[index]
    assert send_a.send_due(at + timedelta(minutes=5)) == 0 and send_b.send_due(at + timedelta(minutes=5)) == 0
    # A restart racing a member's click: the click took the draft, the scheduler sends nothing.
    late = a.drafts.add({**(a.drafts.get(ids[0]) or {}), "status": "drafted"})
    at = send_b.schedule_send(late, "UREP")
    send_a.send(late, "UREP")
    assert send_b.send_due(at + timedelta(seconds=1)) == 0
    assert a.drafts.get(late)["status"] == "sent"  # type: ignore[index]
    assert len(mail_a.sent) + len(mail_b.sent) == DRAFTS + 1
