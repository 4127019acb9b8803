"""OAuth2 device flow, token file and refresh, against the loopback token server (fixtures_dovecot_extra)."""

from __future__ import annotations

import base64
import io
import json
import smtplib
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.mail.oauth import (
    DeviceFlowExpired,
    OAuthClient,
    OAuthNotAuthorized,
    OAuthRevoked,
    TokenProvider,
    TokenSet,
    TokenStore,
    smtp_login_xoauth2,
)
from bot.app.cli.auth import run_auth
from bot.config.oauth import OAuthSettings, oauth_settings
from bot.core.errors import ConfigError
from tests.fixtures_dovecot_extra import FakeOAuthServer
from tests.fixtures_dovecot_extra import fake_oauth as fake_oauth


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def oauth(fake_oauth: FakeOAuthServer) -> Iterator[FakeOAuthServer]:
    fake_oauth.device_answers.clear()
    fake_oauth.calls.clear()
    yield fake_oauth
    fake_oauth.device_answers.clear()


def _settings(server: FakeOAuthServer) -> OAuthSettings:
    return OAuthSettings(client_id="cid", token_url=server.token_url, device_url=server.device_url, scope="s")


def test_device_flow_waits_through_pending_and_slow_down(oauth: FakeOAuthServer) -> None:
    oauth.device_answers[:] = ["authorization_pending", "slow_down", "authorization_pending"]
    clock = Clock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    client = OAuthClient(_settings(oauth), clock=clock)
    device = client.start_device_flow()
    assert device.user_code == "WDJB-MJHT" and device.verification_uri.endswith("/activate")
    tokens = client.poll_device_flow(device, sleep=sleep)
    assert waits == [5, 5, 10, 10]  # slow_down adds 5 s to the interval for good
    assert tokens.refresh_token and tokens.expires_at == clock.now + 3600
    assert [c["grant_type"] for c in oauth.calls].count("urn:ietf:params:oauth:grant-type:device_code") == 4


def test_device_flow_reports_an_expired_code(oauth: FakeOAuthServer) -> None:
    oauth.device_answers[:] = ["authorization_pending", "expired_token"]
    client = OAuthClient(_settings(oauth))
    with pytest.raises(DeviceFlowExpired, match="inquiry-bot auth"):
        client.poll_device_flow(client.start_device_flow(), sleep=lambda s: None)


def test_device_flow_gives_up_when_the_code_lifetime_is_over(oauth: FakeOAuthServer) -> None:
    oauth.device_answers[:] = ["authorization_pending"] * 1000
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.now += seconds

    client = OAuthClient(_settings(oauth), clock=clock)
    with pytest.raises(DeviceFlowExpired):
        client.poll_device_flow(client.start_device_flow(), sleep=sleep)
    assert clock.now >= 1_000_000.0 + 600


def test_token_file_is_private_and_written_atomically(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "data" / "oauth-token.json")
    store.save(TokenSet("at-1", "rt-1", 123.0))
    store.save(TokenSet("at-2", "rt-1", 456.0))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["oauth-token.json"]
    loaded = store.load()
    assert loaded is not None and (loaded.access_token, loaded.expires_at) == ("at-2", 456.0)
    assert "at-2" not in repr(loaded) and "rt-1" not in repr(loaded)


def test_provider_refreshes_before_expiry_and_keeps_the_refresh_token(
    oauth: FakeOAuthServer, tmp_path: Path
) -> None:
    _, refresh = oauth.issue("u@example.com")
    clock = Clock()
    store = TokenStore(tmp_path / "oauth-token.json")
    store.save(TokenSet("at-old", refresh, clock.now + 1000))
    provider = TokenProvider(OAuthClient(_settings(oauth), clock=clock), store, margin=300, clock=clock)
    assert provider.access_token() == "at-old"  # 1000 s left: no refresh
    assert oauth.calls == []
    clock.now += 750  # 250 s left, inside the 300 s margin
    fresh = provider.access_token()
    assert fresh != "at-old" and oauth.access[fresh] == ("u@example.com", True)
    saved = json.loads(store.path.read_text())
    assert saved["access_token"] == fresh and saved["refresh_token"] == refresh
    assert provider.access_token() == fresh and len(oauth.calls) == 1


def test_revoked_refresh_token_raises_an_actionable_error(oauth: FakeOAuthServer, tmp_path: Path) -> None:
    _, refresh = oauth.issue("u@example.com")
    oauth.revoke(refresh)
    store = TokenStore(tmp_path / "oauth-token.json")
    store.save(TokenSet("at-old", refresh, 0.0))
    provider = TokenProvider(OAuthClient(_settings(oauth)), store)
    with pytest.raises(OAuthRevoked, match=r"invalid_grant.*run `inquiry-bot auth` again"):
        provider.access_token()


def test_missing_token_file_says_to_run_auth(tmp_path: Path, oauth: FakeOAuthServer) -> None:
    provider = TokenProvider(OAuthClient(_settings(oauth)), TokenStore(tmp_path / "none.json"))
    with pytest.raises(OAuthNotAuthorized, match="inquiry-bot auth"):
        provider.access_token()


def test_settings_build_microsoft_endpoints_from_the_tenant() -> None:
    s = oauth_settings({"OAUTH_CLIENT_ID": "cid", "OAUTH_TENANT": "acme.onmicrosoft.com"}, "microsoft")
    assert s.token_url == "https://login.microsoftonline.com/acme.onmicrosoft.com/oauth2/v2.0/token"
    assert s.device_url.endswith("/devicecode") and "IMAP.AccessAsUser.All" in s.scope
    assert "offline_access" in s.scope
    g = oauth_settings({"OAUTH_CLIENT_ID": "cid", "OAUTH_TOKEN_URL": "http://127.0.0.1:1/t"}, "google")
    assert g.token_url == "http://127.0.0.1:1/t" and g.scope == "https://mail.google.com/"
    with pytest.raises(ConfigError, match="OAUTH_CLIENT_ID"):
        oauth_settings({}, "google")


def test_auth_command_prints_the_code_and_saves_private_tokens(
    oauth: FakeOAuthServer, tmp_path: Path
) -> None:
    oauth.device_answers[:] = ["authorization_pending"]
    env = {
        "MAIL_PROVIDER": "m365",
        "IMAP_USER": "sales@acme.com",
        "OAUTH_CLIENT_ID": "cid",
        "OAUTH_TOKEN_URL": oauth.token_url,
        "OAUTH_DEVICE_URL": oauth.device_url,
        "DATA_DIR": str(tmp_path),
    }
    out = io.StringIO()
    assert run_auth(env, out, sleep=lambda s: None) == 0
    text = out.getvalue()
    assert oauth.device_url.replace("/device", "/activate") in text and "WDJB-MJHT" in text
    token_file = tmp_path / "oauth-token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert json.loads(token_file.read_text())["refresh_token"].startswith("rt-")
    assert "rt-" not in text and "at-" not in text  # tokens are never printed


def test_auth_command_refuses_a_password_mailbox(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_auth({"MAIL_PROVIDER": "exmail", "DATA_DIR": str(tmp_path)}, out) == 2
    assert "IMAP_AUTH=oauth2" in out.getvalue()


class XOAuth2Handler:
    """aiosmtpd handler that accepts XOAUTH2 for one token and records the mail it gets."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.logins: list[str] = []
        self.messages: list[bytes] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        from aiosmtpd.smtp import MISSING, AuthResult

        blob = args[1] if len(args) > 1 else await server.challenge_auth("")
        if blob is MISSING:
            return AuthResult(success=False, handled=False)
        text = base64.b64decode(blob).decode() if isinstance(blob, str) else bytes(blob).decode()
        fields = dict(part.split("=", 1) for part in text.split("\x01") if part)
        if fields.get("auth") != f"Bearer {self.token}":
            return AuthResult(success=False, handled=False)
        self.logins.append(fields["user"])
        return AuthResult(success=True, auth_data=fields["user"])

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.content))
        return "250 OK"


def test_smtp_xoauth2_login_sends_mail_and_a_bad_token_is_refused() -> None:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = XOAuth2Handler("good-token")
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp_login_xoauth2(smtp, "sales@acme.com", "good-token")
            smtp.sendmail("sales@acme.com", ["buyer@example.org"], b"Subject: hi\r\n\r\nQuote attached.\r\n")
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            smtp_login_xoauth2(smtp, "sales@acme.com", "stale-token")
    finally:
        controller.stop()
    assert handler.logins == ["sales@acme.com"] and len(handler.messages) == 1
