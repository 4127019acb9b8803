"""The store: durable, indexed, safe under threads and crashes."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app.store import open_store
from bot.core.errors import NotFound, StoreError
from tests.inquiries import make_inquiry


def test_added_inquiry_survives_reopen_with_every_field(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=8)
    inq = make_inquiry(store.next_id(), owner="U1", pings_sent=("sla:1:x:50%",), extra={"found_in": "Junk"})
    store.add(inq)
    store.close()
    again = open_store(tmp_path)
    assert again.get(inq.id) == inq
    assert again.find_by_message_id("<m1@buyer.de>") == inq.id
    assert again.find_thread("anna@licht.de", "led panels 600x600") == inq.id
    assert again.next_id() == "2"


def test_update_is_read_modify_write_and_abort_writes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    store.add(make_inquiry("1"))
    store.update("1", lambda i: replace(i, owner="U9"))

    def boom(i: object) -> object:
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        store.update("1", boom)  # type: ignore[arg-type]
    assert store.require("1").owner == "U9"
    with pytest.raises(NotFound):
        store.require("404")
    assert store.get("not-a-number") is None


def test_checkpoints_are_per_folder_and_durable(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.checkpoint("INBOX") is None
    store.save_checkpoint("INBOX", 7, 41)
    store.save_checkpoint("Junk", 9, 3)
    store.close()
    again = open_store(tmp_path)
    assert again.checkpoint("INBOX") == (7, 41)
    assert again.checkpoint("Junk") == (9, 3)


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    store.add(make_inquiry("1"))

    def add_ping(n: int) -> None:
        for k in range(20):
            store.update("1", lambda i, k=k: replace(i, pings_sent=(*i.pings_sent, f"{n}-{k}")))

    threads = [threading.Thread(target=add_ping, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.require("1").pings_sent) == 160
    store.close()
    assert len(open_store(tmp_path).require("1").pings_sent) == 160


def test_corrupt_shard_falls_back_to_last_good_file_and_index_rebuilds(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=2)
    store.add(make_inquiry("1"))
    store.update("1", lambda i: replace(i, owner="U1"))
    store.close()
    (tmp_path / "store" / "index.jsonl").unlink()  # the index is derived: it can go
    again = open_store(tmp_path)
    assert again.require("1").owner == "U1"
    assert again.find_by_message_id("<m1@buyer.de>") == "1"


def test_meta_file_torn_write_restores_backup(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_checkpoint("INBOX", 1, 5)
    store.save_checkpoint("INBOX", 1, 6)
    store.close()
    meta = tmp_path / "store" / "meta.json"
    meta.write_bytes(meta.read_bytes()[: len(meta.read_bytes()) // 2])  # a torn file
    again = open_store(tmp_path)
    assert again.checkpoint("INBOX") == (1, 5)  # the previous good state, not a crash


def test_unserialisable_write_is_refused_and_store_unchanged(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.set_meta("k", "v")
    with pytest.raises(StoreError):
        store.set_meta("k", object())
    assert store.get_meta("k") == "v"
    store.close()
    assert open_store(tmp_path).get_meta("k") == "v"


def test_index_line_lost_after_crash_is_repaired_from_shards(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=2)
    store.add(make_inquiry("1"))
    store.add(make_inquiry("2", buyer_addr="bo@x.vn", subject_key="lights"))
    store.close()
    index = tmp_path / "store" / "index.jsonl"
    lines = index.read_text().splitlines()
    index.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # torn last line
    again = open_store(tmp_path)
    assert again.find_thread("bo@x.vn", "lights") == "2"
    assert again.count() == 2
    assert all(json.loads(x) for x in (tmp_path / "store" / "index.jsonl").read_text().splitlines())


def test_open_inquiries_excludes_closed_and_filtered(tmp_path: Path) -> None:
    from bot.core.models import Status

    store = open_store(tmp_path)
    store.add(make_inquiry("1"))
    store.add(make_inquiry("2", status=Status.WON))
    store.add(
        make_inquiry(
            "3",
            triage=make_inquiry().triage.__class__(**{**make_inquiry().triage.__dict__, "is_inquiry": False}),
            status=Status.NOT_INQUIRY,
        )
    )
    assert [i.id for i in store.open_inquiries()] == ["1"]
