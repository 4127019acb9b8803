"""``inquiry-bot doctor`` against the real Dovecot and the loopback Slack: what works, what to fix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot.app.doctor import run_doctor
from bot.config.settings import load_config
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.integration


def _env(mailbox: Any, slack: FakeSlack, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "IMAP_HOST": mailbox.host,
        "IMAP_PORT": str(mailbox.port),
        "IMAP_SSL": "false",
        "IMAP_USER": mailbox.user,
        "IMAP_PASSWORD": mailbox.password,
        "DATA_DIR": str(tmp),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-test",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": slack.base_url,
        **extra,
    }


def test_doctor_reports_capabilities_folders_and_slack(
    mailbox: Any, slack_server: FakeSlack, tmp_path: Path
) -> None:
    out = io.StringIO()
    code = run_doctor(load_config(_env(mailbox, slack_server, tmp_path)), out)
    text = out.getvalue()
    assert code == 0, text
    assert "IDLE=yes" in text and "SPECIAL-USE=yes" in text
    assert "sent folder: Sent" in text and "drafts folder: Drafts" in text
    assert "Slack auth.test" in text and "bot is a member" in text
    assert "Socket Mode" in text
    assert "offline templates" in text  # no LLM configured


def test_doctor_says_what_to_fix(mailbox: Any, slack_server: FakeSlack, tmp_path: Path) -> None:
    slack_server.fail_method("auth.test", "invalid_auth")
    out = io.StringIO()
    code = run_doctor(load_config(_env(mailbox, slack_server, tmp_path, IMAP_PASSWORD="wrong")), out)
    text = out.getvalue()
    assert code == 1
    assert "[FAIL] IMAP" in text and "password" in text
    assert "invalid_auth: check SLACK_BOT_TOKEN" in text


def test_doctor_checks_the_llm_endpoint(
    mailbox: Any, slack_server: FakeSlack, llm_server: Any, tmp_path: Path
) -> None:
    out = io.StringIO()
    env = _env(
        mailbox,
        slack_server,
        tmp_path,
        OPENAI_BASE_URL=llm_server.base_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_MODEL="fake-model",
    )
    assert run_doctor(load_config(env), out) == 0
    assert f"[ok  ] LLM endpoint {llm_server.base_url}: model fake-model available" in out.getvalue()
    # A model the server does not offer is a warning that names it.
    out = io.StringIO()
    run_doctor(load_config({**env, "OPENAI_MODEL": "gpt-9"}), out)
    assert "model gpt-9 not listed by the server" in out.getvalue()


def test_a_revoked_mailbox_login_is_told_in_the_channel_once_a_day(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from bot.adapters.mail.oauth import OAuthRevoked
    from bot.app.wiring import revoked_notice
    from tests.slack_helpers import drain, make_desktop

    desk = make_desktop(slack_server, tmp_path)
    notify = revoked_notice(desk.outbox, "en", lambda: datetime.now(UTC))
    notify(OAuthRevoked("invalid_grant"))
    notify(OAuthRevoked("invalid_grant"))
    drain(desk.worker)
    posts = [c for c in slack_server.calls("chat.postMessage") if "inquiry-bot auth" in c.params["text"]]
    assert len(posts) == 1 and posts[0].params["channel"] == "CINQ"


# -- operator mistakes ------------------------------------------------------------------------------


def test_doctor_names_the_channel_id_for_a_channel_given_by_name(
    slack_server: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.app.cli.main import main

    for n in range(250):  # the desk's channel is on the second page of conversations.list
        slack_server.channels[f"CX{n:04d}"] = f"other-{n}"
    del slack_server.channels["CINQ"]
    slack_server.channels["C0DESK1234"] = "inquiries"
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-test",
        "SLACK_CHANNEL": "#inquiries",
        "SLACK_API_URL": slack_server.base_url,
        "DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["doctor"]) == 2
    captured = capsys.readouterr()
    assert "SLACK_CHANNEL='#inquiries' must be a channel id" in captured.err
    assert (
        "[FAIL] SLACK_CHANNEL: '#inquiries' is the channel's name: use SLACK_CHANNEL=C0DESK1234"
        in captured.out
    )
    assert len(slack_server.calls("conversations.list")) == 2
    monkeypatch.setenv("SLACK_CHANNEL", "#no-such-channel")
    assert main(["doctor"]) == 2
    assert "no channel named 'no-such-channel' is visible to the bot" in capsys.readouterr().out


def test_doctor_warns_about_readable_data_an_open_env_file_and_no_admins(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env_file = tmp_path / ".env"
    env_file.write_text("IMAP_PASSWORD=secret\n")
    env_file.chmod(0o644)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-test",
        "SLACK_CHANNEL": "CINQ",
        "SLACK_API_URL": slack_server.base_url,
        "DATA_DIR": str(data),
    }
    from bot.app.store import open_store

    open_store(data).close()  # `run` made the store (the doctor creates nothing)
    out = io.StringIO()
    assert run_doctor(load_config(env), out, env_file=env_file) == 0  # warnings only
    text = out.getvalue()
    assert "[ok  ] permissions of DATA_DIR" in text  # the store made it private
    assert f"[warn] permissions of {env_file}: mode 644: it holds passwords and tokens; run chmod 600" in text
    assert "[warn] BOT_ADMINS: empty: nobody can clear a screening hit" in text
    # An older install: the folder and a raw mail readable by everyone.
    data.chmod(0o755)
    (data / "mail").mkdir()
    (data / "mail").chmod(0o755)
    (data / "mail" / "old.eml").write_bytes(b"From: a@b\r\n\r\nhi\r\n")
    (data / "mail" / "old.eml").chmod(0o644)
    env_file.chmod(0o600)
    out = io.StringIO()
    run_doctor(load_config({**env, "BOT_ADMINS": "UADMIN"}), out, env_file=env_file)
    text = out.getvalue()
    assert f"[warn] permissions of DATA_DIR {data}: mode 755; 2 file(s) or folder(s) inside" in text
    assert f"run chmod -R go-rwx {data}" in text
    assert f"[ok  ] permissions of {env_file}: private (0600)" in text
    assert "[ok  ] BOT_ADMINS: UADMIN" in text


def test_doctor_says_a_refused_password_is_the_password(
    mailbox: Any, slack_server: FakeSlack, tmp_path: Path
) -> None:
    out = io.StringIO()
    assert run_doctor(load_config(_env(mailbox, slack_server, tmp_path, IMAP_PASSWORD="wrong")), out) == 1
    assert "refused the login" in out.getvalue() and "check the password / app password" in out.getvalue()
