"""The audit trail: hash chain, head checkpoint, torn-line repair, personal-data contract."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.records.audit import GENESIS, AuditError, AuditLog, entry_hash, ref

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _log_with(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for i in range(n):
        log.append(str(i % 3 + 1), "U024BE7LH", "tier", {"tier": "A", "n": i}, NOW + timedelta(minutes=i))
    return log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_intact_log_verifies_and_entries_are_chained(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    log = _log_with(path, 5)
    result = log.verify()
    assert result.ok and result.count == 5 and result.problems == []
    rows = [json.loads(line) for line in _lines(path)]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == GENESIS
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, 5))
    assert all(entry_hash(r) == r["hash"] for r in rows)


def test_reopened_log_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log_with(path, 3)
    again = AuditLog(path)
    entry = again.append("7", "bot", "card_posted", {"ts": "1700000000.000100"}, NOW)
    assert entry.seq == 4
    assert again.verify().ok


def test_edited_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 5)
    lines = _lines(path)
    lines[2] = lines[2].replace('"tier":"A"', '"tier":"C"')
    path.write_text("".join(lines))
    result = log.verify()
    assert not result.ok
    assert any("seq 3" in p and "edited" in p for p in result.problems)


def test_edited_entry_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 5)
    lines = _lines(path)
    row = json.loads(lines[1])
    row["detail"]["tier"] = "C"
    row["hash"] = entry_hash(row)
    lines[1] = json.dumps(row) + "\n"
    path.write_text("".join(lines))
    result = log.verify()
    assert not result.ok
    assert any("seq 3" in p and "prev_hash" in p for p in result.problems)


def test_deleted_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 5)
    lines = _lines(path)
    del lines[2]
    path.write_text("".join(lines))
    result = log.verify()
    assert not result.ok
    assert any("jumps from 2 to 4" in p for p in result.problems)


def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 5)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines))
    result = log.verify()
    assert not result.ok
    assert any("reordered" in p for p in result.problems)


def test_deleting_the_last_entries_is_caught_by_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 5)
    path.write_text("".join(_lines(path)[:3]))
    result = log.verify()
    assert not result.ok
    assert any("head says 5" in p for p in result.problems)


def test_replacing_the_last_entry_is_caught_by_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 3)
    lines = _lines(path)
    row = json.loads(lines[-1])
    row["detail"] = {"tier": "C"}
    row["hash"] = entry_hash(row)
    lines[-1] = json.dumps(row) + "\n"
    path.write_text("".join(lines))
    result = log.verify()
    assert not result.ok and any("head" in p for p in result.problems)


def test_torn_last_line_is_cut_at_open_and_acknowledged_entries_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    _log_with(path, 4)
    intact = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"seq":5,"at":"2026-11-26T08:0')  # the crash hit mid-write
    with caplog.at_level("WARNING", logger="bot.records.audit"):
        log = AuditLog(path)
    assert "torn" in caplog.text
    assert path.read_bytes() == intact
    assert log.append("1", "bot", "status", {"status": "won"}, NOW).seq == 5
    result = log.verify()
    assert result.ok and result.count == 5


def test_crash_between_line_and_head_is_not_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _log_with(path, 3)
    head = log.head_path.read_bytes()
    log.append("1", "bot", "status", {"status": "won"}, NOW)
    log.head_path.write_bytes(head)  # the head write was lost
    reopened = AuditLog(path)
    assert reopened.verify().ok
    assert json.loads(reopened.head_path.read_bytes())["seq"] == 4


def test_history_lists_one_inquiry_in_order(tmp_path: Path) -> None:
    log = _log_with(tmp_path / "audit.jsonl", 7)
    history = log.history("1")
    assert [e.seq for e in history] == [1, 4, 7]
    assert history[0].action == "tier" and history[0].detail == {"tier": "A", "n": 0}
    assert history[0].at == NOW


@pytest.mark.parametrize(
    "detail",
    [
        {"to": "anna@licht.de"},
        {"message": "<CAF12@mail.gmail.com>"},
        {"note": "x" * 500},
        {"nested": {"a": 1}},
    ],
)
def test_detail_with_personal_data_or_free_text_is_refused(tmp_path: Path, detail: dict[str, object]) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditError):
        log.append("1", "U1", "note", detail, NOW)
    assert log.verify().count == 0


def test_actor_that_is_an_address_is_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditError):
        log.append("1", "anna@licht.de", "received", {}, NOW)


def test_ref_hides_a_message_id_but_is_stable() -> None:
    assert ref("<a@b.c>") == ref("<a@b.c>") and "@" not in ref("<a@b.c>")


def test_concurrent_appends_keep_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)  # e.g. the bot and the CLI

    def work(log: AuditLog, who: str) -> None:
        for i in range(25):
            log.append(str(i), who, "note", {"i": i}, NOW)

    threads = [
        threading.Thread(target=work, args=(first, "U1")),
        threading.Thread(target=work, args=(first, "U2")),
        threading.Thread(target=work, args=(second, "U3")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = first.verify()
    assert result.ok and result.count == 75


def _run_cli(argv: list[str]) -> int:
    import argparse

    from bot.app.cli.records import add_commands

    parser = argparse.ArgumentParser(prog="inquiry-bot")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_audit_verify_reports_ok_then_the_deleted_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    path = tmp_path / "audit" / "audit.jsonl"
    _log_with(path, 4)
    assert _run_cli(["audit", "verify"]) == 0
    assert "OK: 4 entries" in capsys.readouterr().out
    lines = _lines(path)
    del lines[1]
    path.write_text("".join(lines))
    assert _run_cli(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "jumps from 1 to 3" in out
    assert _run_cli(["audit", "history", "1"]) == 0
    assert "tier" in capsys.readouterr().out
