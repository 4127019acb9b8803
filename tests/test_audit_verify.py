"""``audit verify`` is read-only and strict: every tampering below fails it, a whole rewritten
chain is caught by the anchor witnessed in Slack, and no file under DATA_DIR changes."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.adapters.store.repo import TinyStore
from bot.app.cli.records import add_commands
from bot.app.store import audit_log, open_store
from bot.blocks.render import Renderer
from bot.core.models import Event
from bot.desk.delivery import DeliveryWorker
from bot.desk.outbox import Outbox
from bot.records.audit import GENESIS, AuditLog, entry_hash, verify_files
from bot.records.audit_anchor import AuditAnchor, anchor_due, parse_anchor
from bot.records.audit_verify import verify_data_dir
from bot.sla.engine import SlaPolicy
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import make_inquiry

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _desk(data_dir: Path, n: int = 4) -> TinyStore:
    """A store with ``n`` inquiries, each received and then claimed: 2n audited events."""
    store = open_store(data_dir, shards=4)
    for i in range(1, n + 1):
        store.add(make_inquiry(str(i), events=(Event(NOW, "mail", "received", ""),)))
        store.update(
            str(i),
            lambda inq: replace(inq, owner="U1", events=(*inq.events, Event(NOW, "U1", "claimed", ""))),
        )
    return store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    _desk(tmp_path).close()
    return tmp_path


def _log(data_dir: Path) -> Path:
    return data_dir / "audit" / "audit.jsonl"


def _head(data_dir: Path) -> Path:
    return data_dir / "audit" / "audit.head"


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under root: files by content hash (and mode), folders by mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir():
            out[rel] = f"dir {oct(path.stat().st_mode)}"
        else:
            out[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {oct(path.stat().st_mode)}"
    return out


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="inquiry-bot")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _verify_cli(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    before = _snapshot(data_dir)
    code = _cli(["audit", "verify", *extra])
    assert _snapshot(data_dir) == before  # verify never writes, creates or repairs anything
    return code, capsys.readouterr().out


def _rewrite_chain(data_dir: Path, change: dict[int, dict[str, object]]) -> None:
    """What a careful forger does: edit entries, recompute every hash and link, and the head."""
    rows = [json.loads(line) for line in _log(data_dir).read_text().splitlines()]
    prev = GENESIS
    for row in rows:
        row.update(change.get(row["seq"], {}))
        row["prev_hash"] = prev
        row["hash"] = entry_hash(row)
        prev = row["hash"]
    _log(data_dir).write_text("".join(json.dumps(r) + "\n" for r in rows))
    _head(data_dir).write_text(json.dumps({"seq": rows[-1]["seq"], "hash": prev}))


def test_intact_desk_verifies_and_verify_writes_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 0, out
    assert "OK: 8 entries" in out and "store events agree" in out


def test_deleted_log_fails_while_the_store_holds_events(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(data_dir).unlink()
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1
    assert "audit.jsonl is missing but the store holds 8 events" in out


def test_deleted_log_and_head_fail_too(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(data_dir).unlink()
    _head(data_dir).unlink()
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1 and "missing" in out


def test_deleted_head_fails(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _head(data_dir).unlink()
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1 and "audit.head is missing (the log holds 8 entries)" in out


def test_cut_tail_is_caught_by_the_head(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _log(data_dir).read_text().splitlines(keepends=True)
    _log(data_dir).write_text("".join(lines[:-2]))
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1 and "head says 8" in out


def test_cut_tail_with_the_head_deleted_fails(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _log(data_dir).read_text().splitlines(keepends=True)
    _log(data_dir).write_text("".join(lines[:-2]))
    _head(data_dir).unlink()
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1
    assert "audit.head is missing" in out
    assert "inquiry 4: 2 event(s) in the store are missing from the log (claimed, received)" in out


def test_cut_tail_with_a_matching_head_is_caught_by_the_store(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _log(data_dir).read_text().splitlines(keepends=True)
    _log(data_dir).write_text("".join(lines[:-1]))
    last = json.loads(lines[-2])
    _head(data_dir).write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))
    assert verify_files(_log(data_dir)).ok  # the chain alone looks fine
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1
    assert "inquiry 4: 1 event(s) in the store are missing from the log (claimed)" in out


def test_an_event_removed_from_the_store_is_caught(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(data_dir)
    store.update("2", lambda inq: replace(inq, events=inq.events[:1]))  # someone hides the claim
    store.close()
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1 and "inquiry 2: the log holds 1 event(s) the store does not (claimed)" in out


def test_edited_entry_fails_and_the_cli_leaves_the_damage_in_place(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _log(data_dir).read_text().replace('"actor":"U1"', '"actor":"U2"', 1)
    _log(data_dir).write_text(text)
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 1 and "edited" in out
    assert _log(data_dir).read_text() == text


def test_torn_last_line_is_a_note_and_is_not_cut_by_verify(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(_log(data_dir), "ab") as fh:
        fh.write(b'{"seq":9,"at":"2026-11-26T08:0')
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 0 and "note: line 9: torn last line" in out


def test_whole_chain_rewritten_passes_alone_but_not_the_witnessed_anchor(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(data_dir)
    witnessed = AuditAnchor(store, Outbox(store), "CADMIN", lambda: NOW, audit=audit_log(data_dir)).tick()
    store.close()
    assert witnessed is not None
    anchor = f"{witnessed.seq}:{witnessed.hash}"
    assert _verify_cli(data_dir, monkeypatch, capsys, "--anchor", anchor)[0] == 0

    _rewrite_chain(data_dir, {2: {"actor": "U666"}})  # who claimed inquiry 1, forged
    code, out = _verify_cli(data_dir, monkeypatch, capsys)
    assert code == 0, out  # consistent chain, head and event counts: only a witness can tell
    code, out = _verify_cli(data_dir, monkeypatch, capsys, "--anchor", anchor)
    assert code == 1
    assert f"seq {witnessed.seq}: hash" in out and "is not the witnessed anchor" in out


def test_chain_replaced_by_a_shorter_one_misses_the_anchor(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _verify_cli(data_dir, monkeypatch, capsys, "--anchor", f"99:{'a' * 64}")
    assert code == 1 and "the witnessed anchor seq 99 is not in the log" in out


def test_bad_anchor_argument_is_a_usage_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    with pytest.raises(SystemExit) as exc:
        _cli(["audit", "verify", "--anchor", "12:nothex"])
    assert exc.value.code == 2
    assert "not an anchor" in capsys.readouterr().err


def test_fresh_data_dir_is_ok_and_stays_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _verify_cli(tmp_path, monkeypatch, capsys)
    assert code == 0 and "no audit log yet" in out
    assert list(tmp_path.iterdir()) == []


def test_history_is_read_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _head(data_dir).unlink()
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    before = _snapshot(data_dir)
    assert _cli(["audit", "history", "3"]) == 0
    assert "claimed" in capsys.readouterr().out
    assert _snapshot(data_dir) == before


def test_anchor_is_due_once_per_team_local_day() -> None:
    tz = "Asia/Shanghai"
    first = anchor_due(datetime(2026, 11, 26, 15, 59, tzinfo=UTC), tz, None)
    assert first is not None and first.isoformat() == "2026-11-26"
    assert anchor_due(datetime(2026, 11, 26, 15, 59, tzinfo=UTC), tz, first) is None
    nxt = anchor_due(datetime(2026, 11, 26, 16, 0, tzinfo=UTC), tz, first)  # midnight in Shanghai
    assert nxt is not None and nxt.isoformat() == "2026-11-27"


def test_daily_anchor_is_posted_through_the_outbox_and_checks_the_chain(
    tmp_path: Path,
    slack_server: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _desk(tmp_path, 2)
    outbox = Outbox(store)
    anchor = AuditAnchor(
        store, outbox, "CADMIN", lambda: NOW, audit=audit_log(tmp_path), team_timezone="Europe/Berlin"
    )
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_server.base_url))
    renderer = Renderer(SlaPolicy(), "en")
    clock = [NOW]
    worker = DeliveryWorker(
        store, outbox, chat, "CINQ", lambda: clock[0], renderer.card, renderer.note, min_interval=0
    )

    entry = anchor.tick(NOW)
    assert entry is not None and entry.action == "anchor" and entry.inquiry_id is None
    assert anchor.tick(NOW + timedelta(hours=3)) is None  # once a day
    worker.run_once()
    posts = slack_server.calls("chat.postMessage")
    assert len(posts) == 1 and posts[0].params["channel"] == "CADMIN"
    witnessed = parse_anchor(posts[0].params["text"])
    assert witnessed == (entry.seq, entry.hash) == (5, AuditLog(tmp_path / "audit" / "audit.jsonl").head()[1])

    clock[0] = NOW + timedelta(days=1)
    later = anchor.tick(clock[0])
    worker.run_once()
    assert later is not None and later.seq == 6
    assert len(slack_server.calls("chat.postMessage")) == 2
    store.close()

    seq, digest = witnessed
    assert verify_data_dir(tmp_path, [(seq, digest)]).ok
    code, out = _verify_cli(tmp_path, monkeypatch, capsys, "--anchor", f"{seq}:{digest}")
    assert code == 0 and "anchor 5 match" in out
    _rewrite_chain(tmp_path, {1: {"at": "2026-11-25T08:00:00+00:00"}})
    code, out = _verify_cli(tmp_path, monkeypatch, capsys, "--anchor", f"{seq}:{digest}")
    assert code == 1 and "is not the witnessed anchor" in out


def test_anchor_text_names_the_command_to_check_it() -> None:
    from bot.records.audit import Entry
    from bot.records.audit_anchor import anchor_text

    entry = Entry(7, NOW, None, "bot", "anchor", {"day": "2026-11-26"}, GENESIS, "ab" * 32)
    text = anchor_text(entry, NOW.date(), "en")
    assert f"--anchor 7:{'ab' * 32}" in text and parse_anchor(text) == (7, "ab" * 32)
    assert parse_anchor(anchor_text(entry, NOW.date(), "zh")) == (7, "ab" * 32)
    assert re.search(r"2026-11-26", text)


def test_verify_while_the_bot_appends_sees_a_consistent_snapshot(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(path)
    log.append("1", "bot", "received", {}, NOW)
    done = threading.Event()

    def append() -> None:
        for i in range(300):
            log.append(str(i % 7), "U1", "note", {"i": i}, NOW)
        done.set()

    writer = threading.Thread(target=append)
    writer.start()
    results = []
    while not done.is_set():
        results.append(verify_files(path))
    writer.join()
    results.append(verify_files(path))
    assert all(r.ok for r in results), next(r.problems for r in results if not r.ok)
    assert results[-1].count == 301


@pytest.mark.parametrize(("extra", "channel"), [({}, "desk"), ({"AUDIT_ANCHOR_CHANNEL": "CADMIN"}, "CADMIN")])
def test_the_composed_bot_posts_its_anchor_to_the_anchor_channel(
    tmp_path: Path, slack_server: FakeSlack, extra: dict[str, str], channel: str
) -> None:
    from tests.slack_helpers import CHANNEL, drain, make_desktop

    desk = make_desktop(slack_server, tmp_path, **extra)
    try:
        assert desk.anchor is not None
        entry = desk.anchor.tick()
        assert entry is not None and desk.anchor.tick() is None
        drain(desk.worker)
    finally:
        desk.store.close()
    posts = slack_server.calls("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [CHANNEL if channel == "desk" else channel]
    assert parse_anchor(posts[0].params["text"]) == (entry.seq, entry.hash)
    assert verify_data_dir(tmp_path, [(entry.seq, entry.hash)]).ok
