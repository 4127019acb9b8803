"""OAuth2 for IMAP/SMTP (SASL XOAUTH2): settings, token endpoint calls, token file, refresh before expiry.

- :class:`OAuthSettings` from ``OAUTH_*`` variables (``oauth_settings(env, provider)``); endpoints
  default to Google's or Microsoft's and can be overridden (``OAUTH_TOKEN_URL``, ``OAUTH_DEVICE_URL``,
  ``OAUTH_AUTH_URL``). ``flow`` says how ``inquiry-bot auth`` signs in: ``loopback`` (Google: browser
  redirect to 127.0.0.1 with PKCE, see :mod:`.oauth_loopback`) or ``device`` (Microsoft: device code).
- :class:`OAuthClient` talks to the endpoints with urllib (form POST, JSON answer): device-code
  polling, the authorization-code exchange (with the PKCE ``code_verifier``) and refresh.
- :class:`TokenStore` keeps ``DATA_DIR/oauth-token.json``, written atomically with mode 0600. It
  is one :class:`TokenKeeper`; with a store shared by several instances (PostgreSQL) the tokens
  live in the store instead (:mod:`.oauth_shared`).
- :class:`TokenProvider` hands out a valid access token, refreshing it ``margin`` seconds before
  expiry; a revoked or expired refresh token raises :class:`OAuthRevoked` with what to do. It
  refreshes under the keeper's exclusive hold and reads the tokens again first: when another
  thread or instance refreshed meanwhile (the provider may have rotated the refresh token), it
  uses their still-valid access token instead of refreshing with a stale refresh token.

Tokens are never logged. Example::

    provider = TokenProvider(OAuthClient(settings), TokenStore(data_dir / "oauth-token.json"))
    client.oauth2_login(user, provider.access_token())
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.config.oauth import OAuthSettings
from bot.core.errors import InquiryDeskError

log = logging.getLogger(__name__)


class OAuthError(InquiryDeskError):
    """The OAuth2 endpoint refused or could not be reached."""


class OAuthNotAuthorized(OAuthError):
    """No token yet: the one-time ``inquiry-bot auth`` has not been run."""


class OAuthRevoked(OAuthError):
    """The refresh token is no longer valid (revoked, expired, password changed)."""


class DeviceFlowExpired(OAuthError):
    """The user did not confirm the device code before it expired."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float  # epoch seconds
    scope: str = ""
    token_type: str = "Bearer"

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=float(data.get("expires_at", 0)),
            scope=str(data.get("scope", "")),
            token_type=str(data.get("token_type", "Bearer")),
        )


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_at: float
    interval: float
    message: str | None = None


class TokenKeeper(Protocol):
    """Where the token set is kept: the file (:class:`TokenStore`) or a shared store."""

    @property
    def where(self) -> str:
        """Where, for messages (a path or "the PostgreSQL store"); never a secret."""
        ...

    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None: ...

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Held by one refresher at a time (every thread, and every instance sharing the keeper)."""
        ...


_file_locks: dict[Path, threading.Lock] = {}
_file_locks_guard = threading.Lock()


class TokenStore:
    """The token file: atomic writes (temp file, fsync, rename) with mode 0600 from the start."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One refresher at a time among this process's providers of this file."""
        with _file_locks_guard:
            lock = _file_locks.setdefault(self.path.absolute(), threading.Lock())
        with lock:
            yield

    def load(self) -> TokenSet | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise OAuthError(
                f"cannot read {self.path}: {type(e).__name__}; run `inquiry-bot auth` again"
            ) from e
        try:
            return TokenSet.from_json(data)
        except (KeyError, TypeError, ValueError) as e:
            raise OAuthError(f"{self.path} is damaged; run `inquiry-bot auth` again") from e

    def save(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".oauth-", dir=self.path.parent)  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(tokens.to_json(), f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line (whitespace and control characters collapsed), at most ``limit`` chars."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _tokens_from(answer: Mapping[str, Any], now: float, previous_refresh: str | None) -> TokenSet:
    try:
        access = str(answer["access_token"])
    except KeyError:
        raise OAuthError("token endpoint answered without access_token") from None
    return TokenSet(
        access_token=access,
        # Google omits refresh_token on refresh: keep the one we had.
        refresh_token=answer.get("refresh_token") or previous_refresh,
        expires_at=now + float(answer.get("expires_in", 3600)),
        scope=str(answer.get("scope", "")),
        token_type=str(answer.get("token_type", "Bearer")),
    )


class OAuthClient:
    """Form-POSTs to the token and device endpoints; answers are JSON."""

    def __init__(
        self, settings: OAuthSettings, *, timeout: float = 20, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.clock = clock

    def _post(self, url: str, fields: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        body = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(
            url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, payload = int(resp.status), resp.read()
        except urllib.error.HTTPError as e:
            status, payload = int(e.code), e.read()
        except (urllib.error.URLError, OSError) as e:
            raise OAuthError(f"cannot reach {urllib.parse.urlsplit(url).netloc}: {type(e).__name__}") from e
        try:
            data = json.loads(payload or b"{}")
        except ValueError:
            raise OAuthError(
                f"{urllib.parse.urlsplit(url).netloc} answered HTTP {status} without JSON"
            ) from None
        if not isinstance(data, dict):
            raise OAuthError(f"{urllib.parse.urlsplit(url).netloc} answered HTTP {status} with odd JSON")
        return status, data

    def _client_fields(self) -> dict[str, str]:
        fields = {"client_id": self.settings.client_id}
        if self.settings.client_secret:
            fields["client_secret"] = self.settings.client_secret
        return fields

    def start_device_flow(self) -> DeviceCode:
        if not self.settings.device_url:
            raise OAuthError("no device-code endpoint: set OAUTH_DEVICE_URL")
        status, data = self._post(
            self.settings.device_url, {**self._client_fields(), "scope": self.settings.scope}
        )
        if status != 200 or "device_code" not in data:
            error, detail = data.get("error", status), data.get("error_description", "")
            raise OAuthError(f"device-code request refused ({error}): {detail}")
        now = self.clock()
        return DeviceCode(
            device_code=str(data["device_code"]),
            user_code=str(data["user_code"]),
            verification_uri=str(data.get("verification_uri") or data.get("verification_url") or ""),
            expires_at=now + float(data.get("expires_in", 900)),
            interval=float(data.get("interval", 5)),
            message=data.get("message"),
        )

    def poll_device_flow(
        self, device: DeviceCode, *, sleep: Callable[[float], None] = time.sleep
    ) -> TokenSet:
        """Poll the token endpoint until the user confirmed (RFC 8628 §3.4-3.5)."""
        interval = device.interval
        while True:
            if self.clock() >= device.expires_at:
                raise DeviceFlowExpired(
                    "the code expired before it was confirmed; run `inquiry-bot auth` again"
                )
            sleep(interval)
            status, data = self._post(
                self.settings.token_url,
                {
                    **self._client_fields(),
                    "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                    "device_code": device.device_code,
                },
            )
            if status == 200 and "access_token" in data:
                return _tokens_from(data, self.clock(), None)
            error = str(data.get("error", f"http_{status}"))
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5
                continue
            if error == "expired_token":
                raise DeviceFlowExpired(
                    "the code expired before it was confirmed; run `inquiry-bot auth` again"
                )
            if error == "access_denied":
                raise OAuthError(
                    "the sign-in was declined; run `inquiry-bot auth` again and approve the request"
                )
            raise OAuthError(f"token endpoint refused ({error}): {data.get('error_description', '')}")

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        """Trade the authorization code for tokens (RFC 6749 §4.1.3 with the RFC 7636 verifier)."""
        status, data = self._post(
            self.settings.token_url,
            {
                **self._client_fields(),
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
            },
        )
        if status == 200 and "access_token" in data:
            return _tokens_from(data, self.clock(), None)
        error = one_line(str(data.get("error", f"http_{status}")), 60)
        detail = one_line(str(data.get("error_description", "")), 160)
        raise OAuthError(
            f"the token endpoint refused the sign-in ({error}{': ' + detail if detail else ''}); "
            "check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET, then run `inquiry-bot auth` again"
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        status, data = self._post(
            self.settings.token_url,
            {**self._client_fields(), "grant_type": "refresh_token", "refresh_token": refresh_token},
        )
        if status == 200 and "access_token" in data:
            return _tokens_from(data, self.clock(), refresh_token)
        error = str(data.get("error", f"http_{status}"))
        if error == "invalid_grant":
            raise OAuthRevoked(
                "the mailbox authorization was revoked or has expired (invalid_grant); "
                "run `inquiry-bot auth` again to sign in, then restart the bot"
            )
        raise OAuthError(
            f"token refresh failed ({error}); check OAUTH_CLIENT_ID/OAUTH_CLIENT_SECRET/OAUTH_TENANT"
        )


class TokenProvider:
    """A valid access token on demand; thread-safe (all watchers share one)."""

    def __init__(
        self,
        client: OAuthClient,
        store: TokenKeeper,
        *,
        margin: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.margin = margin
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: TokenSet | None = None

    def _expiring(self, tokens: TokenSet) -> bool:
        return tokens.expires_at - self.margin <= self.clock()

    def access_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            tokens = self._tokens or self.store.load()
            if tokens is None:
                raise OAuthNotAuthorized(f"no OAuth token in {self.store.where}: run `inquiry-bot auth` once")
            if force_refresh or self._expiring(tokens):
                tokens = self._renew(tokens)
            self._tokens = tokens
            return tokens.access_token

    def _renew(self, held: TokenSet) -> TokenSet:
        """Refresh ``held`` (expiring, or refused by the server) under the keeper's exclusive hold.

        The tokens are read again first: another provider may have refreshed meanwhile, and a
        provider that rotates refresh tokens (Microsoft) refuses the one it replaced. A different,
        still-valid access token is used as it is; otherwise the newest refresh token is spent."""
        with self.store.exclusive():
            current = self.store.load() or held
            if current.access_token != held.access_token and not self._expiring(current):
                log.info(
                    "oauth: using the access token refreshed by another process or thread (valid for %.0f s)",
                    current.expires_at - self.clock(),
                )
                return current
            if not current.refresh_token:
                raise OAuthRevoked(
                    "the access token expired and there is no refresh token: run `inquiry-bot auth`"
                )
            tokens = self.client.refresh(current.refresh_token)
            self.store.save(tokens)
        log.info("oauth: access token refreshed (valid for %.0f s)", tokens.expires_at - self.clock())
        return tokens


def xoauth2_string(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64): ``user=…^Aauth=Bearer …^A^A``."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def smtp_login_xoauth2(smtp: smtplib.SMTP, user: str, access_token: str) -> None:
    """Authenticate an ``smtplib`` connection (after STARTTLS) with XOAUTH2.

    On a refused token the server sends a 334 challenge with an error; we answer with an empty
    line and smtplib raises ``SMTPAuthenticationError``.
    """

    def answer(challenge: bytes | None = None) -> str:
        return xoauth2_string(user, access_token) if challenge is None else ""

    smtp.ehlo_or_helo_if_needed()
    smtp.auth("XOAUTH2", answer, initial_response_ok=True)
