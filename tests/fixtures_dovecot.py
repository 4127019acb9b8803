"""A private, real Dovecot IMAP server for integration tests (loaded as a pytest plugin).

Public API (the fixture objects are the API other test modules use):

``dovecot`` (session scope) -> :class:`DovecotServer`
    A Dovecot 2.3 started as a child process on ``127.0.0.1`` and a free port, with its own
    config, passwd-file and maildirs in a temp dir. Attributes and methods:

    - ``host``, ``port``: where to connect (plain IMAP, no TLS; PLAIN/LOGIN auth allowed).
    - ``user``, ``password``: a default account (``sales@example.com``).
    - ``append(folder, raw, flags=(), msg_time=None) -> int``: APPEND on its own connection,
      returns the new UID (from APPENDUID).
    - ``create_folder(name)``, ``delete_folder(name)``, ``flags(folder, uid)``,
      ``set_flags(folder, uid, flags)``, ``connect()`` (a logged-in ``IMAPClient``; close it).
    - ``add_user(user=None, password="secret") -> Mailbox``: a new account with an empty maildir
      (the passwd-file is re-read by Dovecot, no restart needed).
    - ``stop()``, ``start()``, ``restart()``: stop/start the server on the same port and maildirs
      (clients connected at stop are disconnected), for reconnect tests.

``mailbox`` (function scope) -> :class:`Mailbox`
    A fresh account per test (``sales-<n>@example.com``), so tests never see each other's mail.
    Same ``host``/``port``/``user``/``password``/``append``/``create_folder``/... methods as above,
    bound to that account; ``mailbox.server`` is the shared :class:`DovecotServer`. The server is
    (re)started if a previous test left it stopped.

Missing Dovecot: ``pytest.fail`` when ``CI=true`` (the suite must not silently skip there),
``pytest.skip`` otherwise. Special-use folders Sent, Drafts and Junk are announced
(SPECIAL-USE) and auto-created for every account.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from bot.adapters.mail.imap_source import ImapSettings

DOVECOT_BIN_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
DEFAULT_USER = "sales@example.com"
DEFAULT_PASSWORD = "s3cret-pass"
START_DEADLINE_S = 15.0
STOP_DEADLINE_S = 5.0
POOL_SIZE = 200
POOL_PASSWORD = "secret"

_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")


def _find_dovecot() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in DOVECOT_BIN_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.settimeout(2)
            return s.recv(4).startswith(b"* OK")
    except OSError:
        return False


def ensure_user(name: str) -> pwd.struct_passwd:
    """The unprivileged system user a server runs as when the suite runs as root (created if the
    package that usually creates it is not installed)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


class Mailbox:
    """One account on the test server; every call uses its own short-lived connection."""

    def __init__(self, server: DovecotServer, user: str, password: str) -> None:
        self.server = server
        self.user = user
        self.password = password

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def connect(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Sequence[str | bytes] = (),
        msg_time: datetime | None = None,
    ) -> int:
        client = self.connect()
        try:
            resp = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        finally:
            client.logout()
        match = _APPENDUID.search(resp if isinstance(resp, bytes) else str(resp).encode())
        if match is None:
            raise AssertionError(f"server gave no APPENDUID: {resp!r}")
        return int(match.group(2))

    def create_folder(self, name: str) -> None:
        client = self.connect()
        try:
            client.create_folder(name)
        finally:
            client.logout()

    def delete_folder(self, name: str) -> None:
        client = self.connect()
        try:
            client.delete_folder(name)
        finally:
            client.logout()

    def flags(self, folder: str, uid: int) -> tuple[bytes, ...]:
        client = self.connect()
        try:
            client.select_folder(folder, readonly=True)
            data = client.fetch([uid], ["FLAGS"])
        finally:
            client.logout()
        return tuple(data[uid][b"FLAGS"])

    def set_flags(self, folder: str, uid: int, flags: Sequence[str | bytes]) -> None:
        client = self.connect()
        try:
            client.select_folder(folder)
            client.add_flags([uid], list(flags))
        finally:
            client.logout()

    def uidvalidity(self, folder: str) -> int:
        client = self.connect()
        try:
            status = client.folder_status(folder, [b"UIDVALIDITY"])
        finally:
            client.logout()
        return int(status[b"UIDVALIDITY"])


class DovecotServer:
    """A Dovecot master process with a private config under ``root``."""

    host = "127.0.0.1"

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self._passwd_mtime = 0
        self.passwd_file = root / "passwd"
        self.home_root = root / "home"
        self.log_path = root / "dovecot.log"
        self.conf_path = root / "dovecot.conf"
        self._write_config()
        self._pool = [f"sales-{i}@example.com" for i in range(1, POOL_SIZE + 1)]
        for name in [DEFAULT_USER, *self._pool]:
            self._append_passwd(name, DEFAULT_PASSWORD if name == DEFAULT_USER else POOL_PASSWORD)
        self._default = Mailbox(self, DEFAULT_USER, DEFAULT_PASSWORD)

    # -- config ---------------------------------------------------------------------------------
    def _identities(self) -> tuple[str, str, int, int]:
        """(login user, internal user, mail uid, mail gid)."""
        if os.geteuid() == 0:
            login = ensure_user("dovenull").pw_name
            internal = ensure_user("dovecot").pw_name
            vmail = ensure_user("vmail")
            return login, internal, vmail.pw_uid, vmail.pw_gid
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid

    def _write_config(self) -> None:
        login, internal, uid, gid = self._identities()
        for d in (self.root, self.root / "run", self.root / "state", self.home_root):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(self.home_root, uid, gid)
        self.passwd_file.write_text("")
        self.passwd_file.chmod(0o644)
        self.conf_path.write_text(self._config(login, internal, uid, gid))

    # The parts a subclass changes (TLS, OAuth2, folders); the rest of the config is written once.
    auth_mechanisms = "plain login"

    def _ssl_conf(self) -> str:
        return "ssl = no"

    def _passdb_conf(self) -> str:
        return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_file}
}}"""

    def _mailboxes_conf(self) -> str:
        return """  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }"""

    def _imaps_listener_conf(self) -> str:
        return "    port = 0"

    def _config(self, login: str, internal: str, uid: int, gid: int) -> str:
        return f"""
protocols = imap
listen = 127.0.0.1
{self._ssl_conf()}
disable_plaintext_auth = no
auth_mechanisms = {self.auth_mechanisms}
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.log_path}
info_log_path = {self.log_path}
default_login_user = {login}
default_internal_user = {internal}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
mail_plugins =
imap_idle_notify_interval = 30 secs
mailbox_idle_check_interval = 1 secs
auth_failure_delay = 0
{self._passdb_conf()}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.home_root}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
{self._mailboxes_conf()}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
{self._imaps_listener_conf()}
  }}
}}
"""

    # -- accounts -------------------------------------------------------------------------------
    def add_user(self, user: str | None = None, password: str = POOL_PASSWORD) -> Mailbox:
        """A new, empty account. Pre-created pool accounts are used first: Dovecot checks the
        passwd-file for changes at most once a second, so a freshly appended line may be missed."""
        if user is None and password == POOL_PASSWORD and self._pool:
            return Mailbox(self, self._pool.pop(0), POOL_PASSWORD)
        name = user or f"extra-{next(self._counter)}@example.com"
        self._append_passwd(name, password)
        mb = Mailbox(self, name, password)
        if self.running:
            self._wait_login(mb)
        return mb

    def _append_passwd(self, name: str, password: str) -> None:
        with self.passwd_file.open("a") as f:
            f.write(f"{name}:{{PLAIN}}{password}::::::\n")
        # Dovecot re-reads the passwd-file when its mtime (whole seconds) or size changes.
        self._passwd_mtime = max(int(time.time()), self._passwd_mtime + 1)
        os.utime(self.passwd_file, (self._passwd_mtime, self._passwd_mtime))

    def _wait_login(self, mb: Mailbox) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                mb.connect().logout()
                return
            except IMAPClient.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: stop() ends imap children with the master
        )
        log.close()
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}:\n{self.log_tail()}")
            if _port_open(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"dovecot did not accept connections within {START_DEADLINE_S}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the master and every child (so connected clients really lose their connection)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the group id is the master's pid
        self._signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE_S)
        self._signal_group(pgid, signal.SIGKILL)  # stragglers (imap processes of idle clients)
        # Wait until the listener is really gone so a restart can bind the same port.
        deadline = time.monotonic() + STOP_DEADLINE_S
        while time.monotonic() < deadline and _port_open(self.host, self.port):
            time.sleep(0.05)

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- default account shortcuts --------------------------------------------------------------
    @property
    def user(self) -> str:
        return self._default.user

    @property
    def password(self) -> str:
        return self._default.password

    def connect(self) -> IMAPClient:
        return self._default.connect()

    def append(self, folder: str, raw: bytes, flags: Sequence[str | bytes] = (), msg_time: Any = None) -> int:
        return self._default.append(folder, raw, flags=flags, msg_time=msg_time)

    def create_folder(self, name: str) -> None:
        self._default.create_folder(name)

    def delete_folder(self, name: str) -> None:
        self._default.delete_folder(name)

    def flags(self, folder: str, uid: int) -> tuple[bytes, ...]:
        return self._default.flags(folder, uid)

    def set_flags(self, folder: str, uid: int, flags: Sequence[str | bytes]) -> None:
        self._default.set_flags(folder, uid, flags)


def require_dovecot() -> str:
    """The dovecot binary; in CI (``CI=true``) a missing one fails the run, elsewhere it skips."""
    binary = _find_dovecot()
    if binary is None:
        msg = "dovecot is not installed (apt-get install dovecot-imapd); integration tests need it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return binary


def serve(server: DovecotServer, root: Path, what: str) -> Iterator[DovecotServer]:
    """Start ``server``, yield it, stop it and remove ``root`` (for session fixtures)."""
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start {what}: {e}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    binary = require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    yield from serve(DovecotServer(binary, root), root, "dovecot")


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> Mailbox:
    if not dovecot.running:
        dovecot.start()
    return dovecot.add_user()


def settings_for(mb: Mailbox, **overrides: Any) -> ImapSettings:
    """The watcher's settings for ``mb`` with short timeouts and backoff for tests; ``overrides`` win."""
    base: dict[str, Any] = dict(
        host=mb.host,
        port=mb.port,
        ssl=False,
        user=mb.user,
        password=mb.password,
        connect_timeout=5,
        read_timeout=10,
        backoff_base=0.05,
        backoff_cap=0.5,
        poll_seconds=0.2,
    )
    base.update(overrides)
    return ImapSettings(**base)
