"""Google sign-in through the browser: loopback redirect + PKCE against a loopback authorization server.

The test plays the browser: it reads the address ``inquiry-bot auth`` prints and GETs it; the fake
authorization server (tests/fakes/oauth_server.py) redirects to the bot's listener on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.adapters.mail.oauth import OAuthClient, TokenProvider, TokenStore
from bot.adapters.mail.oauth_loopback import s256
from bot.app.cli.auth import run_auth
from bot.config.oauth import oauth_settings
from bot.core.errors import ConfigError
from tests.fakes.oauth_server import FakeAuthorizationServer
from tests.fakes.oauth_server import google_oauth as google_oauth
from tests.fixtures_dovecot_extra import fake_oauth as fake_oauth

URL_LINE = re.compile(r"^(http://127\.0\.0\.1:\d+/authorize\?\S+)$", re.MULTILINE)
DEADLINE = 15.0


class LiveOutput(io.StringIO):
    """A text stream another thread can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()

    def write(self, s: str) -> int:
        with self._cond:
            n = super().write(s)
            self._cond.notify_all()
            return n

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        with self._cond:
            found = self._cond.wait_for(lambda: pattern.search(self.getvalue()), timeout=DEADLINE)
        assert found, f"not printed within {DEADLINE} s: {self.getvalue()!r}"
        return found


@dataclass
class AuthRun:
    out: LiveOutput = field(default_factory=LiveOutput)
    err: io.StringIO = field(default_factory=io.StringIO)
    code: list[int] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def url(self) -> str:
        return self.out.wait_for(URL_LINE).group(1)

    def result(self) -> int:
        assert self.thread is not None
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "inquiry-bot auth did not finish"
        return self.code[0]


def start_auth(env: dict[str, str], *, browser: bool = False) -> AuthRun:
    run = AuthRun()

    def opener(url: str) -> bool:
        run.opened.append(url)
        return browser

    run.thread = threading.Thread(
        target=lambda: run.code.append(run_auth(env, run.out, open_browser=opener, err=run.err)),
        daemon=True,
    )
    run.thread.start()
    return run


def browse(url: str) -> tuple[int, str]:
    """What the user's browser does: GET, follow the redirect, show the page."""
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()


def google_env(server: FakeAuthorizationServer, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "MAIL_PROVIDER": "gmail",
        "IMAP_USER": "sales@acme.com",
        "OAUTH_CLIENT_ID": server.client_id,
        "OAUTH_CLIENT_SECRET": server.client_secret,
        "OAUTH_AUTH_URL": server.auth_url,
        "OAUTH_TOKEN_URL": server.token_url,
        "DATA_DIR": str(data_dir),
        **extra,
    }


def one_error_line(run: AuthRun) -> str:
    lines = run.err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inquiry-bot auth: "), lines
    assert "Traceback" not in run.out.getvalue() + run.err.getvalue()
    return lines[0]


@pytest.fixture
def authz(google_oauth: FakeAuthorizationServer) -> FakeAuthorizationServer:
    return google_oauth


def test_browser_sign_in_saves_tokens_and_refreshes(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    run = start_auth(google_env(authz, tmp_path), browser=True)
    url = run.url()
    q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["scope"] == "https://mail.google.com/" and q["login_hint"] == "sales@acme.com"
    assert q["access_type"] == "offline" and q["prompt"] == "consent" and len(q["state"]) >= 32
    redirect = urllib.parse.urlsplit(q["redirect_uri"])
    assert redirect.scheme == "http" and redirect.hostname == "127.0.0.1" and redirect.port
    assert run.opened == [url] and "it was opened for you" in run.out.getvalue()

    status, page = browse(url)
    assert status == 200 and "signed in" in page
    assert run.result() == 0, run.err.getvalue()
    assert run.err.getvalue() == ""

    token_file = tmp_path / "oauth-token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    saved = json.loads(token_file.read_text())
    assert authz.refresh_tokens[saved["refresh_token"]] == (authz.client_id, authz.user)
    assert authz.access_tokens[saved["access_token"]] == authz.user
    exchange = authz.token_requests[-1]
    assert exchange == {
        "grant_type": "authorization_code",
        "client_id": authz.client_id,
        "redirect_uri": q["redirect_uri"],
    }
    text = run.out.getvalue()
    assert saved["refresh_token"] not in text and saved["access_token"] not in text
    # The listener is gone once the sign-in is over.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(redirect.port or 0))) != 0

    # Token refresh as for any other provider: refresh_token grant with the client credentials.
    env = google_env(authz, tmp_path)
    provider = TokenProvider(OAuthClient(oauth_settings(env, "google")), TokenStore(token_file))
    fresh = provider.access_token(force_refresh=True)
    assert fresh != saved["access_token"] and authz.access_tokens[fresh] == authz.user
    assert authz.token_requests[-1]["grant_type"] == "refresh_token"
    assert json.loads(token_file.read_text())["refresh_token"] == saved["refresh_token"]


def test_fake_authorization_server_really_checks_the_pkce_verifier(authz: FakeAuthorizationServer) -> None:
    """Guards the guard: a wrong verifier, a plain challenge and a replayed code are refused."""
    verifier = "v" * 50
    redirect = "http://127.0.0.1:9/"
    params = {
        "response_type": "code",
        "client_id": authz.client_id,
        "redirect_uri": redirect,
        "scope": "https://mail.google.com/",
        "state": "s1",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }

    def authorize(p: dict[str, str]) -> dict[str, str]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(authz.auth_url + "?" + urllib.parse.urlencode(p), timeout=DEADLINE)
        assert caught.value.code == 302
        location = caught.value.headers["Location"]
        assert location.startswith(redirect)
        return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).items()}

    def token(form: dict[str, str]) -> tuple[int, dict[str, str]]:
        req = urllib.request.Request(authz.token_url, data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(req, timeout=DEADLINE) as resp:
                return int(resp.status), json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return int(e.code), json.loads(e.read())

    assert authorize({**params, "code_challenge_method": "plain"})["error"] == "invalid_request"
    code = authorize(params)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": authz.client_id,
        "client_secret": authz.client_secret,
        "redirect_uri": redirect,
        "code_verifier": "w" * 50,
    }
    assert token(form) == (400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
    code = authorize(params)["code"]
    status, answer = token({**form, "code": code, "code_verifier": verifier})
    assert status == 200 and "access_token" in answer
    assert token({**form, "code": code, "code_verifier": verifier})[1]["error"] == "invalid_grant"


def test_declined_sign_in_is_one_line_and_exit_2(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    authz.consent = "deny"
    run = start_auth(google_env(authz, tmp_path))
    status, page = browse(run.url())
    assert status == 200 and "not completed" in page
    assert run.result() == 2
    assert "declined in the browser" in one_error_line(run)
    assert not (tmp_path / "oauth-token.json").exists()
    assert "ssh -L" in run.out.getvalue()  # no browser opened: how to forward the port is explained


def test_a_redirect_with_a_foreign_state_is_refused(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    run = start_auth(google_env(authz, tmp_path))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(run.url()).query)
    forged = q["redirect_uri"][0] + "?" + urllib.parse.urlencode({"code": "4/forged", "state": "not-ours"})
    status, page = browse(forged)
    assert status == 400 and "does not belong" in page
    assert run.result() == 2
    assert "different state" in one_error_line(run)
    assert authz.token_requests == []  # the forged code was never exchanged


def test_no_redirect_in_time_is_a_timeout(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    started = time.monotonic()
    run = start_auth(google_env(authz, tmp_path, OAUTH_REDIRECT_TIMEOUT="0.5"))
    run.url()
    assert run.result() == 2
    assert "within 0.5 s" in one_error_line(run) and "OAUTH_REDIRECT_TIMEOUT" in run.err.getvalue()
    assert time.monotonic() - started < DEADLINE


def test_token_endpoint_refusal_is_one_line(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    run = start_auth(google_env(authz, tmp_path, OAUTH_CLIENT_SECRET="wrong-secret"))
    assert browse(run.url())[0] == 200  # the browser part went fine
    assert run.result() == 2
    line = one_error_line(run)
    assert "invalid_client" in line and "OAUTH_CLIENT_SECRET" in line
    assert "wrong-secret" not in line


def test_fixed_redirect_port_is_used_and_a_busy_one_is_reported(
    authz: FakeAuthorizationServer, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = start_auth(google_env(authz, tmp_path, OAUTH_REDIRECT_PORT=str(port)))
        assert run.result() == 2
        line = one_error_line(run)
        assert f"127.0.0.1:{port}" in line and "OAUTH_REDIRECT_PORT" in line
    run = start_auth(google_env(authz, tmp_path, OAUTH_REDIRECT_PORT=str(port)))
    url = run.url()
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2F" in url
    assert browse(url)[0] == 200 and run.result() == 0


def test_listener_ignores_stray_requests_until_the_redirect(
    authz: FakeAuthorizationServer, tmp_path: Path
) -> None:
    run = start_auth(google_env(authz, tmp_path))
    url = run.url()
    redirect = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["redirect_uri"][0]
    assert browse(redirect + "favicon.ico")[0] == 404
    assert browse(redirect)[0] == 400  # a bare visit: still waiting
    assert browse(url)[0] == 200 and run.result() == 0


def test_settings_choose_the_flow_and_check_the_redirect_settings() -> None:
    g = oauth_settings({"OAUTH_CLIENT_ID": "cid"}, "google")
    assert g.flow == "loopback" and g.auth_url.startswith("https://accounts.google.com/")
    assert g.device_url == "" and g.redirect_port is None and g.redirect_timeout == 300
    m = oauth_settings({"OAUTH_CLIENT_ID": "cid"}, "microsoft")
    assert m.flow == "device" and m.auth_url == ""
    s = oauth_settings(
        {"OAUTH_CLIENT_ID": "cid", "OAUTH_REDIRECT_PORT": "8765", "OAUTH_REDIRECT_TIMEOUT": "90"}, "google"
    )
    assert (s.redirect_port, s.redirect_timeout) == (8765, 90.0)
    with pytest.raises(ConfigError) as caught:
        bad = {"OAUTH_CLIENT_ID": "cid", "OAUTH_REDIRECT_PORT": "http", "OAUTH_REDIRECT_TIMEOUT": "-3"}
        oauth_settings(bad, "google")
    assert len(caught.value.problems) == 2


def test_cli_sign_in_in_a_real_process(authz: FakeAuthorizationServer, tmp_path: Path) -> None:
    """`inquiry-bot auth --no-browser` as a user runs it: declined once (one line on stderr, exit 2),
    then approved (exit 0, tokens saved)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OAUTH_", "IMAP_", "MAIL_"))}
    env.update(google_env(authz, tmp_path / "data"))
    env["PYTHONUNBUFFERED"] = "1"

    def attempt() -> tuple[int, str, str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "auth", "--no-browser"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        seen = ""
        for line in proc.stdout:
            seen += line
            if URL_LINE.match(line.strip()):
                browse(line.strip())
                break
        out, err = proc.communicate(timeout=DEADLINE)
        return proc.returncode, seen + out, err

    authz.consent = "deny"
    code, out, err = attempt()
    assert code == 2 and err.count("\n") == 1 and "declined" in err and "Traceback" not in err
    authz.consent = "approve"
    code, out, err = attempt()
    assert (code, err) == (0, "") and "Signed in" in out
    assert json.loads((tmp_path / "data" / "oauth-token.json").read_text())["refresh_token"]


def test_browser_is_opened_only_where_there_is_one(tmp_path: Path) -> None:
    """A headless Linux server never gets a browser (no text browser taking the terminal); BROWSER wins."""
    script = tmp_path / "browser.sh"
    seen = tmp_path / "seen.txt"
    script.write_text(f'#!/bin/sh\nprintf %s "$1" > {seen}\n')
    script.chmod(0o755)
    probe = (
        "import sys; from bot.app.cli.auth import open_local_browser; print(open_local_browser(sys.argv[1]))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    url = "http://127.0.0.1:9/authorize?state=x"

    def probe_with(env: dict[str, str]) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, url], env=env, capture_output=True, text=True, timeout=DEADLINE
        )
        return done.stdout.strip()

    if sys.platform.startswith("linux"):
        assert probe_with(base) == "False" and not seen.exists()
    assert probe_with({**base, "BROWSER": f"{script} %s"}) == "True"
    assert seen.read_text() == url


@pytest.fixture(autouse=True)
def _listener_is_closed_after_each_sign_in() -> Iterator[None]:
    yield
    assert not [t for t in threading.enumerate() if t.name == "oauth-loopback"]
