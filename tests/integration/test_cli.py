"""The command line: demo, triage --json, run without credentials, bad input."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.cli.main import main
from bot.config.settings import load_config
from bot.core.errors import ConfigError
from tests.fakes.slack_server import FakeSlack
from tests.paths import REPO

ROOT = REPO
SAMPLES = sorted((ROOT / "bot" / "app" / "samples").glob("*.eml"))


def test_triage_json_prints_one_object_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", "--json", *map(str, SAMPLES[:3]), str(SAMPLES[-1])]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == [*map(str, SAMPLES[:3]), str(SAMPLES[-1])]
    for r in rows:
        assert {
            "is_inquiry",
            "reason",
            "language",
            "country",
            "market",
            "tier",
            "sla_hours",
            "reasons",
            "warnings",
        } <= set(r)
    de = rows[0]
    assert (de["language"], de["country"], de["market"], de["tier"]) == ("de", "DE", "EU", "A")
    assert rows[1]["market"] == "SEA" and rows[1]["sla_hours"] == 4
    assert rows[-1]["is_inquiry"] is False and rows[-1]["tier"] is None


def test_triage_of_missing_file_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", "/nonexistent.eml"]) == 1
    assert "cannot read /nonexistent.eml" in capsys.readouterr().err


def test_demo_prints_cards_and_filtered_mail(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("[Claim]") >= 9
    assert "Tier A" in out and "Tier C" in out
    assert "Filtered (kept in the store, not posted as cards): 4" in out
    # The draft a rep would get for the Vietnamese buyer, with its English translation.
    assert "Draft reply for" in out and "Kính gửi" in out and "Dear Nguyễn Văn An" in out


def test_run_without_slack_credentials_points_to_the_demo(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "running the offline demo" in result.stderr
    assert "[Claim]" in result.stdout


def test_bad_configuration_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(
            {
                "SLA_HOURS_SEA": "soon",
                "IMAP_HOST": "imap.x",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "TEAM_LANGUAGE": "fr",
                "TEAM_TIMEZONE": "Mars/Olympus",
            }
        )
    text = str(e.value)
    for fragment in (
        "SLA_HOURS_SEA",
        "IMAP_USER, IMAP_PASSWORD",
        "SLACK_CHANNEL",
        "TEAM_LANGUAGE",
        "TEAM_TIMEZONE",
    ):
        assert fragment in text


def test_fractional_sla_hours_are_accepted() -> None:
    from bot.core.models import Market

    assert load_config({"SLA_HOURS_SEA": "0.01"}).sla_hours[Market.SEA] == 0.01


def test_unknown_subcommand_gets_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err


def _bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_and_doctor_refuse_a_bad_configuration_with_the_same_list(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_CHANNEL": "C0123ABCD",
        "ROUTING_RULES": "market:ASIA=U01ANNA;country:DE=C0SALES",
        "SLA_HOURS_EU": "soon",
    }
    run, doctor = _bot(tmp_path, "run", **env), _bot(tmp_path, "doctor", **env)
    assert run.returncode == doctor.returncode == 2
    assert run.stderr == doctor.stderr
    assert "Traceback" not in run.stderr
    assert "configuration has 3 problem(s)" in run.stderr
    assert "unknown market 'ASIA'" in run.stderr and "'C0SALES' is a channel id" in run.stderr


def test_run_names_a_busy_http_port_and_exits_2(tmp_path: Path, slack_server: FakeSlack) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": slack_server.base_url,
        "BOT_ADMINS": "UADMIN",
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = _bot(tmp_path, "run", BOT_HTTP_PORT=port, **env)
        doctor = _bot(tmp_path, "doctor", BOT_HTTP_PORT=port, **env)
    message = f"BOT_HTTP_PORT={port} is already in use on 127.0.0.1"
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and message in run.stderr
    assert "configuration has 1 problem(s)" in run.stderr
    assert doctor.returncode == 1 and f"[FAIL] BOT_HTTP_PORT: {message}" in doctor.stdout


# -- help, version, --env-file ----------------------------------------------------------------------


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line: the top one and each sub-command's, recursively."""
    from bot.app.cli.main import build_parser

    found: list[tuple[str, argparse.ArgumentParser]] = []

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for sub, child in action.choices.items():
                    assert helps.get(sub), f"`{name} {sub}` has no help line"
                    walk(f"{name} {sub}", child)

    walk("inquiry-bot", build_parser())
    return found


def test_every_subcommand_and_option_has_help() -> None:
    parsers = _parsers()
    names = {n for n, _ in parsers}
    for expected in ("run", "doctor", "screening update", "auth", "audit history"):
        assert f"inquiry-bot {expected}" in names
    for name, parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            label = "/".join(action.option_strings) or action.dest
            assert action.help and action.help != argparse.SUPPRESS, f"{name}: {label} has no help"
    top = dict(parsers)["inquiry-bot"].format_help()
    assert "--env-file PATH" in top and "--version" in top


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"inquiry-bot {version('inquiry-desk')}"


def test_help_of_a_subcommand_describes_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["doctor", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "Creates and sends nothing" in out and "SMTP login (no mail sent)" in out


def test_env_file_is_read_in_either_spelling_anywhere(tmp_path: Path) -> None:
    env_file = tmp_path / "desk.env"
    env_file.write_text(f"DATA_DIR={tmp_path / 'elsewhere'}\nSLA_HOURS_SEA=soon\n")
    for args in (["--env-file", str(env_file), "doctor"], ["doctor", f"--env-file={env_file}"]):
        result = _bot(tmp_path, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "SLA_HOURS_SEA" in result.stderr  # the file's settings were used
