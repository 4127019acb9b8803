"""Real Dovecot with TLS and XOAUTH2: OAuth refresh/revocation, STARTTLS and implicit TLS with a test CA,
localized folders without SPECIAL-USE, two watched folders with their own checkpoints, doctor lines."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest

from bot.adapters.mail.connect import (
    ConnectionSpec,
    connect,
    doctor_imap_report,
    make_watcher,
    plan_folders,
    spec_from_config,
)
from bot.adapters.mail.imap_source import Checkpoint, FetchedMessage
from bot.adapters.mail.oauth import OAuthClient, OAuthRevoked, TokenProvider, TokenSet, TokenStore
from bot.config.oauth import oauth_settings
from bot.config.providers import MailboxOptions, apply_preset, mailbox_options
from bot.config.settings import load_config
from tests.factories import raw_mail
from tests.fixtures_dovecot import Mailbox
from tests.fixtures_dovecot_extra import CertAuthority, FakeOAuthServer, TlsDovecot
from tests.fixtures_dovecot_extra import dovecot_tls as dovecot_tls
from tests.fixtures_dovecot_extra import fake_oauth as fake_oauth
from tests.fixtures_dovecot_extra import tls_ca as tls_ca
from tests.fixtures_dovecot_extra import tls_mailbox as tls_mailbox

pytestmark = pytest.mark.integration


class RecordingSink:
    def __init__(self) -> None:
        self.delivered: list[tuple[str, int]] = []
        self.checkpoints: dict[str, Checkpoint] = {}

    def checkpoint(self, folder: str) -> Checkpoint | None:
        return self.checkpoints.get(folder)

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        self.delivered.append((folder, fetched.uid))

    def save_checkpoint(self, folder: str, checkpoint: Checkpoint) -> None:
        self.checkpoints[folder] = checkpoint


def _raw(subject: str) -> bytes:
    return raw_mail(
        "Please quote 500 units.",
        subject=subject,
        from_="buyer@example.org",
        to="sales@example.com",
        message_id=f"<{subject.replace(' ', '-')}-{time.monotonic_ns()}@example.org>",
    )


def _oauth_env(
    server: TlsDovecot, mb: Mailbox, oauth: FakeOAuthServer, data_dir: Path, ca: CertAuthority
) -> dict[str, str]:
    return {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(server.tls_port),
        "IMAP_TLS_MODE": "ssl",
        "IMAP_CA_FILE": str(ca.ca_file),
        "IMAP_USER": mb.user,
        "IMAP_PASSWORD": "unused-with-oauth2",
        "IMAP_AUTH": "oauth2",
        "OAUTH_CLIENT_ID": "inquiry-desk-test",
        "OAUTH_TOKEN_URL": oauth.token_url,
        "DATA_DIR": str(data_dir),
    }


def _tokens_for(env: dict[str, str]) -> tuple[ConnectionSpec, MailboxOptions, TokenProvider]:
    full = apply_preset(env)
    config = load_config(full)
    options = mailbox_options(full)
    assert config.imap is not None
    settings = oauth_settings(full, options.oauth_provider)
    provider = TokenProvider(OAuthClient(settings), TokenStore(config.data_dir / "oauth-token.json"))
    return spec_from_config(config.imap, options), options, provider


# -- (1) XOAUTH2 ---------------------------------------------------------------------------------------
def test_xoauth2_login_refreshes_an_expired_token_and_watches_the_inbox(
    dovecot_tls: TlsDovecot,
    tls_mailbox: Mailbox,
    fake_oauth: FakeOAuthServer,
    tls_ca: CertAuthority,
    tmp_path: Path,
) -> None:
    access, refresh = fake_oauth.issue(tls_mailbox.user)
    fake_oauth.expire(access)  # Dovecot's introspection now answers active=false for it
    TokenStore(tmp_path / "oauth-token.json").save(TokenSet(access, refresh, time.time() - 60))
    uid = tls_mailbox.append("INBOX", _raw("oauth inquiry"))
    spec, _, tokens = _tokens_for(_oauth_env(dovecot_tls, tls_mailbox, fake_oauth, tmp_path, tls_ca))
    sink = RecordingSink()
    watcher = make_watcher(spec, "INBOX", sink, tokens)
    try:
        assert watcher.catch_up() == 1
    finally:
        watcher.close()
    assert sink.delivered == [("INBOX", uid)]
    saved = TokenStore(tmp_path / "oauth-token.json").load()
    assert saved is not None and saved.access_token != access and saved.refresh_token == refresh
    assert fake_oauth.access[saved.access_token] == (tls_mailbox.user, True)


def test_xoauth2_token_refused_by_the_server_before_its_expiry_is_refreshed_once(
    dovecot_tls: TlsDovecot,
    tls_mailbox: Mailbox,
    fake_oauth: FakeOAuthServer,
    tls_ca: CertAuthority,
    tmp_path: Path,
) -> None:
    access, refresh = fake_oauth.issue(tls_mailbox.user)
    fake_oauth.expire(access)
    TokenStore(tmp_path / "oauth-token.json").save(TokenSet(access, refresh, time.time() + 3000))
    spec, _, tokens = _tokens_for(_oauth_env(dovecot_tls, tls_mailbox, fake_oauth, tmp_path, tls_ca))
    client = connect(spec, tokens)
    try:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    finally:
        client.logout()


def test_revoked_refresh_token_is_reported_clearly(
    dovecot_tls: TlsDovecot,
    tls_mailbox: Mailbox,
    fake_oauth: FakeOAuthServer,
    tls_ca: CertAuthority,
    tmp_path: Path,
) -> None:
    access, refresh = fake_oauth.issue(tls_mailbox.user)
    fake_oauth.expire(access)
    fake_oauth.revoke(refresh)
    TokenStore(tmp_path / "oauth-token.json").save(TokenSet(access, refresh, time.time() - 60))
    spec, options, tokens = _tokens_for(_oauth_env(dovecot_tls, tls_mailbox, fake_oauth, tmp_path, tls_ca))
    reported: list[str] = []
    watcher = make_watcher(
        spec, "INBOX", RecordingSink(), tokens, on_revoked=lambda e: reported.append(str(e))
    )
    for _ in range(2):
        with pytest.raises(OAuthRevoked, match="run `inquiry-bot auth` again"):
            watcher.catch_up()
    assert len(reported) == 1 and "revoked" in reported[0]  # the Slack notice goes out once
    lines = doctor_imap_report(spec, options, tokens)
    assert any(line.startswith("[FAIL] IMAP OAuth2") and "inquiry-bot auth" in line for line in lines)


# -- (2) TLS --------------------------------------------------------------------------------------------
def test_starttls_and_implicit_tls_verify_against_the_configured_ca(
    dovecot_tls: TlsDovecot, tls_mailbox: Mailbox, tls_ca: CertAuthority
) -> None:
    for mode, port in (("starttls", dovecot_tls.port), ("ssl", dovecot_tls.tls_port)):
        spec = ConnectionSpec(
            host="127.0.0.1",
            port=port,
            user=tls_mailbox.user,
            password=tls_mailbox.password,
            tls_mode=mode,
            ca_file=str(tls_ca.ca_file),
        )
        client = connect(spec)
        try:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
            cipher = client._imap.sock.cipher()  # the session really is encrypted
            assert cipher is not None
        finally:
            client.logout()


def test_an_untrusted_certificate_is_refused_and_doctor_says_why(
    dovecot_tls: TlsDovecot, tls_mailbox: Mailbox
) -> None:
    for mode, port in (("starttls", dovecot_tls.port), ("ssl", dovecot_tls.tls_port)):
        spec = ConnectionSpec(
            host="127.0.0.1", port=port, user=tls_mailbox.user, password=tls_mailbox.password, tls_mode=mode
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            connect(spec)
    lines = doctor_imap_report(spec, MailboxOptions(tls_mode="ssl"))
    assert any(line.startswith("[FAIL] IMAP TLS") and "IMAP_CA_FILE" in line for line in lines)


def test_env_with_preset_overrides_reaches_the_tls_server(
    dovecot_tls: TlsDovecot, tls_mailbox: Mailbox, tls_ca: CertAuthority, tmp_path: Path
) -> None:
    env = apply_preset(
        {
            "MAIL_PROVIDER": "proton-bridge",  # STARTTLS preset; the port is ours
            "IMAP_PORT": str(dovecot_tls.port),
            "IMAP_CA_FILE": str(tls_ca.ca_file),
            "IMAP_USER": tls_mailbox.user,
            "IMAP_PASSWORD": tls_mailbox.password,
            "DATA_DIR": str(tmp_path),
        }
    )
    config = load_config(env)
    assert config.imap is not None
    spec = spec_from_config(config.imap, mailbox_options(env))
    assert spec.tls_mode == "starttls"
    tls_mailbox.append("INBOX", _raw("bridge inquiry"))
    sink = RecordingSink()
    watcher = make_watcher(spec, "INBOX", sink)
    try:
        assert watcher.catch_up() == 1
    finally:
        watcher.close()


# -- (3) localized folders -------------------------------------------------------------------------------
def test_localized_sent_and_drafts_are_found_without_special_use(
    dovecot_tls: TlsDovecot, tls_mailbox: Mailbox, tls_ca: CertAuthority
) -> None:
    for name in ("已发送", "草稿箱", "垃圾邮件"):
        tls_mailbox.create_folder(name)
    spec = ConnectionSpec(
        host="127.0.0.1",
        port=dovecot_tls.tls_port,
        user=tls_mailbox.user,
        password=tls_mailbox.password,
        tls_mode="ssl",
        ca_file=str(tls_ca.ca_file),
    )
    client = connect(spec)
    try:
        flags = {name: tuple(f) for f, _d, name in client.list_folders()}
        assert not any(f in (b"\\Sent", b"\\Drafts") for fs in flags.values() for f in fs)
        plan = plan_folders(client, extra_folders=("junk",))
    finally:
        client.logout()
    assert (plan.sent, plan.drafts, plan.junk) == ("已发送", "草稿箱", "垃圾邮件")
    assert plan.watched == ("INBOX", "已发送", "垃圾邮件")
    options = MailboxOptions(tls_mode="ssl", extra_folders=("junk", "Other"), max_connections=3)
    lines = doctor_imap_report(spec, options)
    text = "\n".join(lines)
    assert "sent folder: 已发送" in text and "drafts folder: 草稿箱" in text
    assert "watching folders: INBOX, 已发送, 垃圾邮件" in text
    assert "IDLE=yes" in text and "UIDPLUS=" in text and "CONDSTORE=" in text and "MOVE=" in text
    assert "[FAIL] extra folder: 'Other'" in text
    assert "needs 4 IMAP connections" in text  # 3 IDLE + 1 for writes, cap 3


# -- (4) two watched folders ------------------------------------------------------------------------------
def test_two_watched_folders_keep_independent_checkpoints(
    dovecot_tls: TlsDovecot, tls_mailbox: Mailbox, tls_ca: CertAuthority
) -> None:
    tls_mailbox.create_folder("Junk")
    inbox_uids = [tls_mailbox.append("INBOX", _raw(f"inbox {i}")) for i in range(2)]
    junk_uid = tls_mailbox.append("Junk", _raw("real inquiry in spam"))
    spec = ConnectionSpec(
        host="127.0.0.1",
        port=dovecot_tls.port,
        user=tls_mailbox.user,
        password=tls_mailbox.password,
        tls_mode="starttls",
        ca_file=str(tls_ca.ca_file),
    )
    sink = RecordingSink()
    inbox, junk = make_watcher(spec, "INBOX", sink), make_watcher(spec, "Junk", sink)
    try:
        assert inbox.catch_up() == 2 and junk.catch_up() == 1
        assert sink.checkpoints["INBOX"].last_uid == inbox_uids[-1]
        assert sink.checkpoints["Junk"].last_uid == junk_uid
        assert sink.checkpoints["INBOX"].uidvalidity != sink.checkpoints["Junk"].uidvalidity
        later = tls_mailbox.append("Junk", _raw("second spam-foldered inquiry"))
        assert inbox.catch_up() == 0 and junk.catch_up() == 1
    finally:
        inbox.close()
        junk.close()
    assert sink.delivered[-1] == ("Junk", later)
    assert sink.checkpoints["INBOX"].last_uid == inbox_uids[-1]
    assert sink.checkpoints["Junk"].last_uid == later
