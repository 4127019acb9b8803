"""The store survives SIGKILL in the middle of a write and keeps every acknowledged write.

``tests/crash_writer.py`` runs as a child process on one ``DATA_DIR`` and writes in a loop
(new inquiries, subject updates, mailbox checkpoints, outbox items), printing ``ack`` after
each write returned. The test kills it with SIGKILL at a random moment, 100 times in a row
on the same directory, and after every kill opens the store in this process: it must open,
every JSON file must parse, and every acknowledged write must be there (the one write that
was in flight may or may not have landed).

Also here: a crash between storing a mail and owing its Slack post does not lose the post,
because the watcher delivers the mail again and ingest owes it then.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.store.repo import TinyStore
from bot.app.store import open_store
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.triage import TriageConfig
from tests.factories import make_email

WRITER = Path(__file__).resolve().parent / "crash_writer.py"
ROUNDS = 100
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


class Run:
    """One writer process and the lines it printed (read by a thread until EOF)."""

    def __init__(self, data_dir: Path, seed: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def acks(self) -> int:
        return sum(line.startswith("ack ") for line in list(self.lines))

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"the writer exited ({self.proc.returncode}):\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("the writer did not get going")
            time.sleep(0.002)

    def kill(self) -> list[tuple[str, dict[str, Any]]]:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        out = []
        for line in self.lines:
            word, _, rest = line.partition(" ")
            # The last line may be torn by the kill; only whole lines count.
            if word in ("try", "ack") and rest.endswith("}"):
                out.append((word, json.loads(rest)))
        return out


def test_sigkill_during_store_writes_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    data_dir = tmp_path / "data"
    subjects: dict[str, set[str]] = {}  # inquiry id -> the values it may hold
    mids: dict[str, str] = {}  # acked inquiry id -> its message id
    keys: set[str] = set()  # acked outbox keys
    min_uid = 0
    total_acks = 0
    for round_no in range(ROUNDS):
        run = Run(data_dir, seed=round_no)
        run.wait_for(lambda run=run: bool(run.lines) and run.lines[0].startswith("ready"))
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, 0.2))
        else:
            wanted = rng.randint(1, 25)
            run.wait_for(lambda run=run, wanted=wanted: run.acks() >= wanted)
        said = run.kill()

        in_flight: dict[str, Any] | None = None
        for word, what in said:
            if word == "try":
                in_flight = what
                continue
            in_flight = None
            total_acks += 1
            if what["op"] in ("add", "update"):
                subjects[what["id"]] = {what["subject"]}
                if what["op"] == "add":
                    mids[what["id"]] = what["mid"]
            elif what["op"] == "checkpoint":
                min_uid = max(min_uid, what["uid"])
            else:
                keys.add(what["key"])
        if in_flight is not None and in_flight["op"] in ("add", "update"):
            subjects.setdefault(in_flight["id"], set()).add(in_flight["subject"])

        for path in sorted((data_dir / "store").rglob("*.json")):
            with open(path, encoding="utf-8") as fh:
                json.load(fh)  # never a torn file
        store = open_store(data_dir)
        try:
            for inq_id, mid in mids.items():
                inq = store.get(inq_id)
                assert inq is not None, f"round {round_no}: acknowledged inquiry {inq_id} is gone"
                assert inq.subject in subjects[inq_id], (
                    f"round {round_no}: inquiry {inq_id} holds {inq.subject!r}, "
                    f"acknowledged {sorted(subjects[inq_id])}"
                )
                assert store.find_by_message_id(mid) == inq_id
                subjects[inq_id] = {inq.subject}  # what is on disk now is what must stay
            found = store.checkpoint("INBOX")
            assert (found[1] if found else 0) >= min_uid, f"round {round_no}: checkpoint went back"
            min_uid = found[1] if found else 0
            pending = {item.key for item in Outbox(store).due(FAR_FUTURE, limit=1_000_000)}
            assert keys <= pending, f"round {round_no}: owed outbox items lost: {sorted(keys - pending)}"
            assert store.count() >= len(mids)
        finally:
            store.close()
    # The kills really landed in the middle of busy writing.
    assert total_acks > 10 * ROUNDS
    assert len(mids) > ROUNDS


# -- a crash between storing and owing ------------------------------------------------------------

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


class CrashingOutbox(Outbox):
    """An outbox whose process "dies" (raises) on the first enqueue."""

    def enqueue(self, *args: Any, **kwargs: Any) -> bool:
        raise KeyboardInterrupt("killed between the store write and the outbox write")


def _ingestor(store: TinyStore, outbox: Outbox) -> Ingestor:
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    return Ingestor(store, outbox, config, lambda: NOW)


def _buyer_mail(**kw: Any) -> Any:
    base: dict[str, Any] = {
        "subject": "RFQ LED panels",
        "from_addr": "anna@licht.de",
        "new_text": "We need 2,000 pcs of 60x60 LED panels, 40W, FOB Shenzhen, target price USD 9.",
        "message_id": "<first@licht.de>",
    }
    base.update(kw)
    return make_email(**base)


def test_a_mail_stored_before_a_crash_gets_its_card_when_the_watcher_delivers_it_again(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path, shards=4)
    with pytest.raises(KeyboardInterrupt):
        _ingestor(store, CrashingOutbox(store)).ingest(_buyer_mail(), NOW - timedelta(minutes=1))
    store.close()

    store = open_store(tmp_path, shards=4)  # the restarted process
    outbox = Outbox(store)
    again = _ingestor(store, outbox).ingest(_buyer_mail(), NOW - timedelta(minutes=1))

    assert again.outcome == "duplicate" and again.inquiry_id is not None
    assert [i.key for i in outbox.due(NOW)] == [f"card:{again.inquiry_id}"]
    # A third delivery owes nothing more.
    _ingestor(store, outbox).ingest(_buyer_mail(), NOW)
    assert outbox.pending_count() == 1


def test_a_follow_up_stored_before_a_crash_still_goes_to_the_thread(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    outbox = Outbox(store)
    first = _ingestor(store, outbox).ingest(_buyer_mail(), NOW - timedelta(minutes=5))
    assert first.inquiry_id is not None
    outbox.done(f"card:{first.inquiry_id}", NOW)
    store.set_fields(first.inquiry_id, card_ts="1700000000.000100", card_channel="CINQ")
    follow = _buyer_mail(
        subject="Re: RFQ LED panels",
        new_text="Any news? We could also take 500 pcs more.",
        message_id="<second@licht.de>",
        in_reply_to="<first@licht.de>",
    )
    with pytest.raises(KeyboardInterrupt):
        _ingestor(store, CrashingOutbox(store)).ingest(follow, NOW)
    store.close()

    store = open_store(tmp_path, shards=4)
    outbox = Outbox(store)
    again = _ingestor(store, outbox).ingest(follow, NOW)

    assert again.outcome == "duplicate" and again.inquiry_id == first.inquiry_id
    assert [i.key for i in outbox.due(NOW)] == ["thread:<second@licht.de>"]
    # A delivered card is not owed again by a re-delivered first message.
    _ingestor(store, outbox).ingest(_buyer_mail(), NOW)
    assert [i.key for i in outbox.due(NOW)] == ["thread:<second@licht.de>"]
