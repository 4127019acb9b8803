"""The audit trail: an append-only, hash-chained log of every action on an inquiry.

File layout under ``DATA_DIR/audit``::

    audit.jsonl   one JSON object per line: seq, at, inquiry_id, actor, action, detail,
                  prev_hash, hash
    audit.head    {"seq": n, "hash": "..."} of the last appended entry, replaced atomically
                  after every append, so deleting the last lines of the log is detected too

``hash = sha256(canonical JSON of the entry without "hash")`` where canonical JSON is
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8
and ``prev_hash`` of the first entry is 64 zeros. Editing an entry breaks its hash,
deleting or reordering entries breaks the ``seq``/``prev_hash`` chain, cutting the tail
disagrees with ``audit.head``. Anyone who can rewrite the whole file *and* the head can
forge a consistent log, so the head is also witnessed outside ``DATA_DIR``: once a day an
``anchor`` entry is appended and its ``seq`` and ``hash`` posted to Slack
(:mod:`bot.records.audit_anchor`); ``audit verify --anchor SEQ:HASH`` checks the chain against it.

:func:`verify_files` (what ``audit verify`` runs) only reads: it never repairs, creates or
rewrites a file. It fails when the head is missing while the log holds entries, and
:mod:`bot.records.audit_verify` adds the checks against the store (log missing, events cut).
Entries that mirror a stored event have a detail of at most ``detail`` / ``ref`` (see
:func:`is_event_entry`); entries appended only to the log (``anchor``, ``bodies_purged``,
erasure records) use other keys.

Personal-data contract (so GDPR erasure never needs to rewrite this log): an entry holds
**references only**. ``actor`` is a Slack user id, ``"bot"``, ``"mail"`` or ``"cli"``;
``detail`` maps short keys to ids, codes, counts and short enums, e.g.
``{"tier": "A", "from": "B"}`` or ``{"draft": "d12"}``. No email addresses, names,
subjects or body text: :meth:`AuditLog.append` rejects any value containing ``@`` (that
also rules out Message-IDs: pass :func:`ref` of one instead) and any string longer than
:data:`MAX_VALUE_CHARS`.

Durability: each line is written whole and fsynced before ``append`` returns; appends are
serialised by a thread lock and an ``flock`` on the file (the CLI may append while the bot
runs). A line torn by a crash has no trailing newline; it was never acknowledged, and it
is cut off with a warning when the log is opened.

    >>> log = AuditLog(data_dir / "audit" / "audit.jsonl")
    >>> log.append("42", "U024BE7LH", "tier", {"tier": "A", "from": "B"}, now).seq
    17
    >>> log.verify()
    VerifyResult(ok=True, count=17, problems=[])
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from bot.adapters.store import durability
from bot.adapters.store.atomic import PRIVATE_FILE, private_dir, private_opener
from bot.core.errors import InquiryDeskError
from bot.core.models import Event

log = logging.getLogger(__name__)

GENESIS = "0" * 64
MAX_VALUE_CHARS = 120
#: Actions the desk records (documentation; other short codes are accepted too).
ACTIONS = frozenset(
    {
        "received",
        "triaged",
        "card_posted",
        "claimed",
        "released",
        "reassigned",
        "tier",
        "status",
        "snoozed",
        "note",
        "drafted",
        "edited",
        "saved",
        "sent",
        "warning_cleared",
        "data_erased",
        "bodies_purged",
    }
)

Scalar = str | int | float | bool | None


HEAD_BYTES = 128


class AuditError(InquiryDeskError, ValueError):
    """An entry that breaks the audit contract (personal data, bad types) or an unusable log."""


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    inquiry_id: str | None
    actor: str
    action: str
    detail: Mapping[str, Scalar]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        body = _body(self.seq, self.at, self.inquiry_id, self.actor, self.action, self.detail, self.prev_hash)
        return {**body, "hash": self.hash}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure
    head: tuple[int, str] | None = None  # (seq, hash) of the last readable entry


#: Detail keys of an entry that mirrors an event stored on an inquiry (bot.adapters.store.repo).
EVENT_DETAIL_KEYS = frozenset({"detail", "ref"})


def is_event_entry(entry: Entry) -> bool:
    """Does this entry mirror an event stored on its inquiry (not a log-only record)?"""
    return entry.inquiry_id is not None and set(entry.detail) <= EVENT_DETAIL_KEYS


def ref(value: str) -> str:
    """A stable, non-reversible reference to a value that must not be logged (e.g. a Message-ID)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _at_str(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def _body(
    seq: int,
    at: datetime | str,
    inquiry_id: str | None,
    actor: str,
    action: str,
    detail: Mapping[str, Scalar],
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at if isinstance(at, str) else _at_str(at),
        "inquiry_id": inquiry_id,
        "actor": actor,
        "action": action,
        "detail": dict(detail),
        "prev_hash": prev_hash,
    }


def entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in body.items() if k != "hash"})).hexdigest()


def _entry_from_json(d: Mapping[str, Any]) -> Entry:
    return Entry(
        seq=int(d["seq"]),
        at=datetime.fromisoformat(str(d["at"])),
        inquiry_id=None if d.get("inquiry_id") is None else str(d["inquiry_id"]),
        actor=str(d["actor"]),
        action=str(d["action"]),
        detail=dict(d.get("detail") or {}),
        prev_hash=str(d["prev_hash"]),
        hash=str(d["hash"]),
    )


def check_detail(actor: str, detail: Mapping[str, Any]) -> dict[str, Scalar]:
    """The detail as stored, or :class:`AuditError` when it breaks the contract."""
    if "@" in actor or len(actor) > MAX_VALUE_CHARS:
        raise AuditError("audit actor must be a user id or a role, never an address")
    out: dict[str, Scalar] = {}
    for key, value in detail.items():
        if not isinstance(key, str) or "@" in key or len(key) > 40:
            raise AuditError(f"audit detail key {key!r} is not a short name")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise AuditError(f"audit detail {key!r} must be a string, number, bool or null")
        if isinstance(value, str):
            if "@" in value:
                raise AuditError(f"audit detail {key!r} looks like an address or Message-ID: use ref()")
            if len(value) > MAX_VALUE_CHARS:
                raise AuditError(f"audit detail {key!r} is longer than {MAX_VALUE_CHARS} characters")
        out[key] = value
    return out


class AuditLog:
    """Append-only hash-chained log. Thread-safe; one instance per process is enough."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.stem + ".head")
        private_dir(self.path.parent)
        self._lock = threading.Lock()
        self._seq = 0
        self._hash = GENESIS
        self._size = -1
        with self._lock, open(self.path, "a+b", opener=private_opener) as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                self._repair_tail(fh)
                self._sync_from(fh)
                self._catch_up_head()
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------- internals
    def _repair_tail(self, fh: BinaryIO) -> None:
        """Cut a torn last line (no trailing newline): it was never acknowledged."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        keep = _last_newline_end(fh, size)
        log.warning("audit log %s: cutting a torn last line (%d bytes)", self.path.name, size - keep)
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())

    def _sync_from(self, fh: BinaryIO) -> None:
        """Continue the chain from the file's last line (another process may have appended)."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == self._size:
            return
        self._seq, self._hash = 0, GENESIS
        last = _last_line(fh, size)
        if last:
            try:
                d = json.loads(last)
                self._seq, self._hash = int(d["seq"]), str(d["hash"])
            except (ValueError, KeyError, TypeError):
                # Tampered, not torn (it ends with a newline): keep the log usable, chain on
                # from the last readable entry; 'audit verify' reports the damage.
                log.error("audit log %s: last line unreadable; run 'audit verify'", self.path.name)
                for entry in self.entries():
                    self._seq, self._hash = entry.seq, entry.hash
        self._size = size

    def _catch_up_head(self) -> None:
        """A crash between the line's fsync and the head write leaves the head one behind."""
        head = _read_head(self.head_path)
        if self._seq and (head is None or head[0] < self._seq):
            self._write_head()

    def _write_head(self) -> None:
        """Overwrite the head in place: one 128-byte write (within a disk sector), no new file."""
        data = canonical({"seq": self._seq, "hash": self._hash}).ljust(HEAD_BYTES - 1) + b"\n"
        fd = os.open(self.head_path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
        try:
            os.pwrite(fd, data, 0)
            durability.sync_file(self.head_path, fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------ public API
    def append(
        self, inquiry_id: str | None, actor: str, action: str, detail: Mapping[str, Any], at: datetime
    ) -> Entry:
        """Append one entry and return it once it is on disk (fsynced)."""
        clean = check_detail(actor, detail)
        if not action or len(action) > 40 or "@" in action:
            raise AuditError(f"audit action {action!r} is not a short code")
        if inquiry_id is not None and ("@" in inquiry_id or len(inquiry_id) > 40):
            raise AuditError("audit inquiry_id must be an id")
        with self._lock, open(self.path, "a+b", opener=private_opener) as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                self._sync_from(fh)
                body = _body(self._seq + 1, at, inquiry_id, actor, action, clean, self._hash)
                digest = entry_hash(body)
                line = canonical({**body, "hash": digest}) + b"\n"
                fh.seek(0, os.SEEK_END)
                fh.write(line)
                fh.flush()
                durability.sync_file(self.path, fh.fileno())  # now, or at the group commit
                self._seq, self._hash = body["seq"], digest
                self._size = fh.tell()
                self._write_head()
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return _entry_from_json({**body, "hash": digest})

    def entries(self) -> Iterator[Entry]:
        """Every readable entry in file order (unreadable lines are skipped; see verify)."""
        for _, raw in _lines(self.path):
            try:
                yield _entry_from_json(json.loads(raw))
            except (ValueError, KeyError, TypeError):
                continue

    def history(self, inquiry_id: str) -> list[Entry]:
        return [e for e in self.entries() if e.inquiry_id == inquiry_id]

    def record(self, inquiry_id: str, event: Event) -> None:
        """An event recorded on an inquiry (the store's :class:`bot.desk.ports.AuditSink`)."""
        self.append(inquiry_id, _event_actor(event.actor), event.action, _event_detail(event), event.at)

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry (0 and the genesis hash when empty)."""
        with self._lock, open(self.path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
            try:
                self._sync_from(fh)
                return self._seq, self._hash
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def verify(self, anchors: Iterable[tuple[int, str]] = ()) -> VerifyResult:
        """Check every hash, the chain and the head checkpoint; read-only (see verify_files)."""
        return verify_files(self.path, anchors=anchors)


def read_entries(path: Path) -> list[Entry]:
    """Every readable entry of the log at ``path``, without opening it for writing."""
    out = []
    for _, raw in _lines(path):
        try:
            out.append(_entry_from_json(json.loads(raw)))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def head_path_of(path: Path) -> Path:
    return path.with_name(path.stem + ".head")


def verify_files(path: Path, *, anchors: Iterable[tuple[int, str]] = ()) -> VerifyResult:
    """Check every hash, the chain, the head checkpoint and witnessed anchors; list each
    problem found. Only reads: the log's size and its head are taken together under a
    shared ``flock`` (appends hold it exclusively), then the lines up to that size are
    checked without holding it, so a running bot is never kept waiting."""
    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return VerifyResult(ok=False, count=0, problems=[f"the audit log {path.name} is missing"])
    head_path = head_path_of(path)
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        try:
            size = os.fstat(fh.fileno()).st_size
            head = _read_head(head_path)
            head_unreadable = head is None and head_path.exists()
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return _verify_open(_upto(fh, size), head, head_unreadable, head_path.name, list(anchors))


def _upto(fh: BinaryIO, size: int) -> Iterator[bytes]:
    """The file's lines within its first ``size`` bytes (later appends are not looked at)."""
    done = 0
    for raw in fh:
        if done >= size:
            return
        yield raw[: size - done]
        done += len(raw)


def _verify_open(
    lines: Iterable[bytes],
    head: tuple[int, str] | None,
    head_unreadable: bool,
    head_name: str,
    anchors: list[tuple[int, str]],
) -> VerifyResult:
    problems: list[str] = []
    notes: list[str] = []
    witnessed = dict(anchors)
    seen_anchor: set[int] = set()
    prev_seq, prev_hash, count = 0, GENESIS, 0
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if not raw.endswith(b"\n"):
            # A crash mid-write: never acknowledged, cut when the bot next opens the log.
            notes.append(f"line {lineno}: torn last line (a crash mid-write; cut at the next open)")
            break
        count += 1
        try:
            d = json.loads(raw)
            seq, stored_prev, stored_hash = int(d["seq"]), str(d["prev_hash"]), str(d["hash"])
            _entry_from_json(d)
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {lineno}: not a readable audit entry")
            continue
        if entry_hash(d) != stored_hash:
            problems.append(f"line {lineno} (seq {seq}): content does not match its hash (edited)")
        if seq != prev_seq + 1:
            if seq > prev_seq + 1:
                problems.append(f"line {lineno}: seq jumps from {prev_seq} to {seq} (entries deleted)")
            else:
                problems.append(
                    f"line {lineno}: seq {seq} after {prev_seq} (entries reordered or duplicated)"
                )
        elif stored_prev != prev_hash:
            problems.append(f"line {lineno} (seq {seq}): prev_hash does not match the entry before")
        if seq in witnessed:
            seen_anchor.add(seq)
            if stored_hash != witnessed[seq]:
                problems.append(
                    f"seq {seq}: hash {stored_hash[:16]}… is not the witnessed anchor "
                    f"{witnessed[seq][:16]}… (the log was rewritten)"
                )
        prev_seq, prev_hash = seq, stored_hash
    if head is not None:
        head_seq, head_hash = head
        if prev_seq < head_seq:
            problems.append(
                f"log ends at seq {prev_seq} but the head says {head_seq} (entries deleted from the end)"
            )
        elif prev_seq == head_seq and prev_hash != head_hash:
            problems.append(f"last entry (seq {prev_seq}) differs from the head checkpoint")
        elif prev_seq > head_seq + 1:
            problems.append(f"the head says {head_seq} but the log goes on to seq {prev_seq}")
    elif head_unreadable:
        problems.append("the head checkpoint is unreadable")
    elif count:
        problems.append(f"the head checkpoint {head_name} is missing (the log holds {count} entries)")
    for seq in sorted(set(witnessed) - seen_anchor):
        problems.append(
            f"the witnessed anchor seq {seq} is not in the log (it ends at seq {prev_seq}: "
            "entries deleted or the log replaced)"
        )
    return VerifyResult(
        ok=not problems, count=count, problems=problems, notes=notes, head=(prev_seq, prev_hash)
    )


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield lineno, raw


def _read_head(path: Path) -> tuple[int, str] | None:
    try:
        d = json.loads(path.read_bytes())
        return int(d["seq"]), str(d["hash"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None


def _last_newline_end(fh: BinaryIO, size: int) -> int:
    """Offset just after the last b"\\n" before ``size`` (0 when there is none)."""
    pos = size
    while pos > 0:
        step = min(65536, pos)
        fh.seek(pos - step)
        chunk = fh.read(step)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return pos - step + i + 1
        pos -= step
    return 0


def _last_line(fh: BinaryIO, size: int) -> bytes:
    """The last complete line of a file that ends with a newline (b"" when empty)."""
    if size == 0:
        return b""
    start = _last_newline_end(fh, size - 1)
    fh.seek(start)
    return fh.read(size - start).strip()


def _event_actor(actor: str) -> str:
    return actor if "@" not in actor and len(actor) <= 60 else f"ref:{ref(actor)}"


def _event_detail(e: Event) -> dict[str, str]:
    """Short codes stay readable; free text (notes, reasons naming people) is kept as a ref."""
    text = e.detail or ""
    if e.action in ("note",) or "@" in text or len(text) > 120:
        return {"ref": ref(text)} if text else {}
    return {"detail": text} if text else {}


class AuditTrail(Protocol):
    """What the desk and the records jobs use of an audit log: :class:`AuditLog` (a file under
    DATA_DIR) or :class:`bot.records.audit_pg.PgAuditLog` (PostgreSQL, ``STORE_URL``)."""

    def append(
        self, inquiry_id: str | None, actor: str, action: str, detail: Mapping[str, Any], at: datetime
    ) -> Entry: ...

    def record(self, inquiry_id: str, event: Event) -> None: ...

    def entries(self) -> Iterator[Entry]: ...

    def history(self, inquiry_id: str) -> list[Entry]: ...

    def head(self) -> tuple[int, str]: ...

    def verify(self, anchors: Iterable[tuple[int, str]] = ()) -> VerifyResult: ...
