"""A loopback OAuth2 authorization server for installed apps, modelled on Google's: fixture ``google_oauth``.

``/authorize`` (GET, what the browser opens) checks ``client_id``, that ``redirect_uri`` is a loopback
address (``http://127.0.0.1:PORT/…``, RFC 8252 §7.3), ``response_type=code``, a scope and an S256
``code_challenge`` (RFC 7636); then, as the user's consent says (``consent = "approve" | "deny"``),
answers 302 to the redirect with ``code`` + ``state`` or ``error=access_denied`` + ``state``. Like
Google, a refresh token is only issued when ``access_type=offline`` was asked for.

``/token`` (POST) takes ``authorization_code`` (client id and secret, the code once and unexpired, the
same ``redirect_uri``, and ``BASE64URL(SHA256(code_verifier))`` equal to the stored challenge) and
``refresh_token`` grants. Tokens are minted through the suite's :class:`FakeOAuthServer` (``resource``)
when given, so Dovecot's oauth2 passdb, which introspects there, accepts them for IMAP XOAUTH2.

The S256 check is written here independently of the loopback module. ``token_requests`` records
each grant (``grant_type``, ``client_id``, ``redirect_uri``; never secrets).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures_dovecot_extra import FakeOAuthServer

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    offline: bool
    user: str
    expires_at: float


class FakeAuthorizationServer:
    """Authorization and token endpoints on 127.0.0.1 for one registered desktop client."""

    def __init__(
        self,
        *,
        client_id: str = "desk-desktop.apps.example",
        client_secret: str = "desktop-secret",
        user: str = "oauth-user@example.com",
        resource: FakeOAuthServer | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.user = user
        self.resource = resource
        self.consent = "approve"
        self.code_lifetime = 600.0
        self.expires_in = 3599
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.codes: dict[str, Grant] = {}
        self.used_codes: set[str] = set()
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # refresh token -> (client id, user)
        self.access_tokens: dict[str, str] = {}  # access token -> user
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="fake-authz", daemon=True)
        self._thread.start()

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- minting ------------------------------------------------------------------------------------
    def _mint(self, user: str) -> tuple[str, str]:
        if self.resource is not None:
            return self.resource.issue(user)
        return f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"

    # -- /authorize ---------------------------------------------------------------------------------
    def _authorize(self, q: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """(status, headers, body): 400 without redirect for a bad client/redirect, else a 302."""
        self.authorize_requests.append(dict(q))
        if q.get("client_id") != self.client_id:
            return 400, {}, "Error 401: invalid_client (The OAuth client was not found.)"
        redirect = q.get("redirect_uri", "")
        parts = urllib.parse.urlsplit(redirect)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or not parts.port or parts.query:
            return 400, {}, "Error 400: redirect_uri_mismatch"

        def back(**params: str) -> tuple[int, dict[str, str], str]:
            if "state" in q:
                params["state"] = q["state"]
            return 302, {"Location": redirect + "?" + urllib.parse.urlencode(params)}, ""

        if q.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if not q.get("scope"):
            return back(error="invalid_scope", error_description="Missing scope")
        if q.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(q.get("code_challenge", "")):
            return back(error="invalid_request", error_description="code_challenge S256 required")
        if self.consent != "approve":
            return back(error="access_denied")
        code = f"4/{secrets.token_urlsafe(24)}"
        self.codes[code] = Grant(
            client_id=q["client_id"],
            redirect_uri=redirect,
            challenge=q["code_challenge"],
            scope=q["scope"],
            offline=q.get("access_type") == "offline",
            user=self.user,
            expires_at=time.time() + self.code_lifetime,
        )
        return back(code=code, scope=q["scope"])

    # -- /token -------------------------------------------------------------------------------------
    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant_type = form.get("grant_type", "")
        self.token_requests.append(
            {k: form[k] for k in ("grant_type", "client_id", "redirect_uri") if k in form}
        )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if grant_type == "authorization_code":
            code = form.get("code", "")
            grant = self.codes.get(code)
            if grant is None or code in self.used_codes:
                return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
            self.used_codes.add(code)
            if grant.expires_at < time.time():
                return 400, {"error": "invalid_grant", "error_description": "Code expired."}
            if form.get("redirect_uri") != grant.redirect_uri:
                return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
            verifier = form.get("code_verifier", "")
            if not _VERIFIER.fullmatch(verifier):
                return 400, {"error": "invalid_request", "error_description": "Missing code verifier."}
            digest = hashlib.sha256(verifier.encode("ascii")).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
            access, refresh = self._mint(grant.user)
            self.access_tokens[access] = grant.user
            answer: dict[str, Any] = {
                "access_token": access,
                "expires_in": self.expires_in,
                "scope": grant.scope,
                "token_type": "Bearer",
            }
            if grant.offline:
                self.refresh_tokens[refresh] = (grant.client_id, grant.user)
                answer["refresh_token"] = refresh
            return 200, answer
        if grant_type == "refresh_token":
            known = self.refresh_tokens.get(form.get("refresh_token", ""))
            if known is None or known[0] != form["client_id"]:
                revoked = "Token has been expired or revoked."
                return 400, {"error": "invalid_grant", "error_description": revoked}
            access, _ = self._mint(known[1])
            self.access_tokens[access] = known[1]
            return 200, {"access_token": access, "expires_in": self.expires_in, "token_type": "Bearer"}
        return 400, {"error": "unsupported_grant_type"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path != "/authorize":
                    self._send(404, {}, b"not found", "text/plain")
                    return
                query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
                with owner._lock:
                    status, headers, body = owner._authorize(query)
                self._send(status, headers, body.encode(), "text/plain; charset=utf-8")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                if urllib.parse.urlsplit(self.path).path != "/token":
                    self._send(404, {}, b"{}", "application/json")
                    return
                if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                    self._send(400, {}, b'{"error": "invalid_request"}', "application/json")
                    return
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                with owner._lock:
                    status, data = owner._token(form)
                self._send(status, {}, json.dumps(data).encode(), "application/json")

            def _send(self, status: int, headers: dict[str, str], body: bytes, ctype: str) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


@pytest.fixture
def google_oauth(fake_oauth: FakeOAuthServer) -> Iterator[FakeAuthorizationServer]:
    """A fresh authorization server per test; its tokens are valid at ``fake_oauth``'s introspection."""
    server = FakeAuthorizationServer(resource=fake_oauth)
    try:
        yield server
    finally:
        server.close()
