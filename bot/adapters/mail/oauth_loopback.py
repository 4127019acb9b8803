"""Browser sign-in for installed apps: loopback redirect (RFC 8252) with PKCE S256 (RFC 7636).

Google's device-code flow cannot grant the Gmail IMAP scope, so ``inquiry-bot auth`` signs in to
Google this way:

1. :func:`new_pkce` makes a random ``code_verifier`` and its S256 ``code_challenge``; a random
   ``state`` ties the redirect to this run.
2. :class:`LoopbackReceiver` listens on ``127.0.0.1`` (a free port, or ``OAUTH_REDIRECT_PORT``) and
   waits for the one redirect; it checks ``state`` and turns ``error=access_denied`` and friends into
   :class:`SignInDenied`, a foreign ``state`` into :class:`StateMismatch`, silence into
   :class:`RedirectTimeout`.
3. :func:`authorization_url` is printed (and opened in a browser when one is there: never required).
4. :meth:`bot.adapters.mail.oauth.OAuthClient.exchange_code` trades the code and the verifier for tokens.

:func:`sign_in` runs the whole flow and returns the :class:`.oauth.TokenSet`. Codes, verifiers and
tokens are never logged or printed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.adapters.mail.oauth import OAuthClient, OAuthError, TokenSet, one_line
from bot.config.oauth import OAuthSettings

REDIRECT_PATH = "/"


class SignInDenied(OAuthError):
    """The user (or the provider) declined the sign-in in the browser."""


class StateMismatch(OAuthError):
    """The redirect carried a ``state`` this run did not issue (stale tab or forged request)."""


class RedirectTimeout(OAuthError):
    """The browser did not come back to the loopback address in time."""


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def s256(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce() -> Pkce:
    """A 64-character verifier from the unreserved alphabet (RFC 7636 §4.1 allows 43-128)."""
    verifier = secrets.token_urlsafe(48)
    return Pkce(verifier=verifier, challenge=s256(verifier))


def authorization_url(
    settings: OAuthSettings,
    redirect_uri: str,
    state: str,
    pkce: Pkce,
    *,
    login_hint: str | None = None,
) -> str:
    """The address the user opens: response_type=code with the S256 challenge."""
    params = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": redirect_uri,
        "scope": settings.scope,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
    }
    if settings.provider == "google":
        # A refresh token is only issued for offline access, and again only with fresh consent.
        params.update({"access_type": "offline", "prompt": "consent"})
    if login_hint:
        params["login_hint"] = login_hint
    sep = "&" if urllib.parse.urlsplit(settings.auth_url).query else "?"
    return settings.auth_url + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


_DENIED_HINTS = {
    "access_denied": "the sign-in was declined in the browser; run `inquiry-bot auth` again and allow access",
    "admin_policy_enforced": "the Google Workspace admin does not allow this app; ask them to trust the "
    "OAuth client (Admin console → Security → API controls), then run `inquiry-bot auth` again",
}


class LoopbackReceiver:
    """Waits on ``http://127.0.0.1:PORT/`` for the redirect that carries the code for ``state``.

    Use as a context manager (the listener runs in a thread while inside); :meth:`wait` returns the
    code or raises. Requests that are not the redirect (a favicon, a bare visit) are answered and
    ignored; the first redirect decides.
    """

    def __init__(self, state: str, port: int | None = None) -> None:
        self.state = state
        self._done = threading.Event()
        self._code: str | None = None
        self._error: OAuthError | None = None
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port or 0), self._handler())
        except OSError as e:
            where = f"127.0.0.1:{port}" if port else "127.0.0.1"
            raise OAuthError(
                f"cannot listen on {where} for the sign-in redirect ({e.strerror or type(e).__name__}); "
                "set OAUTH_REDIRECT_PORT to a free port, or leave it empty for any free port"
            ) from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._serve, name="oauth-loopback", daemon=True)

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.1)  # short poll: close() returns promptly

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{REDIRECT_PATH}"

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        """The authorization code, once the redirect came; raises the matching :class:`OAuthError`."""
        if not self._done.wait(timeout):
            raise RedirectTimeout(
                f"no sign-in came back to {self.redirect_uri} within {timeout:g} s; "
                "run `inquiry-bot auth` again (OAUTH_REDIRECT_TIMEOUT sets the wait)"
            )
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    # -- the redirect ---------------------------------------------------------------------------
    def _accept(self, query: dict[str, str]) -> tuple[int, str]:
        """Decide on one request to the redirect path: (HTTP status, text for the browser)."""
        if not ({"code", "state", "error"} & query.keys()):
            return 400, "Inquiry Desk is waiting for the sign-in to come back here. Nothing to do yet."
        if self._done.is_set():
            return 409, "This sign-in is already finished. You can close this tab."
        if not secrets.compare_digest(query.get("state", "").encode(), self.state.encode()):
            self._finish(
                error=StateMismatch(
                    "the browser came back with a different state (an old tab or a forged request); "
                    "run `inquiry-bot auth` again and use the new address"
                )
            )
            return 400, "Sign-in refused: this answer does not belong to the running sign-in."
        error = query.get("error")
        if error:
            code = one_line(error, 60)
            hint = _DENIED_HINTS.get(code)
            if hint is None:
                detail = one_line(query.get("error_description", ""), 160)
                hint = (
                    f"the provider refused the sign-in ({code}{': ' + detail if detail else ''}); "
                    "check the OAuth client settings, then run `inquiry-bot auth` again"
                )
            self._finish(error=SignInDenied(hint))
            return 200, "Sign-in not completed. You can close this tab; the terminal says what to do."
        code_value = query.get("code", "")
        if not code_value:
            missing = OAuthError("the browser came back without a code; run `inquiry-bot auth` again")
            self._finish(error=missing)
            return 400, "Sign-in failed: no authorization code."
        self._finish(code=code_value)
        return 200, "Inquiry Desk is signed in. You can close this tab and return to the terminal."

    def _finish(self, *, code: str | None = None, error: OAuthError | None = None) -> None:
        self._code, self._error = code, error
        self._done.set()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a half-open connection (browser preconnect) must not hold a thread forever

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path != REDIRECT_PATH:
                    self._page(404, "Not found.")
                    return
                query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
                with lock:
                    status, text = owner._accept(query)
                self._page(status, text)

            def _page(self, status: int, text: str) -> None:
                body = (
                    "<!doctype html><meta charset=utf-8><title>Inquiry Desk</title>"
                    f"<p style='font:16px sans-serif;margin:3em'>{html.escape(text)}</p>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # the query holds the code: never log requests

        return Handler


def missing_scopes(wanted: str, granted: str) -> list[str]:
    """Scopes asked for but not granted (Google lets the user untick some); empty when unknown."""
    if not granted.strip():
        return []
    have = set(granted.split())
    return [s for s in wanted.split() if s not in have]


def sign_in(
    client: OAuthClient,
    *,
    announce: Callable[[str, str, bool], None],
    open_browser: Callable[[str], bool] | None = None,
    login_hint: str | None = None,
) -> TokenSet:
    """The whole loopback flow; ``announce(url, redirect_uri, browser_opened)`` tells the user where to go.

    ``open_browser(url)`` (when given) tries a local browser; failing to open one is not an error.
    """
    settings = client.settings
    pkce = new_pkce()
    state = secrets.token_urlsafe(24)
    with LoopbackReceiver(state, settings.redirect_port) as receiver:
        url = authorization_url(settings, receiver.redirect_uri, state, pkce, login_hint=login_hint)
        opened = False
        if open_browser is not None:
            try:
                opened = bool(open_browser(url))
            except Exception:  # a broken browser setup must not stop a sign-in the user can finish by hand
                opened = False
        announce(url, receiver.redirect_uri, opened)
        code = receiver.wait(settings.redirect_timeout)
    tokens = client.exchange_code(code, pkce.verifier, receiver.redirect_uri)
    missing = missing_scopes(settings.scope, tokens.scope)
    if missing:
        raise OAuthError(
            f"the sign-in did not grant {' '.join(missing)}; run `inquiry-bot auth` again and "
            "allow full mail access when asked"
        )
    return tokens
