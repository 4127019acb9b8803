"""Triage data checks that need a process of their own: the public suffix list is never fetched
(sockets refused in a fresh interpreter), and building the place tables keeps a mail worker small."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_OFFLINE_SCRIPT = """
import socket, sys

def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")

socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from bot.triage.region import _PSL, registrable_domain

assert tuple(_PSL.suffix_list_urls) == (), _PSL.suffix_list_urls
for host, want in [
    ("mail.acme.gen.tr", "acme.gen.tr"),
    ("x.acme.ltd.uk", "acme.ltd.uk"),
    ("m.acme.ind.br", "acme.ind.br"),
    ("acme.blogspot.com", "acme.blogspot.com"),
]:
    got = registrable_domain(host)
    assert got == want, (host, got, want)
print("offline-ok")
"""


def test_registrable_domain_never_fetches_the_suffix_list(tmp_path: Path) -> None:
    """The bundled snapshot answers with sockets refused, an empty home and no tldextract cache:
    no fetch of the Public Suffix List can happen at import or at lookup."""
    home = tmp_path
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TLDEXTRACT_CACHE": str(home / "tldextract"),
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "http://127.0.0.1:9/never.dat",
    }
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "offline-ok"
    assert not (home / "tldextract").exists() and not (home / "cache").exists()


def test_building_the_tables_keeps_a_mail_worker_small() -> None:
    """CLDR locale files are read one at a time, not kept by Babel (~110 MB for all of them)."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import resource, bot.triage.region as r\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "r.warm_up()\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    grown_mb = float(done.stdout)
    assert grown_mb < 30, f"the place tables grew the process by {grown_mb:.0f} MB"
