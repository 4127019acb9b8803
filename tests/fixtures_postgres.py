"""A private, real PostgreSQL server for tests (loaded as a pytest plugin).

Public API (the fixture objects are the API other test modules use):

``postgres`` (session scope) -> :class:`PostgresServer` (also :func:`shared_server`)
    A PostgreSQL cluster made with ``initdb`` in a temp dir and started with ``pg_ctl`` on
    ``127.0.0.1`` and a free port (its Unix socket in the same temp dir), stopped and removed at
    the end of the session. Run as root, the cluster belongs to the unprivileged ``postgres``
    user (commands go through ``runuser``), since PostgreSQL refuses to run as root. Loopback
    connections are trusted (no password). Durability is off (``fsync=off``): tests need speed,
    not crash safety of the test server.

    - ``url(database)``: a ``postgresql://`` URL for a database on it.
    - ``create_database() -> str``: a fresh, empty database; returns its URL.
    - ``stop()``, ``start()``: for tests of a server that goes away.

``pg_url`` (function scope) -> str
    The URL of a fresh database per test (``CREATE DATABASE``), so tests never see each other's
    rows.

Missing PostgreSQL: ``pytest.fail`` when ``CI=true`` (the suite must not silently skip there),
``pytest.skip`` otherwise.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.fixtures_dovecot import ensure_user

SUPERUSER = "postgres"
#: Durability off: a test server's data need not survive a crash of the machine.
FAST_UNSAFE = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
START_DEADLINE_S = 30.0


def find_bin_dir() -> Path | None:
    """The newest installed server's ``bin`` folder (Debian: /usr/lib/postgresql/NN/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster under ``root``: ``root/data`` (the cluster), ``root/run`` (the socket)."""

    host = "127.0.0.1"

    def __init__(self, bin_dir: Path, root: Path, *, durable: bool = False) -> None:
        self.durable = durable  # True: fsync and full-page writes on, as in production (benchmarks)
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.sockets = root / "run"
        self.log_path = root / "postgres.log"
        self.port = _free_port()
        self._counter = itertools.count(1)
        self._as_user: list[str] = []
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            owner = ensure_user(SUPERUSER)
            for path in (root, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", SUPERUSER, "--"]
        root.chmod(0o755)  # the server user must reach its data; the data folder itself is 0700
        self._run(
            str(bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self._as_user, *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}):\n{done.stderr[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def running(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.sockets}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=200",
                *([] if self.durable else FAST_UNSAFE),
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_DEADLINE_S)),
            "start",
        )
        deadline = time.monotonic() + START_DEADLINE_S
        while not self.running:
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: digits and underscores
        return self.url(name)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def require_postgres() -> Path:
    """The server's bin folder; in CI (``CI=true``) a missing one fails the run, elsewhere skips."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        msg = "PostgreSQL is not installed (apt-get install postgresql); the PostgreSQL store tests need it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return bin_dir


_server: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """The session's server, started on first use (also outside fixtures: the contract tests'
    backend registry calls it) and stopped when the session finishes."""
    global _server
    if _server is None:
        bin_dir = require_postgres()
        root = Path(tempfile.mkdtemp(prefix="postgres-test-"))
        try:
            server = PostgresServer(bin_dir, root)
            server.start()
        except (RuntimeError, OSError, KeyError) as e:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"could not start postgres: {e}")
        _server = server
    elif not _server.running:
        _server.start()
    return _server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _server
    server, _server = _server, None
    if server is not None:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    return shared_server()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    if not postgres.running:
        postgres.start()
    return postgres.create_database()
