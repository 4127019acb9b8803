"""``inquiry-bot doctor`` on the checks that need no mailbox: the scopes the bot token was granted,
the app token, SMTP login against a real aiosmtpd (no mail sent), the screening lists (present,
entries, age), and that a doctor run creates and changes nothing on disk."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.app.doctor import BOT_SCOPES, SCREENING_MAX_AGE_DAYS, run_doctor
from bot.app.store import open_store
from bot.config.settings import load_config
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import Recorder

ROOT = Path(__file__).resolve().parents[1]
LISTS = ROOT / "tests" / "fixtures" / "trust"


def _env(slack: FakeSlack, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-test",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": slack.base_url,
        "DATA_DIR": str(tmp / "data"),
        "BOT_ADMINS": "UADMIN",
        **extra,
    }


def _doctor(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = run_doctor(load_config(env), out)
    return code, out.getvalue()


# -- Slack: scopes and the app token -----------------------------------------------------------------


def test_doctor_reads_the_granted_scopes_and_names_what_is_missing(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    code, text = _doctor(_env(slack_server, tmp_path))
    assert code == 0, text
    assert f"[ok  ] Slack scopes: the {len(BOT_SCOPES)} scopes the bot needs, no more" in text

    slack_server.scopes = ",".join(s for s in BOT_SCOPES if s not in ("im:history", "users:read"))
    code, text = _doctor(_env(slack_server, tmp_path))
    assert code == 1
    line = next(x for x in text.splitlines() if "Slack scopes" in x)
    assert line.startswith("[FAIL]")
    assert "im:history (the same for DMs (SLA pings, digests))" in line
    assert "users:read (each owner's time zone for digests)" in line and "reinstall the app" in line
    assert "chat:write" not in line

    slack_server.scopes = ",".join([*BOT_SCOPES, "reactions:write", "chat:write.public"])
    code, text = _doctor(_env(slack_server, tmp_path))
    assert code == 0
    assert (
        "[warn] Slack scopes: granted but not needed: chat:write.public, reactions:write "
        "(remove them: least privilege)" in text
    )


def test_doctor_checks_the_app_token_with_apps_connections_open(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    code, text = _doctor(_env(slack_server, tmp_path, SLACK_APP_TOKEN="xapp-test"))
    assert code == 0, text
    assert "[ok  ] SLACK_APP_TOKEN: opens Socket Mode connections" in text
    (call,) = slack_server.calls("apps.connections.open")
    assert call.headers["authorization"] == "Bearer xapp-test"  # the app token, not the bot token

    slack_server.fail_method("apps.connections.open", "invalid_auth")
    code, text = _doctor(_env(slack_server, tmp_path, SLACK_APP_TOKEN="xapp-revoked"))
    assert code == 1
    assert (
        "[FAIL] SLACK_APP_TOKEN: invalid_auth: use the app-level token (xapp-…) with connections:write"
        in text
    )
    assert "xapp-revoked" not in text


def test_http_mode_does_not_ask_for_an_app_token(slack_server: FakeSlack, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = _env(slack_server, tmp_path, SLACK_SIGNING_SECRET="s", BOT_HTTP_PORT=port)
    del env["SLACK_APP_TOKEN"]
    code, text = _doctor(env)
    assert "SLACK_APP_TOKEN" not in text and not slack_server.calls("apps.connections.open")
    assert code == 0, text


# -- SMTP ----------------------------------------------------------------------------------------


class _Auth:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"sales@x.test", b"right")
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_auth() -> Iterator[tuple[Recorder, int]]:
    """aiosmtpd on loopback that wants AUTH LOGIN/PLAIN (plain text allowed: loopback only)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Recorder()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=_Auth(), auth_require_tls=False
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_doctor_logs_in_to_smtp_and_sends_nothing(
    slack_server: FakeSlack, tmp_path: Path, smtp_auth: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_auth
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none"}
    code, text = _doctor(
        _env(slack_server, tmp_path, **smtp, SMTP_USER="sales@x.test", SMTP_PASSWORD="right")
    )
    assert code == 0, text
    assert f"[ok  ] SMTP 127.0.0.1:{port}: login as sales@x.test accepted; no mail sent" in text

    code, text = _doctor(
        _env(slack_server, tmp_path, **smtp, SMTP_USER="sales@x.test", SMTP_PASSWORD="wrong")
    )
    assert code == 1
    assert f"[FAIL] SMTP 127.0.0.1:{port}: login refused (535): check SMTP_USER and SMTP_PASSWORD" in text
    assert "wrong" not in text  # the password is never printed
    assert recorder.messages == []

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = int(s.getsockname()[1])
    code, text = _doctor(_env(slack_server, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=str(closed)))
    assert code == 1
    assert f"[FAIL] SMTP 127.0.0.1:{closed}: ConnectionRefusedError: cannot connect" in text


def test_without_smtp_doctor_says_replies_cannot_be_sent(slack_server: FakeSlack, tmp_path: Path) -> None:
    assert "[warn] SMTP: SMTP_HOST is not set" in _doctor(_env(slack_server, tmp_path))[1]


# -- screening lists ---------------------------------------------------------------------------------


def test_doctor_checks_each_screening_list_entries_and_age(slack_server: FakeSlack, tmp_path: Path) -> None:
    fresh = tmp_path / "targets.simple.csv"
    shutil.copy(LISTS / "opensanctions" / "targets.simple.csv", fresh)
    old = tmp_path / "consolidated.csv"
    shutil.copy(LISTS / "csl" / "consolidated.csv", old)
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    empty = tmp_path / "empty.csv"
    empty.write_text((LISTS / "opensanctions" / "targets.simple.csv").read_text().splitlines()[0] + "\n")
    url = "https://data.opensanctions.org/datasets/latest/sanctions/targets.simple.csv"
    lists = ",".join([str(fresh), str(old), str(empty), str(tmp_path / "missing.csv"), url])
    code, text = _doctor(_env(slack_server, tmp_path, SCREENING_LISTS=lists))
    assert code == 1
    assert "[ok  ] screening list targets.simple.csv: 6 entries, 0 day(s) old" in text
    assert (
        f"[warn] screening list consolidated.csv: 2 entries, 30 day(s) old: older than "
        f"{SCREENING_MAX_AGE_DAYS} days; download a fresh copy" in text
    )
    assert "[FAIL] screening list empty.csv: 0 entries, 0 day(s) old: the list is empty" in text
    assert f"[FAIL] screening list missing.csv: {tmp_path / 'missing.csv'} does not exist" in text
    assert (
        "[FAIL] screening list targets.simple.csv: not downloaded yet: run `inquiry-bot screening update`"
        in text
    )

    code, text = _doctor(_env(slack_server, tmp_path))
    assert "[warn] screening lists: SCREENING_LISTS is not set: no sanctions screening" in text


# -- doctor creates nothing ------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
    }


def test_doctor_with_an_empty_environment_creates_nothing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[warn] store in data: no store yet: `inquiry-bot run` creates it" in result.stdout
    assert list(tmp_path.iterdir()) == []  # no ./data, nothing else


def test_doctor_on_an_existing_store_changes_nothing(slack_server: FakeSlack, tmp_path: Path) -> None:
    open_store(tmp_path / "data").close()
    for path in tmp_path.rglob("*"):  # back-dated, so that any rewrite shows in the mtime
        os.utime(path, (1_700_000_000, 1_700_000_000))
    before = _tree(tmp_path)
    code, text = _doctor(_env(slack_server, tmp_path, SLACK_APP_TOKEN="xapp-test"))
    assert code == 0, text
    assert "[ok  ] store in" in text
    assert _tree(tmp_path) == before


def test_a_data_dir_that_cannot_be_created_is_a_failure(slack_server: FakeSlack, tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    code, text = _doctor(_env(slack_server, tmp_path, DATA_DIR=str(tmp_path / "data" / "desk")))
    assert code == 1
    assert (
        f"[FAIL] DATA_DIR {tmp_path / 'data' / 'desk'}: cannot be created: {tmp_path / 'data'} is a file"
        in text
    )
