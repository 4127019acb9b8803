"""A second real Dovecot with TLS (STARTTLS + implicit TLS) and XOAUTH2, plus a loopback OAuth server.

Public API (fixtures; import them into a test module or add this module to ``pytest_plugins``):

``fake_oauth`` (session) -> :class:`FakeOAuthServer`
    Loopback token endpoint (``/token``: refresh_token and device_code grants), device endpoint
    (``/device``) and RFC 7662 introspection (``/introspect``, what Dovecot asks). Tests script it:
    ``issue(user)`` -> (access, refresh); ``revoke(refresh)``; ``expire(access)``;
    ``device_answers`` (a list of error codes answered before success); ``calls`` records the grants.

``tls_ca`` (session) -> :class:`CertAuthority`
    A CA and a server certificate for ``127.0.0.1``/``localhost``, generated at test time with
    ``cryptography``. ``ca_file`` is what the bot trusts through ``IMAP_CA_FILE``.

``dovecot_tls`` (session) -> :class:`TlsDovecot`
    Dovecot 2.3 on loopback: ``port`` (plain IMAP offering STARTTLS), ``tls_port`` (implicit TLS),
    auth mechanisms PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER (the ``oauth2`` passdb validates bearer
    tokens against ``fake_oauth``'s introspection). Its folders carry **no** SPECIAL-USE attributes
    and nothing is auto-created. ``add_user()`` works as in :mod:`tests.fixtures_dovecot`.

``tls_mailbox`` (function) -> :class:`tests.fixtures_dovecot.Mailbox` on ``dovecot_tls``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_dovecot import DovecotServer, Mailbox, _free_port, require_dovecot, serve


# -- loopback OAuth server ------------------------------------------------------------------------
class FakeOAuthServer:
    """Token, device and introspection endpoints on 127.0.0.1 (state in memory, thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.access: dict[str, tuple[str, bool]] = {}  # token -> (username, active)
        self.refresh: dict[str, str] = {}  # refresh token -> username
        self.revoked: set[str] = set()
        self.device_answers: list[str] = []  # errors answered before the device grant succeeds
        self.device_user = "oauth-user@example.com"
        self.calls: list[dict[str, str]] = []
        self.introspections = 0
        self.expires_in = 3600
        # Like Microsoft: each refresh answers a new refresh token and the one spent stops working.
        self.rotate_refresh = False
        self.spent: set[str] = set()  # refresh tokens a rotating refresh replaced
        self.stale_refreshes = 0  # refreshes tried with a spent refresh token
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="fake-oauth", daemon=True)
        self._thread.start()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.base_url}/device"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def issue(self, user: str) -> tuple[str, str]:
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        with self._lock:
            self.access[access] = (user, True)
            self.refresh[refresh] = user
        return access, refresh

    def expire(self, access: str) -> None:
        with self._lock:
            user, _ = self.access[access]
            self.access[access] = (user, False)

    def revoke(self, refresh: str) -> None:
        with self._lock:
            self.revoked.add(refresh)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- request handling --------------------------------------------------------------------------
    def _answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if path == "/introspect":
                self.introspections += 1
                user, active = self.access.get(form.get("token", ""), ("", False))
                return 200, ({"active": True, "username": user} if active else {"active": False})
            if path == "/device":
                return 200, {
                    "device_code": "dev-code",
                    "user_code": "WDJB-MJHT",
                    "verification_uri": f"{self.base_url}/activate",
                    "expires_in": 600,
                    "interval": 5,
                }
            if path == "/token":
                self.calls.append({k: v for k, v in form.items() if k in ("grant_type", "client_id")})
                grant = form.get("grant_type", "")
                if grant == "refresh_token":
                    rt = form.get("refresh_token", "")
                    if rt in self.spent:
                        self.stale_refreshes += 1
                    if rt in self.revoked or rt not in self.refresh:
                        return 400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
                    access = f"at-{secrets.token_hex(8)}"
                    self.access[access] = (self.refresh[rt], True)
                    answer: dict[str, Any] = {
                        "access_token": access,
                        "expires_in": self.expires_in,
                        "token_type": "Bearer",
                    }
                    if self.rotate_refresh:
                        user = self.refresh.pop(rt)
                        self.spent.add(rt)
                        answer["refresh_token"] = f"rt-{secrets.token_hex(8)}"
                        self.refresh[answer["refresh_token"]] = user
                    return 200, answer
                if grant == "urn:ietf:params:oauth:grant-type:device_code":
                    if self.device_answers:
                        return 400, {"error": self.device_answers.pop(0)}
                    access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
                    self.access[access] = (self.device_user, True)
                    self.refresh[refresh] = self.device_user
                    return 200, {
                        "access_token": access,
                        "refresh_token": refresh,
                        "expires_in": self.expires_in,
                        "token_type": "Bearer",
                    }
                return 400, {"error": "unsupported_grant_type"}
        return 404, {"error": "not_found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                status, data = owner._answer(urllib.parse.urlsplit(self.path).path, form)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


# -- test certificate authority -------------------------------------------------------------------
@dataclass(frozen=True)
class CertAuthority:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_test_ca(directory: Path) -> CertAuthority:
    """A CA plus a server certificate for 127.0.0.1 and localhost (valid for one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Inquiry Desk test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertAuthority(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ca.key_file.chmod(0o600)
    return ca


# -- Dovecot with TLS and OAuth2 --------------------------------------------------------------------
class TlsDovecot(DovecotServer):
    """Like :class:`DovecotServer`, with TLS listeners, the oauth2 passdb and no SPECIAL-USE folders."""

    def __init__(self, binary: str, root: Path, ca: CertAuthority, introspection_url: str) -> None:
        self.ca = ca
        self.introspection_url = introspection_url
        self.tls_port = _free_port()
        super().__init__(binary, root)

    auth_mechanisms = "plain login xoauth2 oauthbearer"

    def _write_config(self) -> None:
        self.oauth_conf = self.root / "dovecot-oauth2.conf.ext"
        super()._write_config()  # directories, identities, the passwd-file and dovecot.conf
        self.oauth_conf.write_text(
            f"introspection_url = {self.introspection_url}\n"
            "introspection_mode = post\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        self.oauth_conf.chmod(0o644)

    def _ssl_conf(self) -> str:
        return f"ssl = yes\nssl_cert = <{self.ca.cert_file}\nssl_key = <{self.ca.key_file}"

    def _passdb_conf(self) -> str:
        return f"""passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {self.passwd_file}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.oauth_conf}
}}"""

    def _mailboxes_conf(self) -> str:
        return ""

    def _imaps_listener_conf(self) -> str:
        return f"    address = 127.0.0.1\n    port = {self.tls_port}\n    ssl = yes"


@pytest.fixture(scope="session")
def fake_oauth() -> Iterator[FakeOAuthServer]:
    server = FakeOAuthServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return make_test_ca(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def dovecot_tls(fake_oauth: FakeOAuthServer, tls_ca: CertAuthority) -> Iterator[TlsDovecot]:
    binary = require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="dovecot-tls-test-"))
    server = TlsDovecot(binary, root, tls_ca, fake_oauth.introspection_url)
    yield from serve(server, root, "dovecot with TLS/OAuth2")  # type: ignore[misc]


@pytest.fixture
def tls_mailbox(dovecot_tls: TlsDovecot) -> Mailbox:
    if not dovecot_tls.running:
        dovecot_tls.start()
    return dovecot_tls.add_user()
