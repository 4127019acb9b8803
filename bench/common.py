"""Shared helpers for the benchmarks: percentiles, resident memory, tables, the mail mix.

Benchmarks are scripts (``python bench/bench_x.py``), not tests. Each prints a small table:
figure, value, target and whether the target was met on this run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.corpora import corpora_root
from tests.corpora import corpus_files as corpus_folder_files

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "bot" / "app" / "samples"
LABELLED = ROOT / "tests" / "fixtures" / "labelled"
FIXTURE_MAIL = ROOT / "tests" / "fixtures" / "mail"
# The shared corpora beside the repository, or where CORPORA_DIR points (tests/corpora.py).
CORPORA_ROOT = corpora_root()
CORPORA = CORPORA_ROOT / "emails"
INBOUND = CORPORA_ROOT / "inbound"
BENCH_TMP = Path(os.environ.get("BENCH_TMP", "/tmp/inquiry-desk-bench"))
OWN_DOMAINS = frozenset({"brightway-led.com"})


# ------------------------------------------------------------------ statistics
def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call of ``fn`` took (wall clock)."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


# ---------------------------------------------------------------------- memory
def rss_mb() -> float:
    """Current resident set size in MB (VmRSS from /proc; peak RSS where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------ GC pauses
class GcPauses:
    """Records how long each cyclic-GC collection took (via ``gc.callbacks``), by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, milliseconds)
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._start) * 1000.0))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        full = [d for g, d in self.pauses if g == 2]
        young = [d for g, d in self.pauses if g < 2]
        return (
            f"{len(full)} full (gen 2) collections, max {max(full, default=0.0):.0f} ms, "
            f"total {sum(full):.0f} ms; {len(young)} young, total {sum(young):.0f} ms"
        )


# ---------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target


def print_table(title: str, rows: Sequence[Row]) -> None:
    headers = ("figure", "value", "target", "met")
    cells = [(r.figure, r.value, r.target, "" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(f"\n== {title}")
    print(line)
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
    print(flush=True)


def ms(value: float) -> str:
    return f"{value:.2f} ms"


def machine_line() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, load average (1 min) {load:.2f} at start; other work may run concurrently"
    )


# -------------------------------------------------------------------- mail mix
_FULL_MESSAGE_SUFFIXES = {".eml", ".msg", ".raw", ""}


def corpus_files() -> list[Path]:
    """Full messages from the shared real-world corpus (reply-body .txt/.html files excluded)."""
    return [p for p in corpus_folder_files(base=CORPORA) if p.suffix.lower() in _FULL_MESSAGE_SUFFIXES]


def mail_mix() -> dict[str, list[bytes]]:
    """Raw messages by source: bot samples, labelled fixtures, broken-mail fixtures, corpus."""
    return {
        "bot/app/samples": [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))],
        "tests/fixtures/labelled": [p.read_bytes() for p in sorted(LABELLED.glob("*.eml"))],
        "tests/fixtures/mail": [p.read_bytes() for p in sorted(FIXTURE_MAIL.glob("*.eml"))],
        "shared corpora (full messages)": [p.read_bytes() for p in corpus_files()],
    }


_MESSAGE_ID_RE = re.compile(rb"(?i)(^|[\r\n])message-id:[^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*")
_SUBJECT_RE = re.compile(rb"(?i)(^|[\r\n])(subject:[^\r\n]*)")


def _newline_of(raw: bytes) -> bytes:
    if b"\r\n" in raw:
        return b"\r\n"
    if b"\n" in raw:
        return b"\n"
    return b"\r" if b"\r" in raw else b"\r\n"


def make_unique(raw: bytes, n: int, *, tag_subject: bool = True) -> bytes:
    """A copy of ``raw`` with Message-ID ``<bench-n@bench.invalid>`` (replaced, or added on top)
    and, if ``tag_subject``, `` [#n]`` appended to the Subject so copies are new threads, not
    follow-ups of the first copy (follow-ups match on sender + normalised subject)."""
    header = b"Message-ID: <bench-%d@bench.invalid>" % n
    out, count = _MESSAGE_ID_RE.subn(lambda m: m.group(1) + header, raw, count=1)
    if count == 0:
        out = header + _newline_of(raw) + raw
    if tag_subject:
        out = _SUBJECT_RE.sub(lambda m: m.group(1) + m.group(2) + b" [#%d]" % n, out, count=1)
    return out


# -------------------------------------------------------------------- dovecot
def start_dovecot(prefix: str) -> tuple[Path, object] | None:
    """A private Dovecot for a benchmark (the test suite's ``DovecotServer``), or None with a
    message when Dovecot is not installed. Returns ``(root, server)``; stop it and remove root."""
    import sys
    import tempfile

    from tests.fixtures_dovecot import DovecotServer, _find_dovecot

    binary = _find_dovecot()
    if binary is None:
        print("dovecot is not installed (apt-get install dovecot-imapd)", file=sys.stderr)
        return None
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)  # Dovecot's unprivileged auth process reads the passwd-file below
    server = DovecotServer(binary, root / "dovecot")
    server.start()
    return root, server


def sample_profile() -> Any:
    """The sample team's products and specs (prompts/company_profile.toml), as the bot loads them."""
    from bot.drafting.prompts import BUNDLED_PROMPTS_DIR
    from bot.triage.profile import load_profile

    return load_profile(BUNDLED_PROMPTS_DIR)


# -------------------------------------------------------------------- CPU by process kind
class CpuAccount:
    """CPU seconds (user + system) spent by the descendants of this process, by kind.

    Samples ``/proc/<pid>/stat`` of every descendant every ``period`` seconds in a thread and
    keeps each pid's first and last figure, so processes that start or exit between samples
    are counted up to their last sample. Kinds come from the process name: ``postgres``,
    ``dovecot`` (imap, auth, …) and ``python`` (the bench's bot instances and their pools);
    this process itself is ``bench`` (the fake Slack and the sampling). Linux only; elsewhere
    every figure is 0."""

    def __init__(self, period: float = 1.0, roots: tuple[Path, ...] = ()) -> None:
        """``roots``: pid files (``postmaster.pid``, Dovecot's ``master.pid``) of daemons the
        bench started; they left this process's tree when they daemonised."""
        import threading

        self.roots = roots

        self.period = period
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _stat(pid: int) -> tuple[str, int, float] | None:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        return name, int(fields[1]), float(int(fields[11]) + int(fields[12]))

    def _descendants(self) -> dict[int, tuple[str, float]]:
        me = os.getpid()
        tops = {me}
        for pid_file in self.roots:
            with contextlib.suppress(OSError, ValueError, IndexError):
                tops.add(int(pid_file.read_text().split()[0]))
        stats: dict[int, tuple[str, int, float]] = {}
        for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if entry.name.isdigit():
                got = self._stat(int(entry.name))
                if got is not None:
                    stats[int(entry.name)] = got
        out: dict[int, tuple[str, float]] = {}
        for pid, (name, _, ticks) in stats.items():
            p, seen = pid, 0
            while p in stats and p not in tops and seen < 64:
                p, seen = stats[p][1], seen + 1
            if p in tops and pid != me:
                out[pid] = (name, ticks / self._tick)
        own = self._stat(me)
        if own is not None:
            out[me] = ("bench", own[2] / self._tick)
        return out

    @staticmethod
    def _kind(name: str) -> str:
        if name == "bench":
            return "bench"
        if name.startswith("postgres") or name.startswith("postmaster"):
            return "postgres"
        if name.startswith("python"):
            return "python"
        return "dovecot"

    def sample(self) -> None:
        for pid, (name, secs) in self._descendants().items():
            self._first.setdefault(pid, (self._kind(name), secs))
            self._last[pid] = secs

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def start(self) -> CpuAccount:
        self.sample()
        self._thread.start()
        return self

    def per_pid(self) -> list[tuple[int, str, float]]:
        """Each counted process: pid, kind and CPU seconds, the busiest first."""
        rows = [(pid, kind, self._last[pid] - first) for pid, (kind, first) in self._first.items()]
        return sorted(rows, key=lambda r: -r[2])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        totals: dict[str, float] = {}
        for pid, (kind, first) in self._first.items():
            totals[kind] = totals.get(kind, 0.0) + self._last[pid] - first
        return totals
