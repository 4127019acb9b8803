"""IMAP mailbox watcher: one dedicated connection per folder, IDLE (or polling), fetch new mail by UID.

The watcher knows nothing about the store: it talks to a :class:`MailSink` (checkpoint, deliver,
save_checkpoint). Guarantees:

- The folder is opened read-only (EXAMINE) and bodies are fetched with ``BODY.PEEK[]``: the watcher
  never sets ``\\Seen`` or any other flag.
- A message's checkpoint is saved only after ``sink.deliver`` returned, one message at a time, so a
  crash repeats at most one delivery (the sink deduplicates by Message-ID). A failing ``deliver``
  never advances the checkpoint; the watcher backs off and retries.
- First start (no checkpoint): only messages whose INTERNALDATE is within ``backfill_hours`` are
  delivered (``backfill=True``); older ones are skipped by moving the checkpoint past them.
- UIDVALIDITY changed: messages SINCE ``now - max(backfill_hours, rescan_min_days)`` are delivered
  again (the sink deduplicates), then normal operation resumes.
- After each pass that delivered everything, ``sink.caught_up(folder)`` is called when the sink
  has it (a backlog summary closes then, see :mod:`bot.desk.backlog`).
- ``run()`` never raises: any connection problem (imapclient errors, OSError, TLS errors, timeouts,
  an IDLE socket that is readable but empty, i.e. EOF) leads to a reconnect with capped exponential
  backoff and full jitter.

Known gap: if the process dies in the middle of a first-start backfill or a UIDVALIDITY re-scan, the
next start continues from the last delivered UID without the date filter, so old messages with
higher UIDs than the last delivered one would be delivered as new (rare: UIDs mostly follow dates;
with the backlog summary on, such mail is old by INTERNALDATE and joins the summary, see
:mod:`bot.desk.backlog`).

Example::

    watcher = MailboxWatcher(ImapSettings(host="imap.example.com", port=993, ssl=True,
                                          user="sales@example.com", password="..."), sink)
    threading.Thread(target=watcher.run, args=(stop_event,), daemon=True).start()
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ssl import SSLContext, SSLSocket
from typing import Any, Protocol

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError

log = logging.getLogger(__name__)

FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE", "FLAGS", "RFC822.SIZE"]
META_ITEMS = ["INTERNALDATE", "RFC822.SIZE"]
META_BATCH = 500


@dataclass(frozen=True)
class Checkpoint:
    """Mailbox position: every message with ``uid <= last_uid`` has been handled."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FetchedMessage:
    """One message as fetched from the server (raw bytes untouched)."""

    uid: int
    raw: bytes
    internaldate: datetime  # aware, UTC
    flags: tuple[str, ...]
    size: int
    backfill: bool  # True when delivered by the first-start backfill


class MailSink(Protocol):
    """Where fetched mail goes; implemented by the store adapter."""

    def checkpoint(self, folder: str) -> Checkpoint | None: ...

    def deliver(self, folder: str, fetched: FetchedMessage) -> None: ...

    def save_checkpoint(self, folder: str, checkpoint: Checkpoint) -> None: ...


@dataclass(frozen=True)
class ImapSettings:
    """Connection and timing settings for one watched folder."""

    host: str
    port: int
    ssl: bool
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    backfill_hours: float = 24
    idle_renew_seconds: float = 540
    poll_seconds: float = 60
    connect_timeout: float = 15
    read_timeout: float = 60
    ssl_context: SSLContext | None = None
    idle_check_seconds: float = 30
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    login_retry_seconds: float = 600.0  # after a refused login (LoginRejected): slow, no lock-out
    rescan_min_days: float = 7
    fetch_batch: int = 25
    progress_every: int = 200
    large_message_bytes: int = 25 * 1024 * 1024
    # Logs the client in instead of ``login(user, password)`` (XOAUTH2, IMAP ID; see connect.py).
    authenticate: Callable[[IMAPClient], None] | None = field(default=None, repr=False, compare=False)


class SinkError(Exception):
    """``sink.deliver`` or ``sink.save_checkpoint`` failed; the checkpoint was not advanced."""

    def __init__(self, folder: str, uid: int) -> None:
        super().__init__(f"sink failed for folder={folder!r} uid={uid}")
        self.folder = folder
        self.uid = uid


class LoginRejected(Exception):
    """The server refused the credentials (not a network problem): the operator must fix the
    password; ``run()`` retries every ``login_retry_seconds``, not with the fast backoff."""


class ConnectionDropped(Exception):
    """The server closed the connection (EOF while idling, BYE) or answered inconsistently."""


CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    IMAPClientError,  # includes AbortError (imaplib.IMAP4.abort) and LoginError
    OSError,  # includes socket.timeout, ssl.SSLError, ConnectionError
    EOFError,
    ConnectionDropped,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return (rng or random).uniform(0, ceiling)


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _as_utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ConnectionDropped(f"unexpected INTERNALDATE {type(value).__name__}")
    # A naive value means imapclient normalised it to local time.
    return value.astimezone(UTC)


def _flag_str(flag: Any) -> str:
    return flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag)


def _is_keepalive(resp: Any) -> bool:
    return isinstance(resp, tuple) and len(resp) >= 1 and resp[0] == b"OK"


class _Progress:
    """Logs a line every N messages; draws a one-line bar on stderr when it is a TTY."""

    def __init__(self, label: str, total: int, every: int) -> None:
        self.label, self.total, self.every, self.done = label, total, max(1, every), 0
        self.tty = total >= every and sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if (self.done % self.every == 0 or self.done == self.total) and self.total >= self.every:
            log.info("%s: %d/%d messages", self.label, self.done, self.total)
        if self.tty:
            width = 30
            filled = int(width * self.done / max(1, self.total))
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total}"
            )
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


class MailboxWatcher:
    """Watches one folder and hands new messages to a :class:`MailSink`.

    Not thread-safe: call ``run()`` from one thread, or ``catch_up()`` directly, not both.
    """

    def __init__(
        self,
        settings: ImapSettings,
        sink: MailSink,
        *,
        on_state: Callable[[str], None] | None = None,
        client_factory: Callable[[], IMAPClient] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self._on_state = on_state
        self._client_factory = client_factory or self._default_client
        self._clock = clock
        self._rng = rng or random.Random()
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None
        self._can_idle = False
        self.state = "new"

    # -- public -------------------------------------------------------------------------------------
    @property
    def folder(self) -> str:
        return self.settings.folder

    def catch_up(self) -> int:
        """Connect if needed and deliver everything new; returns the number of deliveries.

        Raises :class:`SinkError` when the sink fails, or a connection error (the connection is
        dropped first, so the next call reconnects).
        """
        try:
            client = self._ensure_connected()
            return self._sync(client)
        except SinkError:
            raise  # the connection is fine; the caller retries later
        except BaseException:
            self._disconnect()
            raise

    def close(self) -> None:
        """Log out (after ``catch_up()`` use; ``run()`` closes by itself)."""
        self._disconnect(logout=True)

    def run(self, stop: threading.Event) -> None:
        """Watch the folder until ``stop`` is set. Never raises."""
        attempt = 0
        try:
            while not stop.is_set():
                try:
                    client = self._ensure_connected()
                    self._sync(client)
                    attempt = 0
                    if stop.is_set():
                        break
                    if self._can_idle:
                        self._idle_once(client, stop)
                    else:
                        self._set_state("polling")
                        if stop.wait(self.settings.poll_seconds):
                            break
                except SinkError as e:
                    log.warning("imap %s: delivery of uid %d failed; will retry", self.folder, e.uid)
                    self._set_state("retrying")
                    stop.wait(self._backoff(attempt))
                    attempt += 1
                except LoginRejected as e:
                    log.error(
                        "imap %s: %s; next try in %.0f s", self.folder, e, self.settings.login_retry_seconds
                    )
                    self._disconnect()
                    self._set_state("login_refused")
                    stop.wait(self.settings.login_retry_seconds)
                except CONNECTION_ERRORS as e:
                    log.warning(
                        "imap %s: connection problem (%s: %s); reconnecting", self.folder, type(e).__name__, e
                    )
                    self._disconnect()
                    self._set_state("reconnecting")
                    stop.wait(self._backoff(attempt))
                    attempt += 1
                except Exception:
                    log.exception("imap %s: unexpected error; reconnecting", self.folder)
                    self._disconnect()
                    self._set_state("reconnecting")
                    stop.wait(self._backoff(attempt))
                    attempt += 1
        finally:
            self._disconnect(logout=True)
            self._set_state("stopped")

    # -- connection ---------------------------------------------------------------------------------
    def _default_client(self) -> IMAPClient:
        s = self.settings
        return IMAPClient(
            s.host,
            port=s.port,
            ssl=s.ssl,
            ssl_context=s.ssl_context,
            timeout=SocketTimeout(connect=s.connect_timeout, read=s.read_timeout),
        )

    def _ensure_connected(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        self._set_state("connecting")
        client = self._client_factory()
        try:
            client.normalise_times = False
            if self.settings.authenticate is not None:
                self.settings.authenticate(client)
            else:
                client.login(self.settings.user, self.settings.password)
            info = client.select_folder(self.settings.folder, readonly=True)
            self._uidvalidity = int(info[b"UIDVALIDITY"])
            self._can_idle = bool(client.has_capability("IDLE"))
        except BaseException:
            self._close_quietly(client, logout=False)
            raise
        self._client = client
        log.info(
            "imap %s: connected (uidvalidity=%d, idle=%s)", self.folder, self._uidvalidity, self._can_idle
        )
        self._set_state("connected")
        return client

    def _disconnect(self, logout: bool = False) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._close_quietly(client, logout=logout)

    @staticmethod
    def _close_quietly(client: IMAPClient, logout: bool) -> None:
        try:
            if logout:
                client.logout()
            else:
                client.shutdown()
        except Exception:  # closing a broken connection may fail in many ways
            with contextlib.suppress(Exception):
                client.shutdown()

    def _set_state(self, state: str) -> None:
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("imap %s: on_state callback failed", self.folder)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_cap, self._rng)

    # -- IDLE ---------------------------------------------------------------------------------------
    def _idle_once(self, client: IMAPClient, stop: threading.Event) -> None:
        """IDLE until activity, renewal time or stop; then leave IDLE (the caller catches up)."""
        client.idle()
        self._set_state("idle")
        started = time.monotonic()
        sock = client.socket()
        while not stop.is_set():
            remaining = self.settings.idle_renew_seconds - (time.monotonic() - started)
            if remaining <= 0:
                break
            # Wake at least every second to notice ``stop``; the IDLE itself lasts until renewal.
            wait = max(0.0, min(self.settings.idle_check_seconds, remaining, 1.0))
            if not self._wait_readable(sock, wait):
                continue
            responses = client.idle_check(timeout=0)
            if not responses:
                raise ConnectionDropped("socket readable but no data while idling (EOF)")
            if any(r[0] == b"BYE" for r in responses if isinstance(r, tuple) and r):
                raise ConnectionDropped("server sent BYE")
            if not all(_is_keepalive(r) for r in responses):
                break
        # Only reached on a healthy connection; on errors the caller drops the connection instead.
        client.idle_done()

    @staticmethod
    def _wait_readable(sock: socket.socket, timeout: float) -> bool:
        if isinstance(sock, SSLSocket) and sock.pending() > 0:
            return True
        readable, _, _ = select.select([sock], [], [], timeout)
        return bool(readable)

    # -- sync ---------------------------------------------------------------------------------------
    def _sync(self, client: IMAPClient) -> int:
        assert self._uidvalidity is not None
        folder, validity = self.settings.folder, self._uidvalidity
        # A selected mailbox only shows new messages after the server had a chance to announce them.
        client.noop()
        checkpoint = self.sink.checkpoint(folder)
        delivered = 0
        if checkpoint is None:
            delivered += self._backfill(client, validity)
        elif checkpoint.uidvalidity != validity:
            log.warning(
                "imap %s: UIDVALIDITY changed %d -> %d; re-scanning", folder, checkpoint.uidvalidity, validity
            )
            delivered += self._rescan(client, validity)
        checkpoint = self.sink.checkpoint(folder)
        last_uid = checkpoint.last_uid if checkpoint is not None else 0
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        delivered += self._deliver_uids(client, validity, uids, backfill=False, label="new mail")
        caught_up = getattr(self.sink, "caught_up", None)
        if callable(caught_up):  # e.g. close a backlog summary (bot.desk.backlog)
            caught_up(folder)
        return delivered

    @staticmethod
    def _uid_baseline(client: IMAPClient) -> int:
        """Highest UID now in the folder (0 when empty); ``UID *`` names the last message."""
        return max((int(u) for u in client.search(["UID", "*"])), default=0)

    def _uids_since(self, client: IMAPClient, since: datetime, up_to: int) -> list[int]:
        """UIDs <= up_to whose INTERNALDATE >= since (SEARCH SINCE by day, then exact filter)."""
        day = (since - timedelta(days=1)).date()  # SINCE ignores time and zone: widen, filter below
        candidates = sorted(u for u in client.search(["SINCE", day]) if u <= up_to)
        keep: list[int] = []
        for batch in _chunks(candidates, META_BATCH):
            meta = client.fetch(list(batch), META_ITEMS)
            for uid in batch:
                item = meta.get(uid)
                if item is None or b"INTERNALDATE" not in item:
                    keep.append(uid)  # vanished or odd: let the body fetch decide
                elif _as_utc(item[b"INTERNALDATE"]) >= since:
                    keep.append(uid)
        return keep

    def _backfill(self, client: IMAPClient, validity: int) -> int:
        s = self.settings
        baseline = self._uid_baseline(client)
        since = self._clock() - timedelta(hours=s.backfill_hours)
        uids = self._uids_since(client, since, baseline)
        log.info(
            "imap %s: first start, %d message(s) within %.1fh to backfill, skipping up to uid %d",
            self.folder,
            len(uids),
            s.backfill_hours,
            baseline,
        )
        n = self._deliver_uids(client, validity, uids, backfill=True, label="backfill")
        self._save(validity, baseline, uid_for_errors=baseline)
        return n

    def _rescan(self, client: IMAPClient, validity: int) -> int:
        s = self.settings
        baseline = self._uid_baseline(client)
        window = max(timedelta(hours=s.backfill_hours), timedelta(days=s.rescan_min_days))
        uids = self._uids_since(client, self._clock() - window, baseline)
        n = self._deliver_uids(client, validity, uids, backfill=False, label="re-scan")
        self._save(validity, baseline, uid_for_errors=baseline)
        return n

    def _save(self, validity: int, last_uid: int, uid_for_errors: int) -> None:
        try:
            self.sink.save_checkpoint(self.settings.folder, Checkpoint(validity, last_uid))
        except Exception as e:
            log.exception("imap %s: saving checkpoint failed", self.folder)
            raise SinkError(self.settings.folder, uid_for_errors) from e

    def _deliver_uids(
        self, client: IMAPClient, validity: int, uids: Sequence[int], *, backfill: bool, label: str
    ) -> int:
        if not uids:
            return 0
        progress = _Progress(f"imap {self.folder} {label}", len(uids), self.settings.progress_every)
        group = getattr(self.sink, "batch", None)
        prepare = getattr(self.sink, "prepare", None)
        delivered = 0

        def deliver_all(fetched_batch: list[tuple[int, FetchedMessage | None]]) -> None:
            nonlocal delivered
            # One group commit per fetch batch when the sink offers it (see MailSink.batch).
            with group() if callable(group) else contextlib.nullcontext():
                for uid, fetched in fetched_batch:
                    if fetched is not None:
                        self._deliver(fetched)
                        delivered += 1
                    # Saved for vanished UIDs too, so the position moves past them.
                    self._save(validity, uid, uid_for_errors=uid)
                    progress.step()

        # One batch ahead: batch k is fetched and handed to ``sink.prepare`` (e.g. parsed on
        # other cores) while batch k-1 is delivered. Delivery order and checkpoints are as
        # before; a failure leaves the undelivered batches for the next pass.
        previous: list[tuple[int, FetchedMessage | None]] | None = None
        for batch in _chunks(uids, max(1, self.settings.fetch_batch)):
            fetched_batch = list(self._fetch_batch(client, batch, backfill))
            if callable(prepare):
                prepare(self.settings.folder, [m for _, m in fetched_batch if m is not None])
            if previous is not None:
                deliver_all(previous)
            previous = fetched_batch
        if previous is not None:
            deliver_all(previous)
        return delivered

    def _fetch_batch(
        self, client: IMAPClient, batch: Sequence[int], backfill: bool
    ) -> Iterator[tuple[int, FetchedMessage | None]]:
        """Yield (uid, message) in the requested order; message is None when the UID was expunged.

        Iterates the requested UIDs (unsolicited FETCH responses for other messages are ignored)
        and re-fetches a UID the batch answer lacked before deciding.
        """
        data = client.fetch(list(batch), FETCH_ITEMS)
        for uid in batch:
            item = data.get(uid)
            if item is None or b"BODY[]" not in item:
                item = client.fetch([uid], FETCH_ITEMS).get(uid)
            if item is None or b"BODY[]" not in item:
                if uid in client.search(["UID", str(uid)]):
                    raise ConnectionDropped(f"server did not return uid {uid}")
                log.info("imap %s: uid %d vanished before fetch; skipping", self.folder, uid)
                yield uid, None
                continue
            yield uid, self._to_message(uid, item, backfill)

    def _to_message(self, uid: int, item: dict[bytes, Any], backfill: bool) -> FetchedMessage:
        raw = item[b"BODY[]"]
        raw = bytes(raw) if raw is not None else b""
        size = int(item.get(b"RFC822.SIZE", len(raw)))
        if size > self.settings.large_message_bytes:
            log.warning("imap %s: uid %d is large (%d bytes)", self.folder, uid, size)
        return FetchedMessage(
            uid=uid,
            raw=raw,
            internaldate=_as_utc(item.get(b"INTERNALDATE")),
            flags=tuple(_flag_str(f) for f in item.get(b"FLAGS", ())),
            size=size,
            backfill=backfill,
        )

    def _deliver(self, fetched: FetchedMessage) -> None:
        try:
            self.sink.deliver(self.settings.folder, fetched)
        except Exception as e:
            log.exception("imap %s: sink.deliver failed for uid %d", self.folder, fetched.uid)
            raise SinkError(self.settings.folder, fetched.uid) from e
