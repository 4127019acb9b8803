"""Browser sign-in (loopback + PKCE) end to end: the token it obtains logs in to a real Dovecot over
IMAP XOAUTH2, and after the access token expires the refreshed one does too."""

from __future__ import annotations

import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from bot.adapters.mail.connect import connect, spec_from_config
from bot.adapters.mail.oauth import OAuthClient, TokenProvider, TokenStore
from bot.app.cli.auth import run_auth
from bot.config.oauth import oauth_settings
from bot.config.providers import apply_preset, mailbox_options
from bot.config.settings import load_config
from tests.fakes.oauth_server import FakeAuthorizationServer
from tests.fakes.oauth_server import google_oauth as google_oauth
from tests.fixtures_dovecot import Mailbox
from tests.fixtures_dovecot_extra import CertAuthority, FakeOAuthServer, TlsDovecot
from tests.fixtures_dovecot_extra import dovecot_tls as dovecot_tls
from tests.fixtures_dovecot_extra import fake_oauth as fake_oauth
from tests.fixtures_dovecot_extra import tls_ca as tls_ca
from tests.fixtures_dovecot_extra import tls_mailbox as tls_mailbox
from tests.integration.test_oauth_loopback import URL_LINE, LiveOutput, browse

pytestmark = pytest.mark.integration


def test_browser_sign_in_token_logs_in_to_imap_and_refreshes(
    dovecot_tls: TlsDovecot,
    tls_mailbox: Mailbox,
    fake_oauth: FakeOAuthServer,
    google_oauth: FakeAuthorizationServer,
    tls_ca: CertAuthority,
    tmp_path: Path,
) -> None:
    google_oauth.user = tls_mailbox.user  # the account the "browser" signs in as
    tls_mailbox.append("INBOX", b"From: buyer@example.org\r\nSubject: quote\r\n\r\n500 units please.\r\n")
    env = {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(dovecot_tls.tls_port),
        "IMAP_TLS_MODE": "ssl",
        "IMAP_CA_FILE": str(tls_ca.ca_file),
        "IMAP_USER": tls_mailbox.user,
        "IMAP_PASSWORD": "unused-with-oauth2",
        "IMAP_AUTH": "oauth2",
        "OAUTH_PROVIDER": "google",
        "OAUTH_CLIENT_ID": google_oauth.client_id,
        "OAUTH_CLIENT_SECRET": google_oauth.client_secret,
        "OAUTH_AUTH_URL": google_oauth.auth_url,
        "OAUTH_TOKEN_URL": google_oauth.token_url,
        "DATA_DIR": str(tmp_path),
    }

    # 1. `inquiry-bot auth`: the test is the browser.
    out, code = LiveOutput(), []
    worker = threading.Thread(target=lambda: code.append(run_auth(env, out)), daemon=True)
    worker.start()
    url = out.wait_for(URL_LINE).group(1)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["login_hint"] == [tls_mailbox.user]
    assert browse(url)[0] == 200
    worker.join(30)
    assert code == [0], out.getvalue()
    saved = TokenStore(tmp_path / "oauth-token.json").load()
    assert saved is not None and saved.refresh_token

    # 2. IMAP XOAUTH2 with the token the sign-in obtained (Dovecot introspects it).
    full = apply_preset(env)
    config = load_config(full)
    options = mailbox_options(full)
    assert config.imap is not None
    spec = spec_from_config(config.imap, options)
    settings = oauth_settings(full, options.oauth_provider)
    store = TokenStore(config.data_dir / "oauth-token.json")
    client = connect(spec, TokenProvider(OAuthClient(settings), store))
    try:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    finally:
        client.logout()
    assert [r["grant_type"] for r in google_oauth.token_requests] == ["authorization_code"]

    # 3. An hour later: the access token has expired at the server; the bot refreshes and logs in.
    fake_oauth.expire(saved.access_token)
    later = TokenProvider(OAuthClient(settings), store, clock=lambda: time.time() + 3600)
    client = connect(spec, later)
    try:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    finally:
        client.logout()
    assert [r["grant_type"] for r in google_oauth.token_requests] == ["authorization_code", "refresh_token"]
    refreshed = store.load()
    assert refreshed is not None and refreshed.access_token != saved.access_token
    assert refreshed.refresh_token == saved.refresh_token
    assert fake_oauth.access[refreshed.access_token] == (tls_mailbox.user, True)
