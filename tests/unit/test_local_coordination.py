"""The single-process coordination (TinyDB, memory): this process leads everything, a job runs
once per period, posts to a channel get consecutive slots."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.adapters.store.coordination import LOCK_NAME, InstanceLocked, LocalCoordination


def test_the_only_process_leads_every_role_until_it_resigns() -> None:
    c = LocalCoordination()
    assert c.shared is False
    assert c.leading("imap:INBOX") is False
    assert c.lead("imap:INBOX") and c.lead("job:sla_tick")
    assert c.leading("imap:INBOX")
    c.resign("imap:INBOX")
    assert c.leading("imap:INBOX") is False and c.leading("job:sla_tick")
    c.close()
    assert c.leading("job:sla_tick") is False


def test_once_per_job_and_period_even_from_many_threads() -> None:
    c = LocalCoordination()
    wins: list[bool] = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        wins.append(c.once("retention", "2026-11-28T09"))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert wins.count(True) == 1
    assert c.once("retention", "2026-11-28T10") and c.once("digest", "2026-11-28T09")


def test_pace_hands_out_consecutive_slots_per_channel() -> None:
    c = LocalCoordination()
    waits = [c.pace("CINQ", 1.0) for _ in range(3)]
    assert waits[0] == pytest.approx(0.0, abs=0.05)
    assert waits[1] == pytest.approx(1.0, abs=0.05) and waits[2] == pytest.approx(2.0, abs=0.05)
    assert c.pace("COTHER", 1.0) == pytest.approx(0.0, abs=0.05)  # its own slots


def test_the_lock_file_names_the_holder_and_is_free_after_close(tmp_path: Path) -> None:
    held = LocalCoordination(tmp_path / "data" / LOCK_NAME)
    with pytest.raises(InstanceLocked, match="single-process"):
        LocalCoordination(tmp_path / "data" / LOCK_NAME)
    held.close()
    again = LocalCoordination(tmp_path / "data" / LOCK_NAME)
    again.close()
