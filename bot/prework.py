"""Parse and triage a batch of fetched mail on the other cores while the store writes.

Parsing and triage are pure and CPU-bound (about 5 ms a message); storing is one
thread under the store lock. When the watcher fetches a batch (a backfill, a backlog
after downtime), :class:`Prework` sends the batch to a small process pool and the
ingestor picks up each result instead of parsing again. Single arrivals skip the pool:
handing one message to another process costs more than parsing it here.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import multiprocessing
import threading
from collections.abc import Sequence

from bot.mail.parse import parse_email
from bot.models import Market, ParsedEmail, Triage
from bot.triage import ThreadHints, TriageConfig, triage, warm_up
from bot.triage.profile import ProductProfile

log = logging.getLogger(__name__)

MIN_BATCH = 8


_Plain = tuple[frozenset[str], dict[Market, float], dict[str, Market], ProductProfile]


def _plain(config: TriageConfig) -> _Plain:
    """A picklable copy of the config (its mappings may be read-only proxies)."""
    return config.own_domains, dict(config.sla_hours), dict(config.market_overrides), config.profile


def _work(raw: bytes, plain: _Plain, hints: ThreadHints) -> tuple[ParsedEmail, Triage]:
    email = parse_email(raw)
    own, hours, overrides, profile = plain
    config = TriageConfig(own_domains=own, sla_hours=hours, market_overrides=overrides, profile=profile)
    return email, triage(email, config, hints)


def _init_worker() -> None:
    warm_up()


def sender_of(raw: bytes) -> str:
    """The From address of a raw message, read from its headers only ("" when unreadable);
    the full parse happens in a worker."""
    import email.parser
    import email.policy
    from email.utils import parseaddr

    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
        return parseaddr(str(headers.get("From", "")))[1].strip().lower()
    except Exception:  # any garbage: no hints, the worker still parses it fully
        return ""


def raw_key(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class Prework:
    def __init__(self, config: TriageConfig, workers: int | None = None) -> None:
        self.config = config
        self._plain = _plain(config)
        self.workers = workers or max(1, multiprocessing.cpu_count())
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._futures: dict[
            str, tuple[ThreadHints, concurrent.futures.Future[tuple[ParsedEmail, Triage]]]
        ] = {}

    def submit(self, items: Sequence[tuple[bytes, ThreadHints]]) -> None:
        """Start parsing and triaging a batch elsewhere (no-op for small batches). Each mail
        comes with the thread hints known now (what the store knows of its sender)."""
        if len(items) < MIN_BATCH:
            return
        with self._lock:
            if self._pool is None:
                # spawn, not fork: this process runs threads (Bolt, IMAP, delivery) and locks.
                ctx = multiprocessing.get_context("spawn")
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=ctx, initializer=_init_worker
                )
            for raw, hints in items:
                key = raw_key(raw)
                if key not in self._futures:
                    self._futures[key] = (hints, self._pool.submit(_work, raw, self._plain, hints))

    def take(self, raw: bytes) -> tuple[ParsedEmail, Triage | None, ThreadHints | None]:
        """The parsed mail, its triage and the hints that triage used — from the pool if the
        mail was sent there, else parsed here (triage and hints None)."""
        with self._lock:
            entry = self._futures.pop(raw_key(raw), None) if self._futures else None
        if entry is not None:
            hints, future = entry
            try:
                email, verdict = future.result(timeout=60)
                return email, verdict, hints
            except Exception as e:  # a dead worker, a timeout: parse here, lose nothing
                log.warning("pre-parsing failed (%s); parsing in process", type(e).__name__)
        return parse_email(raw), None, None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._futures.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
