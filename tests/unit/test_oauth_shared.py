"""The OAuth token set kept in the store (bot.adapters.mail.oauth_shared) on the memory store:
the entry, where the tokens go (file or store), and the one-time copy of the token file.
Providers refreshing against the loopback token endpoint: tests/integration/test_oauth_shared.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.adapters.mail.oauth import OAuthError, TokenSet, TokenStore
from bot.adapters.mail.oauth_shared import META_KEY, StoredTokens, token_keeper
from bot.adapters.store.coordination import LocalCoordination
from bot.adapters.store.memory import MemoryStore


class SharedCoordination(LocalCoordination):
    """The local coordination, saying the store is shared (as PostgreSQL's does)."""

    shared = True


def test_the_token_set_round_trips_through_the_store() -> None:
    store = MemoryStore()
    keeper = StoredTokens(store, SharedCoordination())
    assert keeper.load() is None
    keeper.save(TokenSet("at-1", "rt-1", 123.0, scope="s"))
    assert store.get_meta(META_KEY)["refresh_token"] == "rt-1"  # plain JSON in the key/values
    loaded = keeper.load()
    assert loaded == TokenSet("at-1", "rt-1", 123.0, scope="s")
    assert "rt-1" not in repr(loaded) and "at-1" not in repr(loaded)


def test_a_damaged_entry_says_to_sign_in_again() -> None:
    store = MemoryStore()
    store.set_meta(META_KEY, "not a token set")
    with pytest.raises(OAuthError, match=r"damaged; run `inquiry-bot auth` again"):
        StoredTokens(store, SharedCoordination()).load()
    store.set_meta(META_KEY, {"refresh_token": "rt-1"})  # no access token
    with pytest.raises(OAuthError, match="damaged"):
        StoredTokens(store, SharedCoordination()).load()


def test_a_single_instance_store_keeps_the_token_file(tmp_path: Path) -> None:
    TokenStore(tmp_path / "oauth-token.json").save(TokenSet("at-file", "rt-file", 123.0))
    store = MemoryStore()
    keeper = token_keeper(tmp_path, store, LocalCoordination())
    assert isinstance(keeper, TokenStore) and keeper.path == tmp_path / "oauth-token.json"
    assert token_keeper(tmp_path, None, None).where == str(tmp_path / "oauth-token.json")
    assert store.get_meta(META_KEY) is None  # nothing copied


def test_the_token_file_is_copied_into_a_shared_store_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = TokenStore(tmp_path / "oauth-token.json")
    file.save(TokenSet("at-file", "rt-file", 123.0))
    store = MemoryStore()
    with caplog.at_level(logging.INFO, logger="bot.adapters.mail.oauth_shared"):
        keeper = token_keeper(tmp_path, store, SharedCoordination())
    assert isinstance(keeper, StoredTokens)
    loaded = keeper.load()
    assert loaded is not None and (loaded.access_token, loaded.refresh_token) == ("at-file", "rt-file")
    assert [r.getMessage() for r in caplog.records if "copied" in r.getMessage()]
    assert "at-file" not in caplog.text and "rt-file" not in caplog.text  # never the token
    # Once: the store's tokens (refreshed since, say) win over the file at the next start.
    keeper.save(TokenSet("at-new", "rt-new", 456.0))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.adapters.mail.oauth_shared"):
        again = token_keeper(tmp_path, store, SharedCoordination())
    assert again.load() == TokenSet("at-new", "rt-new", 456.0)
    assert "copied" not in caplog.text


def test_a_damaged_token_file_is_reported_not_copied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "oauth-token.json").write_text("{ not json")
    store = MemoryStore()
    with caplog.at_level(logging.WARNING, logger="bot.adapters.mail.oauth_shared"):
        keeper = token_keeper(tmp_path, store, SharedCoordination())
    assert keeper.load() is None
    assert "not copying the token file" in caplog.text
