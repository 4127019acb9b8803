"""OAuth tokens shared by several instances (issue #15): providers over the store's token set,
against the loopback token endpoint rotating refresh tokens like Microsoft (a spent refresh token
is refused). On the memory store (one process, two providers) and on a real PostgreSQL with two
"instances" (a PostgresStore and a PgCoordination each), refreshing together; ``inquiry-bot auth``
saving into the PostgreSQL store."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.mail.oauth import OAuthClient, TokenProvider, TokenSet, TokenStore
from bot.adapters.mail.oauth_shared import META_KEY, StoredTokens, token_keeper
from bot.adapters.store.coordination import LocalCoordination
from bot.adapters.store.memory import MemoryStore
from bot.adapters.store.postgres.coordination import PgCoordination
from bot.adapters.store.postgres.store import PostgresStore
from bot.app.cli.auth import run_auth
from bot.app.doctor import check_imap
from bot.config.oauth import OAuthSettings
from bot.config.providers import apply_preset
from bot.config.settings import load_config
from tests.fixtures_dovecot import Mailbox
from tests.fixtures_dovecot_extra import CertAuthority, FakeOAuthServer, TlsDovecot
from tests.fixtures_dovecot_extra import dovecot_tls as dovecot_tls
from tests.fixtures_dovecot_extra import fake_oauth as fake_oauth
from tests.fixtures_dovecot_extra import tls_ca as tls_ca
from tests.fixtures_dovecot_extra import tls_mailbox as tls_mailbox

USER = "u@example.com"


class SharedCoordination(LocalCoordination):
    """The local coordination, saying the store is shared (as PostgreSQL's does)."""

    shared = True


class Clock:
    def __init__(self, now: float = 2_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rotating(fake_oauth: FakeOAuthServer) -> Iterator[FakeOAuthServer]:
    """The session's token endpoint, rotating refresh tokens like Microsoft (restored after)."""
    fake_oauth.calls.clear()
    fake_oauth.device_answers.clear()
    fake_oauth.rotate_refresh = True
    fake_oauth.stale_refreshes = 0
    try:
        yield fake_oauth
    finally:
        fake_oauth.rotate_refresh = False
        fake_oauth.calls.clear()


def _refreshes(server: FakeOAuthServer) -> int:
    return sum(1 for c in server.calls if c.get("grant_type") == "refresh_token")


def _client(server: FakeOAuthServer, clock: Clock) -> OAuthClient:
    return OAuthClient(OAuthSettings(client_id="cid", token_url=server.token_url, scope="s"), clock=clock)


def _live_refresh_tokens(server: FakeOAuthServer, user: str) -> list[str]:
    return [rt for rt, who in server.refresh.items() if who == user]


def _together(providers: list[TokenProvider], threads_each: int) -> list[str]:
    """Every provider asked for a token by ``threads_each`` threads released at once."""
    n = len(providers) * threads_each
    start = threading.Barrier(n)
    got: list[str] = []
    errors: list[BaseException] = []

    def ask(provider: TokenProvider) -> None:
        try:
            start.wait(timeout=20)
            got.append(provider.access_token())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(providers[i % len(providers)],)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    assert len(got) == n
    return got


# ------------------------------------------------------------------------ memory store
def test_a_provider_uses_the_token_another_provider_refreshed(rotating: FakeOAuthServer) -> None:
    user = "memory-a@example.com"
    access, refresh = rotating.issue(user)
    clock = Clock()
    store = MemoryStore()
    StoredTokens(store, SharedCoordination()).save(TokenSet(access, refresh, clock.now + 1000))
    a = TokenProvider(_client(rotating, clock), StoredTokens(store, SharedCoordination()), clock=clock)
    b = TokenProvider(_client(rotating, clock), StoredTokens(store, SharedCoordination()), clock=clock)
    assert a.access_token() == b.access_token() == access  # both cache the first token
    clock.now += 800  # 200 s left: inside the 300 s margin for both
    fresh = a.access_token()
    assert fresh != access and _refreshes(rotating) == 1
    # b's cached refresh token was rotated away by a's refresh: b reads again and uses a's token.
    assert b.access_token() == fresh and _refreshes(rotating) == 1
    assert store.get_meta(META_KEY)["refresh_token"] in rotating.refresh and refresh in rotating.spent
    # The server refuses b's token (say): b refreshes with the newest refresh token, not its own.
    newer = b.access_token(force_refresh=True)
    assert newer not in (access, fresh) and _refreshes(rotating) == 2
    # a's token was refused too: the store holds another, valid one, which a takes as it is.
    assert a.access_token(force_refresh=True) == newer and _refreshes(rotating) == 2
    assert rotating.stale_refreshes == 0
    assert _live_refresh_tokens(rotating, user) == [store.get_meta(META_KEY)["refresh_token"]]


def test_the_threads_of_one_process_refresh_once(rotating: FakeOAuthServer) -> None:
    user = "memory-b@example.com"
    access, refresh = rotating.issue(user)
    clock = Clock()
    store = MemoryStore()
    coordination = SharedCoordination()  # one process: its providers share its coordination
    StoredTokens(store, coordination).save(TokenSet(access, refresh, clock.now - 10))
    providers = [
        TokenProvider(_client(rotating, clock), StoredTokens(store, coordination), clock=clock)
        for _ in range(2)
    ]
    got = _together(providers, 4)
    assert len(set(got)) == 1 and got[0] != access and rotating.access[got[0]] == (user, True)
    assert _refreshes(rotating) == 1 and rotating.stale_refreshes == 0
    assert _live_refresh_tokens(rotating, user) == [store.get_meta(META_KEY)["refresh_token"]]


def test_two_providers_of_one_token_file_do_not_spend_a_rotated_refresh_token(
    rotating: FakeOAuthServer, tmp_path: Path
) -> None:
    """One instance on TinyDB: the watchers' and the SMTP sender's providers share the file."""
    user = "file-a@example.com"
    access, refresh = rotating.issue(user)
    clock = Clock()
    file = TokenStore(tmp_path / "oauth-token.json")
    file.save(TokenSet(access, refresh, clock.now + 1000))
    watchers, sender = (
        TokenProvider(_client(rotating, clock), TokenStore(file.path), clock=clock) for _ in range(2)
    )
    assert watchers.access_token() == sender.access_token() == access
    clock.now += 800
    fresh = sender.access_token()  # rotates the refresh token the watchers' provider cached
    assert fresh != access and watchers.access_token() == fresh
    assert _refreshes(rotating) == 1 and rotating.stale_refreshes == 0
    saved = json.loads(file.path.read_text())
    assert _live_refresh_tokens(rotating, user) == [saved["refresh_token"]]


# ------------------------------------------------------------------------- PostgreSQL
@pytest.fixture
def instances(pg_url: str) -> Iterator[list[tuple[PostgresStore, PgCoordination]]]:
    """Two instances (a store and a coordination each) on one database."""
    made: list[tuple[PostgresStore, PgCoordination]] = []
    try:
        for _ in range(2):
            store = PostgresStore(pg_url)
            made.append((store, PgCoordination(pg_url, store.sessions)))
        yield made
    finally:
        for store, coordination in made:
            coordination.close()
            store.close()


@pytest.mark.postgres
def test_two_instances_refreshing_together_keep_the_newest_refresh_token(
    instances: list[tuple[PostgresStore, PgCoordination]], rotating: FakeOAuthServer
) -> None:
    user = "pg-a@example.com"
    access, refresh = rotating.issue(user)
    clock = Clock()
    StoredTokens(*instances[0]).save(TokenSet(access, refresh, clock.now + 1000))
    providers = [
        TokenProvider(_client(rotating, clock), StoredTokens(s, c), clock=clock) for s, c in instances
    ]
    assert [p.access_token() for p in providers] == [access, access]
    seen = {access}
    for turn in range(1, 6):
        clock.now += 3600  # every cached token is past its refresh margin
        got = _together(providers, 3)
        # Both instances end with one working access token, made by one refresh.
        assert len(set(got)) == 1 and got[0] not in seen, turn
        assert rotating.access[got[0]] == (user, True)
        seen.add(got[0])
        assert _refreshes(rotating) == turn
        # The stored refresh token is the newest: the only one the endpoint still takes.
        for keeper in (StoredTokens(*instances[0]), StoredTokens(*instances[1])):
            stored = keeper.load()
            assert stored is not None and stored.access_token == got[0]
            assert _live_refresh_tokens(rotating, user) == [stored.refresh_token]
    assert rotating.stale_refreshes == 0  # no refresh ever spent a rotated-away refresh token
    assert refresh in rotating.spent


@pytest.mark.postgres
def test_an_instance_whose_token_was_refused_takes_the_other_ones_refresh(
    instances: list[tuple[PostgresStore, PgCoordination]], rotating: FakeOAuthServer
) -> None:
    user = "pg-b@example.com"
    access, refresh = rotating.issue(user)
    clock = Clock()
    StoredTokens(*instances[0]).save(TokenSet(access, refresh, clock.now + 3000))
    a, b = (TokenProvider(_client(rotating, clock), StoredTokens(s, c), clock=clock) for s, c in instances)
    assert a.access_token() == b.access_token() == access
    fresh = a.access_token(force_refresh=True)  # the server refused a's login
    assert fresh != access and _refreshes(rotating) == 1
    # b's login is refused too: b finds a's new token in the store and spends nothing.
    assert b.access_token(force_refresh=True) == fresh and _refreshes(rotating) == 1
    # Later b's own turn: b refreshes with the refresh token a's refresh left (not its stale one).
    newer = b.access_token(force_refresh=True)
    assert newer != fresh and _refreshes(rotating) == 2 and rotating.stale_refreshes == 0
    stored = StoredTokens(*instances[0]).load()
    assert stored is not None and _live_refresh_tokens(rotating, user) == [stored.refresh_token]


@pytest.mark.postgres
def test_the_first_start_copies_the_token_file_into_postgres_once(
    instances: list[tuple[PostgresStore, PgCoordination]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    TokenStore(tmp_path / "oauth-token.json").save(TokenSet("at-file-1", "rt-file-1", 123.0))
    (store_a, coord_a), (store_b, coord_b) = instances
    with caplog.at_level(logging.INFO, logger="bot.adapters.mail.oauth_shared"):
        keeper = token_keeper(tmp_path, store_a, coord_a)
        again = token_keeper(tmp_path, store_b, coord_b)  # a second instance starting: no copy
    assert isinstance(keeper, StoredTokens) and "PostgreSQL" in keeper.where
    copies = [r.getMessage() for r in caplog.records if "copied" in r.getMessage()]
    assert len(copies) == 1 and str(tmp_path / "oauth-token.json") in copies[0]
    assert "at-file-1" not in caplog.text and "rt-file-1" not in caplog.text
    loaded = again.load()
    assert loaded is not None and (loaded.access_token, loaded.refresh_token) == ("at-file-1", "rt-file-1")
    assert store_b.get_meta(META_KEY)["refresh_token"] == "rt-file-1"


@pytest.mark.postgres
def test_auth_saves_into_the_postgresql_store(pg_url: str, tmp_path: Path, rotating: FakeOAuthServer) -> None:
    env = {
        "MAIL_PROVIDER": "m365",
        "IMAP_USER": "sales@acme.com",
        "OAUTH_CLIENT_ID": "cid",
        "OAUTH_TOKEN_URL": rotating.token_url,
        "OAUTH_DEVICE_URL": rotating.device_url,
        "DATA_DIR": str(tmp_path),
        "STORE_URL": pg_url,
    }
    out = io.StringIO()
    assert run_auth(env, out, sleep=lambda s: None) == 0
    text = out.getvalue()
    assert "Tokens saved to the PostgreSQL store" in text and "every instance" in text
    assert "rt-" not in text and "at-" not in text  # tokens are never printed
    assert not (tmp_path / "oauth-token.json").exists()
    store = PostgresStore(pg_url)
    try:
        saved = store.get_meta(META_KEY)
    finally:
        store.close()
    assert saved["refresh_token"] in rotating.refresh and saved["access_token"] in rotating.access
    assert json.dumps(saved).count("rt-") == 1


def test_auth_with_a_broken_store_url_fails_before_the_sign_in(
    tmp_path: Path, rotating: FakeOAuthServer
) -> None:
    env = {
        "MAIL_PROVIDER": "m365",
        "IMAP_USER": "sales@acme.com",
        "OAUTH_CLIENT_ID": "cid",
        "OAUTH_TOKEN_URL": rotating.token_url,
        "OAUTH_DEVICE_URL": rotating.device_url,
        "DATA_DIR": str(tmp_path),
        "STORE_URL": "postgresql://desk:s3cret@127.0.0.1:1/desk",
    }
    out, err = io.StringIO(), io.StringIO()
    assert run_auth(env, out, sleep=lambda s: None, err=err) == 2
    assert "could not connect to PostgreSQL" in err.getvalue() and "s3cret" not in err.getvalue()
    assert rotating.calls == [] and "WDJB-MJHT" not in out.getvalue()


@pytest.mark.integration
@pytest.mark.postgres
def test_doctor_logs_in_to_dovecot_with_the_tokens_in_postgres(
    dovecot_tls: TlsDovecot,
    tls_mailbox: Mailbox,
    tls_ca: CertAuthority,
    rotating: FakeOAuthServer,
    pg_url: str,
    tmp_path: Path,
) -> None:
    """A host without the token file: the IMAP login uses (and refreshes) the store's tokens."""
    access, refresh = rotating.issue(tls_mailbox.user)
    rotating.expire(access)  # Dovecot refuses it: the login needs a refresh
    store = PostgresStore(pg_url)
    try:
        StoredTokens(store, LocalCoordination()).save(TokenSet(access, refresh, time.time() - 60))
        env = {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(dovecot_tls.tls_port),
            "IMAP_TLS_MODE": "ssl",
            "IMAP_CA_FILE": str(tls_ca.ca_file),
            "IMAP_USER": tls_mailbox.user,
            "IMAP_PASSWORD": "unused-with-oauth2",
            "IMAP_AUTH": "oauth2",
            "OAUTH_CLIENT_ID": "inquiry-desk-test",
            "OAUTH_TOKEN_URL": rotating.token_url,
            "DATA_DIR": str(tmp_path),
            "STORE_URL": pg_url,
        }
        out = io.StringIO()
        check_imap(load_config(apply_preset(env)), out)  # (this mailbox has no Sent folder: FAIL)
        report = out.getvalue()
        assert "auth oauth2" in report and f"[ok  ] IMAP login {tls_mailbox.user}@" in report, report
        assert "OAuth2" not in report and "inquiry-bot auth" not in report, report
        saved = store.get_meta(META_KEY)
        assert saved["access_token"] != access and rotating.access[saved["access_token"]][1]
        assert _live_refresh_tokens(rotating, tls_mailbox.user) == [saved["refresh_token"]]
        assert not (tmp_path / "oauth-token.json").exists()
    finally:
        store.close()
