"""Parsing and triage on a process pool give the same records as in-process, and never lose mail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app.store import open_store
from bot.core.models import Lane
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.desk.prework import Prework, sender_of
from bot.triage import TriageConfig

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "bot" / "app" / "samples").glob("*.eml"))
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CONFIG = TriageConfig(own_domains=frozenset({"brightway-led.com"}))


class Fetched:
    def __init__(self, raw: bytes, uid: int) -> None:
        self.raw, self.uid, self.internaldate = raw, uid, NOW


def _ingest_all(tmp: Path, prework: Prework | None) -> dict[str, tuple[object, ...]]:
    store = open_store(tmp, shards=4)
    ingestor = Ingestor(store, Outbox(store), CONFIG, lambda: NOW, prework=prework)
    raws = [p.read_bytes() for p in SAMPLES]
    ingestor.prepare(raws)
    out = {}
    for uid, raw in enumerate(raws, start=1):
        result = ingestor.deliver("INBOX", Fetched(raw, uid))
        inq = store.require(result.inquiry_id or "")
        t = inq.triage
        out[result.message_id] = (
            t.is_inquiry,
            t.category,
            t.language,
            t.country,
            t.market,
            t.tier,
            t.reasons,
        )
    store.close()
    return out


def test_pool_results_equal_in_process_results(tmp_path: Path) -> None:
    prework = Prework(CONFIG, workers=2)
    try:
        pooled = _ingest_all(tmp_path / "pool", prework)
        assert prework._futures == {}  # every pre-parsed mail was taken
    finally:
        prework.close()
    assert pooled == _ingest_all(tmp_path / "local", None)
    assert len(pooled) == len(SAMPLES)


def test_workers_killed_mid_batch_lose_no_mail(tmp_path: Path) -> None:
    prework = Prework(CONFIG, workers=1)
    raws = [p.read_bytes() for p in SAMPLES]
    from bot.triage import ThreadHints

    prework.start()
    first = next(iter(prework.pool._idle.queue))
    first.wait_ready()
    prework.submit([(raw, ThreadHints()) for raw in raws])
    first.proc.kill()  # the worker dies under the batch (as if the OOM killer took it)
    for raw in raws:
        email, verdict, _ = prework.take(raw)
        assert email.message_id and email.from_addr
        assert verdict is not None
        if any("could not be fully read" in d for d in email.defects):
            assert verdict.lane is Lane.REVIEW  # unread mail is held for a check, never filtered unseen
    assert prework.pool.kills >= 1
    prework.close()


def test_sender_of_reads_only_headers_and_survives_garbage() -> None:
    assert sender_of(b"From: Anna <Anna@Licht.de>\r\nSubject: x\r\n\r\nbody") == "anna@licht.de"
    assert sender_of(b"\x00\xff garbage") == ""
