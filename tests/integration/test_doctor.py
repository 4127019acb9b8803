"""``inquiry-bot doctor`` against the real Dovecot and the loopback Slack: what works, what to fix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from bot.doctor import run_doctor
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

    from bot.app import revoked_notice
    from bot.oauth import OAuthRevoked
    from tests.slack_helpers import drain, make_desktop

    desk = make_desktop(slack_server, tmp_path)
    notify = revoked_notice(desk.outbox, "en", lambda: datetime.now(UTC))
    notify(OAuthRevoked("invalid_grant"))
    notify(OAuthRevoked("invalid_grant"))
    drain(desk.worker)
    posts = [c for c in slack_server.calls("chat.postMessage") if "inquiry-bot auth" in c.params["text"]]
    assert len(posts) == 1 and posts[0].params["channel"] == "CINQ"
