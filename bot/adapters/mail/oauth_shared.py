"""The OAuth2 token set kept in a store every instance shares (PostgreSQL, issue #15).

With several ``inquiry-bot run`` instances on several hosts, a token file on one host's disk is
not enough: the folder leader can move to any instance, and when one instance refreshes and the
provider rotates the refresh token (Microsoft does), every other copy goes stale. So when the
store is shared (``Coordination.shared``), the token set lives in the store's key/values
(:data:`META_KEY`, through the ``MetaRepo`` port) and :class:`StoredTokens` is the
:class:`~bot.adapters.mail.oauth.TokenKeeper` every instance's
:class:`~bot.adapters.mail.oauth.TokenProvider` uses.

Refreshes are serialised across instances by the leadership of :data:`REFRESH_ROLE` (an
advisory lock on PostgreSQL; not the store's transaction lock, so mail and clicks go on while a
refresh waits on the provider), and among the threads of one coordination (one process) by a
lock; the provider reads the tokens
again inside, so the second of two instances refreshing together uses the first one's new
access token instead of spending the refresh token the first one rotated away.

:func:`token_keeper` picks the keeper: the file ``DATA_DIR/oauth-token.json`` (TinyDB, one
instance: unchanged), or the store, into which an existing file is copied once at the first
start. Tokens are never logged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from bot.adapters.mail.oauth import OAuthError, TokenKeeper, TokenSet, TokenStore
from bot.config.oauth import TOKEN_FILE
from bot.desk.ports import Coordination, MetaRepo

log = logging.getLogger(__name__)

#: The store key/value holding the token set (a JSON object, :meth:`TokenSet.to_json`).
META_KEY = "oauth:token-set"
#: The coordination role held while tokens are refreshed or replaced.
REFRESH_ROLE = "oauth:refresh"
#: How long a refresher waits for another one (the token endpoint's timeout is 20 s).
WAIT_S = 60.0
POLL_S = 0.05

#: Leadership is held by a coordination (one per process) for all its threads, so the threads
#: using one coordination take turns on its lock here first.
_turns: weakref.WeakKeyDictionary[Coordination, threading.Lock] = weakref.WeakKeyDictionary()
_turns_guard = threading.Lock()


def _turn(coordination: Coordination) -> threading.Lock:
    with _turns_guard:
        lock = _turns.get(coordination)
        if lock is None:
            lock = _turns[coordination] = threading.Lock()
        return lock


class StoredTokens:
    """The token set in a shared store (see the module docstring). Thread-safe."""

    def __init__(
        self,
        meta: MetaRepo,
        coordination: Coordination,
        *,
        where: str = "the shared store (STORE_URL)",
        wait_s: float = WAIT_S,
    ) -> None:
        self.meta = meta
        self.coordination = coordination
        self.where = where
        self.wait_s = wait_s

    def load(self) -> TokenSet | None:
        data = self.meta.get_meta(META_KEY)
        if data is None:
            return None
        try:
            if not isinstance(data, dict):
                raise TypeError(type(data).__name__)
            return TokenSet.from_json(data)
        except (KeyError, TypeError, ValueError) as e:
            raise OAuthError(
                f"the OAuth token in {self.where} is damaged; run `inquiry-bot auth` again"
            ) from e

    def save(self, tokens: TokenSet) -> None:
        self.meta.set_meta(META_KEY, tokens.to_json())

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One refresher at a time: this process's threads, then every instance of the store."""
        with _turn(self.coordination):
            deadline = time.monotonic() + self.wait_s
            while not self.coordination.lead(REFRESH_ROLE):
                if time.monotonic() >= deadline:
                    raise OAuthError(
                        f"another instance has been refreshing the OAuth token for over {self.wait_s:.0f} s; "
                        "check that the token endpoint is reachable"
                    )
                time.sleep(POLL_S)  # another instance is refreshing (a token endpoint round trip)
            try:
                yield
            finally:
                self.coordination.resign(REFRESH_ROLE)

    def adopt(self, file: TokenStore) -> bool:
        """Copy the token file into the store when the store has none yet (the first start after
        moving to PostgreSQL); True when it did. A damaged file is reported, not copied."""
        with self.exclusive():
            if self.load() is not None:
                return False
            try:
                tokens = file.load()
            except OAuthError as e:
                log.warning("oauth: not copying the token file into %s: %s", self.where, e)
                return False
            if tokens is None:
                return False
            self.save(tokens)
        log.info(
            "oauth: copied the tokens of %s into %s (once); every instance now reads and refreshes "
            "them there, and the file is no longer used",
            file.path,
            self.where,
        )
        return True


def token_keeper(data_dir: Path, store: MetaRepo | None, coordination: Coordination | None) -> TokenKeeper:
    """Where this process keeps the tokens: in ``store`` when it is shared by several instances
    (``coordination.shared``: PostgreSQL), the token file copied into it the first time; else the
    file ``DATA_DIR/oauth-token.json``, exactly as with one instance."""
    file = TokenStore(Path(data_dir) / TOKEN_FILE)
    if store is None or coordination is None or not coordination.shared:
        return file
    shared = StoredTokens(store, coordination, where="the PostgreSQL store (STORE_URL)")
    shared.adopt(file)
    return shared
