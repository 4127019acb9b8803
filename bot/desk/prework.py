"""Parse, triage and read the trust headers of every fetched mail in worker processes, each mail
under a hard time and memory budget.

Parsing and triage are pure and CPU-bound (about 5 ms a message), but a hostile message can be
built to make a parser or a regex slow or greedy. So no mail is parsed in the watcher thread:
every mail, single arrivals included, goes to a persistent, warm worker process (spawned once,
models loaded) and the caller waits for its result. A worker that spends more than
``MAIL_CPU_BUDGET_SECONDS`` of CPU (or ``MAIL_WALL_BUDGET_SECONDS`` of wall time, or more than
``MAIL_MEMORY_BUDGET_MB`` of resident memory) on one mail is killed and replaced, and the mail is
kept with what a cheap, capped read of its headers gives (sender, subject, Message-ID) and a
"could not be fully read" defect — never dropped and never parsed again here.

Batches (a backfill, a backlog after downtime) are submitted ahead with :meth:`Prework.submit`,
so they are worked on the other cores while the previous batch is stored; :meth:`Prework.take`
returns one mail's result, waiting for it (or working it now) as needed.

By default every :class:`Prework` shares one process-wide pool of ``MAIL_WORKERS`` workers
(default 2: one can be replaced while the other works); ``workers=N`` gives a private pool.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import hashlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.core.models import Category, Lane, Market, ParsedEmail, RiskSignal, Tier, Triage
from bot.intake.parse import parse_email, parse_headers_only
from bot.triage import ThreadHints, TriageConfig, triage, warm_up
from bot.triage.engine import DEFAULT_SLA_HOURS
from bot.triage.lanes import combine, decide
from bot.trust.authresults import authentication_results

log = logging.getLogger(__name__)

MIN_BATCH = 8
MAX_TRIAGE_CHARS = 20_000  # triage and trust read the start of a long mail; the whole text is still stored
STARTUP_TIMEOUT_S = 120.0  # a new worker importing and warming up on a busy machine
POLL_S = 0.02
RECYCLE_AT = 0.6  # of the memory budget: a worker this big after a mail is replaced, idle
UNREAD_DEFECT = "could not be fully read"


@dataclass(frozen=True)
class Budget:
    """What one mail may cost a worker before it is killed."""

    cpu_seconds: float = 2.0
    wall_seconds: float = 10.0
    memory_mb: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Budget:
        values = os.environ if env is None else env
        cpu = _positive(values, "MAIL_CPU_BUDGET_SECONDS", cls.cpu_seconds)
        wall = _positive(values, "MAIL_WALL_BUDGET_SECONDS", max(cls.wall_seconds, 5 * cpu))
        memory = _positive(values, "MAIL_MEMORY_BUDGET_MB", cls.memory_mb)
        return cls(cpu_seconds=cpu, wall_seconds=wall, memory_mb=memory)


def _positive(values: Any, name: str, default: float) -> float:
    text = str(values.get(name, "") or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds or megabytes, not {text!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, not {text!r}")
    return value


_Plain = TriageConfig  # with plain dicts for its mappings (see _plain)


@dataclass(frozen=True)
class Outcome:
    """A worker's answer for one mail: the parsed mail, its triage (None for parse-only jobs or
    when the mail could not be fully read) and its Authentication-Results values."""

    email: ParsedEmail
    verdict: Triage | None
    auth_results: tuple[str, ...]
    complete: bool = True


def _plain(config: TriageConfig) -> _Plain:
    """A picklable copy of the config (its mappings may be read-only proxies)."""
    changes: dict[str, Any] = {
        f.name: dict(value)
        for f in fields(config)
        if isinstance(value := getattr(config, f.name), Mapping) and not isinstance(value, dict)
    }
    return replace(config, **changes)


def for_triage(email: ParsedEmail) -> ParsedEmail:
    """The mail as triage sees it: its text cut to ``MAX_TRIAGE_CHARS`` (triage scans the text
    with many patterns; the start of a mail says what it is)."""
    if len(email.text) <= MAX_TRIAGE_CHARS and len(email.new_text) <= MAX_TRIAGE_CHARS:
        return email
    return replace(email, text=email.text[:MAX_TRIAGE_CHARS], new_text=email.new_text[:MAX_TRIAGE_CHARS])


def work(raw: bytes, plain: _Plain | None, hints: ThreadHints) -> Outcome:
    """Everything CPU-heavy about one mail (what a worker runs): parse, triage unless ``plain``
    is None, and the Authentication-Results values."""
    email = parse_email(raw)
    verdict = None
    if plain is not None:
        verdict = triage(for_triage(email), plain, hints)
    return Outcome(email, verdict, tuple(authentication_results(raw)))


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """A worker process: warm up, say so, then answer jobs until the pipe closes."""
    warm_up()
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        raw, plain, hints = job
        try:
            conn.send(("ok", work(raw, plain, hints)))
        except Exception as e:  # parse_email never raises; triage or pickling might
            conn.send(("error", type(e).__name__))


def unread(raw: bytes, why: str, config: TriageConfig | None) -> Outcome:
    """What we keep of a mail a worker could not finish: a cheap, capped read of its headers,
    a defect saying so, and a card (never filtered: nobody has read it). No triage runs here:
    the verdict says the mail is unread, held on a "check first" card."""
    email = parse_headers_only(raw, f"{UNREAD_DEFECT} ({why})")
    verdict = None
    if config is not None:
        market = Market.OTHER
        verdict = Triage(
            is_inquiry=False,
            category=Category.INQUIRY,
            reason=f"{UNREAD_DEFECT}: shown for a person to check ({why})",
            language="und",
            country=None,
            market=market,
            tier=Tier.C,
            sla_hours=float(config.sla_hours.get(market, DEFAULT_SLA_HOURS[market])),
            reasons=(f"{UNREAD_DEFECT} ({why}): not triaged",),
            lane=Lane.REVIEW,
        )
        # Held for a person on a "check first" card: nobody has read it, so no SLA clock pushes
        # a rep to answer it; *Real buyer* starts the clock. The signal keeps it there when the
        # desk adds what it learnt about the sender.
        verdict = decide(
            verdict, combine([RiskSignal("unread_mail", config.thresholds.review_at, why)]), config.thresholds
        )
    return Outcome(email, verdict, (), complete=False)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class WorkerLost(Exception):
    """A worker died or did not start."""


class _Worker:
    """One persistent worker process and its pipe."""

    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="mail-worker")
        self.proc.start()
        child.close()
        self.ready = False

    def usage(self) -> tuple[float, float] | None:
        """CPU seconds and resident MB of the process so far (Linux /proc), None elsewhere."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE / 1e6
        except (OSError, IndexError, ValueError):
            return None

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(STARTUP_TIMEOUT_S):
            raise WorkerLost("a mail worker did not start in time")
        try:
            kind, _ = self.conn.recv()
        except (EOFError, OSError) as e:
            raise WorkerLost("a mail worker died while starting") from e
        self.ready = kind == "ready"
        if not self.ready:
            raise WorkerLost("a mail worker answered before it was ready")

    def run(self, job: tuple[bytes, _Plain | None, ThreadHints], budget: Budget) -> Outcome | str:
        """The worker's outcome, or why it was stopped ("cpu", "wall", "memory", "died")."""
        self.wait_ready()
        before = self.usage()
        started = time.monotonic()
        try:
            self.conn.send(job)
        except (OSError, ValueError):
            return "died"
        while True:
            try:
                if self.conn.poll(POLL_S):
                    kind, value = self.conn.recv()
                    return value if kind == "ok" and isinstance(value, Outcome) else f"error {value}"
            except (EOFError, OSError):
                return "died"
            if not self.proc.is_alive():
                return "died"
            if time.monotonic() - started > budget.wall_seconds:
                return "wall"
            now = self.usage()
            if now is not None and before is not None:
                if now[0] - before[0] > budget.cpu_seconds:
                    return "cpu"
                if now[1] > budget.memory_mb:
                    return "memory"

    def kill(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.kill()
        else:
            self.conn.close()


class WorkerPool:
    """``size`` warm worker processes; a job borrows an idle one and gives it (or its
    replacement, when the budget killed it) back."""

    def __init__(self, size: int, budget: Budget | None = None) -> None:
        self.size = max(1, size)
        self.budget = budget or Budget.from_env()
        # spawn, not fork: this process runs threads (Bolt, IMAP, delivery) and locks.
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False
        self.kills = 0
        self.recycled = 0

    def start(self) -> None:
        """Spawn the workers now (they warm up in the background)."""
        with self._lock:
            while self._started < self.size and not self._closed:
                self._idle.put(_Worker(self._ctx))
                self._started += 1

    def run(self, raw: bytes, plain: _Plain | None, hints: ThreadHints) -> Outcome | str:
        self.start()
        while True:
            if self._closed:
                return "closed"
            try:
                worker = self._idle.get(timeout=1)
                break
            except queue.Empty:
                continue
        try:
            result = worker.run((raw, plain, hints), self.budget)
        except WorkerLost as e:
            result = f"died ({e})"
        if isinstance(result, Outcome):
            usage = worker.usage()
            if self._closed:
                worker.stop()
            elif usage is not None and usage[1] > RECYCLE_AT * self.budget.memory_mb:
                # Python seldom gives memory back: start afresh before the next mail needs it.
                worker.stop()
                with self._lock:
                    self.recycled += 1
                    self._idle.put(_Worker(self._ctx))
            else:
                self._idle.put(worker)
            return result
        worker.kill()
        with self._lock:
            self.kills += 1
            if not self._closed:
                self._idle.put(_Worker(self._ctx))  # warms up while the other workers work
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


def workers_from_env(env: Mapping[str, str] | None = None) -> int:
    """``MAIL_WORKERS`` (default 2)."""
    text = str((os.environ if env is None else env).get("MAIL_WORKERS", "") or "2").strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"MAIL_WORKERS must be a whole number of processes (1 or more), not {text!r}")
    return int(text)


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process-wide pool (``MAIL_WORKERS`` workers, default 2)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool(workers_from_env())
            atexit.register(_shared.close)
        return _shared


def sender_of(raw: bytes) -> str:
    """The From address of a raw message, read from its first 64 kB of headers only ("" when
    unreadable); the full parse happens in a worker."""
    import email.parser
    import email.policy
    from email.utils import parseaddr

    from bot.intake.parse import cap_header_fields

    try:
        head, _ = cap_header_fields(raw[:65536].replace(b"\r\n", b"\n"), 4000)
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        return parseaddr(str(headers.get("From", ""))[:4000])[1].strip().lower()
    except Exception:  # any garbage: no hints, the worker still parses it fully
        return ""


def raw_key(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class Prework:
    """Budgeted parse + triage for the ingestor: ahead for batches, at once for single mail."""

    def __init__(
        self,
        config: TriageConfig,
        workers: int | None = None,
        *,
        budget: Budget | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.config = config
        self._plain = _plain(config)
        self._own_pool = pool is None and (workers is not None or budget is not None)
        if pool is not None:
            self.pool = pool
        elif self._own_pool:
            self.pool = WorkerPool(workers or 2, budget)
        else:
            self.pool = shared_pool()
        self.workers = self.pool.size
        self._lock = threading.Lock()
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: dict[str, tuple[ThreadHints, concurrent.futures.Future[Outcome]]] = {}

    def start(self) -> None:
        """Warm the workers up now, so the first mail does not wait for them."""
        self.pool.start()

    def _run(self, raw: bytes, plain: _Plain | None, hints: ThreadHints) -> Outcome:
        result = self.pool.run(raw, plain, hints)
        if isinstance(result, Outcome):
            return result
        # Never parsed again here: what a capped header read gives, and a defect.
        log.warning("a mail worker was stopped (%s); the mail is kept as partly read", result)
        return unread(raw, _why(result, self.pool.budget), self.config if plain is not None else None)

    def submit(self, items: Sequence[tuple[bytes, ThreadHints]]) -> None:
        """Start a batch on the workers (no-op for small batches: each mail is then worked when
        it is taken). Each mail comes with the thread hints known now."""
        if len(items) < MIN_BATCH:
            return
        with self._lock:
            if self._threads is None:
                self._threads = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.pool.size, thread_name_prefix="prework"
                )
            for raw, hints in items:
                key = raw_key(raw)
                if key not in self._futures:
                    future = self._threads.submit(self._run, raw, self._plain, hints)
                    self._futures[key] = (hints, future)

    def submitted(self, raw: bytes) -> bool:
        """Whether ``raw`` is being worked ahead (its hints were given with the batch)."""
        with self._lock:
            return bool(self._futures) and raw_key(raw) in self._futures

    def take(
        self, raw: bytes, hints: ThreadHints | None = None
    ) -> tuple[ParsedEmail, Triage | None, ThreadHints | None]:
        """The parsed mail, its triage and the hints that triage used. Submitted mail is
        waited for; other mail is worked now with ``hints`` (no triage when they are None)."""
        outcome, used = self.outcome(raw, hints)
        return outcome.email, outcome.verdict, used

    def outcome(self, raw: bytes, hints: ThreadHints | None = None) -> tuple[Outcome, ThreadHints | None]:
        """The worker's full :class:`Outcome` for ``raw`` and the hints its triage used."""
        with self._lock:
            entry = self._futures.pop(raw_key(raw), None) if self._futures else None
        if entry is not None:
            used, future = entry
            try:
                return future.result(), used
            except Exception as e:  # cancelled by close(): work it now
                log.warning("pre-parsing failed (%s); working the mail again", type(e).__name__)
        plain = self._plain if hints is not None else None
        return self._run(raw, plain, hints or ThreadHints()), hints

    def retriage(self, email: ParsedEmail, hints: ThreadHints) -> Triage:
        """Triage again with other hints (the store learnt about the sender since)."""
        return triage(for_triage(email), self.config, hints)

    def close(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, None
            futures, self._futures = self._futures, {}
        for _, future in futures.values():
            future.cancel()
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        if self._own_pool:
            self.pool.close()


def _why(result: str, budget: Budget) -> str:
    if result == "cpu":
        return f"over the {budget.cpu_seconds:g} s CPU budget"
    if result == "wall":
        return f"over the {budget.wall_seconds:g} s time budget"
    if result == "memory":
        return f"over the {budget.memory_mb:g} MB memory budget"
    return f"the worker {result}"
