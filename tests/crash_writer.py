"""A store writer to be SIGKILLed by ``tests/test_store_crash.py`` (run as a script, not collected).

Usage: ``python tests/crash_writer.py DATA_DIR SEED``

Opens ``open_store(DATA_DIR)`` (whatever an earlier, killed run left there), prints ``ready``,
then writes forever, one write at a time. Before each write it prints ``try <json>`` and
after the write returned ``ack <json>`` (flushed), where ``<json>`` describes the write:

- ``{"op": "add", "id": "7", "subject": "s-7-0", "mid": "<c7@crash>"}``: a new inquiry;
- ``{"op": "update", "id": "3", "subject": "s-3-12"}``: an existing inquiry's subject changed;
- ``{"op": "checkpoint", "uid": 41}``: ``save_checkpoint("INBOX", 9, 41)``;
- ``{"op": "enqueue", "key": "k-5-17"}``: an outbox item owed.

An acknowledged write must survive the kill; the ``try`` line tells the test which single
write may have reached the disk without being acknowledged.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app.store import open_store
from bot.core.models import Category, Event, Inquiry, Market, MessageRecord, Status, Tier, Triage
from bot.desk.outbox import Outbox

FOLDER = "INBOX"
UIDVALIDITY = 9


def _say(word: str, what: dict[str, Any]) -> None:
    sys.stdout.write(f"{word} {json.dumps(what)}\n")
    sys.stdout.flush()


def _inquiry(inq_id: str, now: datetime) -> Inquiry:
    mid = f"<c{inq_id}@crash>"
    triage = Triage(
        is_inquiry=True,
        category=Category.INQUIRY,
        reason="buyer inquiry",
        language="en",
        country="DE",
        market=Market.EU,
        tier=Tier.B,
        sla_hours=8.0,
        reasons=("crash test",),
    )
    return Inquiry(
        id=inq_id,
        created_at=now,
        buyer_addr=f"buyer{inq_id}@crash.example",
        buyer_name=f"Buyer {inq_id}",
        subject=f"s-{inq_id}-0",
        subject_key=f"s-{inq_id}-0",
        triage=triage,
        status=Status.NEW,
        tier=Tier.B,
        sla_started_at=now,
        messages=(
            MessageRecord(
                message_id=mid,
                direction="in",
                received_at=now,
                from_addr=f"buyer{inq_id}@crash.example",
                subject=f"s-{inq_id}-0",
                new_text="We need 1,000 pcs of LED panels, please quote.",
            ),
        ),
        events=(Event(now, "mail", "received", "buyer inquiry"),),
    )


def main(argv: list[str]) -> int:
    data_dir, seed = Path(argv[1]), int(argv[2])
    rng = random.Random(seed)
    store = open_store(data_dir, shards=16)
    outbox = Outbox(store)
    ids = [s.id for s in store.summaries()]
    found = store.checkpoint(FOLDER)
    uid = found[1] if found else 0
    _say("ready", {"inquiries": len(ids), "uid": uid})
    i = 0
    while True:
        i += 1
        now = datetime.now(UTC)
        op = rng.choice(("add", "add", "update", "update", "checkpoint", "enqueue"))
        if op == "update" and not ids:
            op = "add"
        if op == "add":
            inq = _inquiry(store.next_id(), now)
            what = {"op": "add", "id": inq.id, "subject": inq.subject, "mid": inq.messages[0].message_id}
            _say("try", what)
            store.add(inq)
            ids.append(inq.id)
        elif op == "update":
            inq_id = rng.choice(ids)
            subject = f"s-{inq_id}-{seed}-{i}"
            what = {"op": "update", "id": inq_id, "subject": subject}
            _say("try", what)
            store.update(inq_id, lambda cur, s=subject: replace(cur, subject=s))  # type: ignore[misc]
        elif op == "checkpoint":
            uid += 1
            what = {"op": "checkpoint", "uid": uid}
            _say("try", what)
            store.save_checkpoint(FOLDER, UIDVALIDITY, uid)
        else:
            key = f"k-{seed}-{i}"
            what = {"op": "enqueue", "key": key}
            _say("try", what)
            outbox.enqueue(key, "channel_message", None, {"text": key}, now)
        _say("ack", what)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
