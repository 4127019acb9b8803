"""The store: TinyDB files on disk as the source of truth, indexes in memory for speed.

Layout under ``DATA_DIR/store``::

    meta.json             TinyDB: mailbox checkpoints, per-user state, counters
    outbox-NN.json        TinyDB: owed Slack deliveries (pending, done keys, dead letters),
                          spread over a few files by key so a backlog stays cheap to write
    drafts.json           TinyDB: reply drafts and scheduled sends
    learning.json         TinyDB: sender/domain reputation, the text model's counts
    members.json          TinyDB: each member's preferences and App Home state
    shards/NNNN.json      TinyDB: inquiries, one document per inquiry (doc_id = inquiry id),
                          spread over ``SHARDS`` files by id so a write rewrites ~100 docs,
                          not 100,000 (TinyDB rewrites the whole file on every write)
    index.jsonl           derived, append-only: message ids and a summary per inquiry, so
                          start-up does not parse every shard; rebuilt from shards if lost

Raw mail lives beside the store, in ``DATA_DIR/mail/ab/<sha256>.eml``.

This is the TinyDB backend of the ports in :mod:`bot.desk.ports` (:class:`TinyStore`; its
outbox and drafts are :mod:`bot.adapters.store.outbox` and :mod:`bot.adapters.store.drafts`).
Events go to the injected :class:`bot.desk.ports.AuditSink`.

Every file is written with :class:`AtomicJSONStorage` (temp file, fsync, rename), so a
crash leaves the old or the new file, never half of one. One ``RLock`` guards all access:
TinyDB is not thread-safe. Shards are loaded on demand and kept in a small LRU.

Writes happen shard first, then the index line. A crash in between leaves a shard newer
than the index; at open, shards modified after the index are re-read and re-indexed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinydb import TinyDB
from tinydb.table import Document

from bot.adapters.store import durability
from bot.adapters.store.atomic import AtomicJSONStorage, atomic_write_bytes, private_dir, private_opener
from bot.adapters.store.codec import inquiry_from_doc, inquiry_to_doc
from bot.adapters.store.drafts import TinyDrafts
from bot.adapters.store.locked_writes import LockedInquiryWrites
from bot.adapters.store.outbox import TinyOutbox
from bot.core.errors import StoreError
from bot.core.models import Inquiry
from bot.core.prefs import MemberPrefs
from bot.desk.ports import AuditSink, RecordDecision, Store, Summary, may_owe_ping, summarize
from bot.sla.followup import FollowupPolicy

log = logging.getLogger(__name__)

DEFAULT_SHARDS = 2048  # ~50 inquiries per file at 100,000: a write re-encodes ~200 kB


def _summary_to_json(s: Summary) -> dict[str, Any]:
    return {k: getattr(s, k) for k in Summary.__slots__}


def _summary_from_json(d: dict[str, Any]) -> Summary:
    values: dict[str, Any] = {k: d.get(k) for k in Summary.__slots__}
    return Summary(**values)


def _message_ids(inq: Inquiry) -> list[str]:
    return [m.message_id for m in inq.messages]


#: Meta tables that hold no personal data (left out of :meth:`TinyStore.other_records`).
KEEP_TABLES = frozenset({"counters", "folders", "mailbox"})


class TinyStore(LockedInquiryWrites):
    """The TinyDB store (:class:`bot.desk.ports.Store`). Thread-safe; every method takes one
    ``RLock``, which :meth:`transaction` holds too. No rollback: each write is durable alone."""

    rolls_back = False

    def __init__(
        self,
        data_dir: Path,
        *,
        audit: AuditSink | None = None,
        shards: int = DEFAULT_SHARDS,
        cache_shards: int = 24,
    ) -> None:
        self.root = Path(data_dir) / "store"
        self.mail_dir = Path(data_dir) / "mail"
        private_dir(self.root / "shards")
        self._lock = threading.RLock()
        # meta.json holds the mailbox checkpoint: in a group commit it is made durable last.
        self._meta = TinyDB(
            storage=AtomicJSONStorage, path=self.root / "meta.json", keep_backup=True, sync_last=True
        )
        # Busy, growing records live in their own files so a write rewrites only its kind.
        self._aux: dict[str, TinyDB] = {}
        for path in sorted(self.root.glob("*.json")):
            if path.stem not in ("meta",):
                self.aux(path.stem)
        self._reputation_index: dict[str, dict[str, int]] = {}
        self.audit = audit
        self.outbox = TinyOutbox(self.aux, self._lock)
        self.drafts = TinyDrafts(self.aux, self._lock)
        self._raw_dirs: set[Path] = set()
        counters = self._meta.table("counters")
        stored_shards = counters.get(doc_id=1)
        if stored_shards is None:
            counters.insert({"shards": shards})
            self.shards = shards
        else:
            self.shards = int(stored_shards["shards"])
        self._cache: OrderedDict[int, TinyDB] = OrderedDict()
        self._cache_size = cache_shards
        self._summaries: dict[str, Summary] = {}
        self._by_message: dict[str, str] = {}
        self._by_thread: dict[tuple[str, str], str] = {}
        self._by_buyer: dict[str, str] = {}  # buyer address -> latest inquiry id
        # Open inquiries are what the desk touches all day (clicks, SLA ticks, App Home):
        # kept parsed in memory so those never decode a shard. Closed ones stay on disk.
        self._hot: dict[str, Inquiry] = {}
        self._next_id = 1
        self._index_path = self.root / "index.jsonl"
        self._index_fh: Any = None
        self._journal_lines = 0
        self._load_index()

    # ----------------------------------------------------------------- index
    def _remember(self, inq: Inquiry) -> None:
        s = summarize(inq)
        old = self._summaries.get(inq.id)
        if old is not None and self._by_thread.get((old.buyer_addr, old.subject_key)) == inq.id:
            del self._by_thread[(old.buyer_addr, old.subject_key)]
        self._summaries[inq.id] = s
        for mid in _message_ids(inq):
            self._by_message[mid] = inq.id
        if inq.subject_key and inq.buyer_addr:
            self._by_thread[(inq.buyer_addr, inq.subject_key)] = inq.id
        self._note_buyer(s)
        self._next_id = max(self._next_id, int(inq.id) + 1)

    def _note_buyer(self, s: Summary) -> None:
        if s.is_inquiry and s.buyer_addr:
            latest = self._by_buyer.get(s.buyer_addr)
            if latest is None or int(latest) <= int(s.id):
                self._by_buyer[s.buyer_addr] = s.id

    def _apply_index_line(self, rec: dict[str, Any]) -> None:
        s = _summary_from_json(rec["s"])
        old = self._summaries.get(s.id)
        if old is not None and self._by_thread.get((old.buyer_addr, old.subject_key)) == s.id:
            del self._by_thread[(old.buyer_addr, old.subject_key)]
        self._summaries[s.id] = s
        for mid in rec.get("m", ()):
            self._by_message[mid] = s.id
        if s.subject_key and s.buyer_addr:
            self._by_thread[(s.buyer_addr, s.subject_key)] = s.id
        self._note_buyer(s)
        self._next_id = max(self._next_id, int(s.id) + 1)

    def _load_index(self) -> None:
        index_mtime = -1
        if self._index_path.exists():
            index_mtime = self._index_path.stat().st_mtime_ns
            with open(self._index_path, "rb") as fh:
                for raw_line in fh:
                    try:
                        self._apply_index_line(json.loads(raw_line))
                    except (ValueError, KeyError, TypeError):
                        # A torn last line after a crash: the shard scan below repairs it.
                        log.warning("skipping an unreadable index line")
                        continue
                    self._journal_lines += 1
        # Shards written after the index (crash between the two writes) are re-indexed.
        stale = []
        for path in (self.root / "shards").glob("*.json"):
            if path.stat().st_mtime_ns >= index_mtime - 2_000_000_000:
                stale.append(int(path.stem))
        repaired = 0
        for shard in stale:
            for inq in self._iter_shard(shard):
                known = self._summaries.get(inq.id)
                if (
                    known is None
                    or known != summarize(inq)
                    or any(self._by_message.get(m) != inq.id for m in _message_ids(inq))
                ):
                    self._remember(inq)
                    repaired += 1
        self._index_fh = open(self._index_path, "ab", opener=private_opener)  # noqa: SIM115 - lives as long as the store
        if repaired:
            log.info("re-indexed %d inquiries from %d recent shards", repaired, len(stale))
            self._rewrite_index()
        elif self._journal_lines > 2 * max(1, len(self._summaries)) + 1000:
            self._rewrite_index()

    def _rewrite_index(self) -> None:
        lines = []
        inverse: dict[str, list[str]] = {}
        for mid, inq_id in self._by_message.items():
            inverse.setdefault(inq_id, []).append(mid)
        for inq_id, s in self._summaries.items():
            lines.append(
                json.dumps({"s": _summary_to_json(s), "m": inverse.get(inq_id, [])}, ensure_ascii=False)
            )
        if self._index_fh is not None:
            self._index_fh.close()
        atomic_write_bytes(self._index_path, ("\n".join(lines) + "\n").encode() if lines else b"")
        self._index_fh = open(self._index_path, "ab", opener=private_opener)  # noqa: SIM115
        self._journal_lines = len(lines)

    def rebuild_index(self) -> None:
        """Re-derive the in-memory indexes from the shards and rewrite ``index.jsonl``.

        After an erasure (``bot.records.privacy.forget``) no old summary line may keep a person's
        address, and message ids that were replaced must stop resolving."""
        with self._lock:
            self._summaries.clear()
            self._by_message.clear()
            self._by_thread.clear()
            self._by_buyer.clear()
            self._hot.clear()
            for n in range(self.shards):
                for inq in self._iter_shard(n):
                    self._remember(inq)
            self._rewrite_index()

    def _append_index(self, inq: Inquiry) -> None:
        line = json.dumps({"s": _summary_to_json(summarize(inq)), "m": _message_ids(inq)}, ensure_ascii=False)
        self._index_fh.write(line.encode() + b"\n")
        self._index_fh.flush()
        durability.sync_file(self._index_path, self._index_fh.fileno())
        self._journal_lines += 1

    # ---------------------------------------------------------------- shards
    def _shard_of(self, inq_id: str) -> int:
        return int(inq_id) % self.shards

    def _shard(self, n: int) -> TinyDB:
        db = self._cache.get(n)
        if db is not None:
            self._cache.move_to_end(n)
            return db
        db = TinyDB(storage=AtomicJSONStorage, path=self.root / "shards" / f"{n:04d}.json")
        self._cache[n] = db
        while len(self._cache) > self._cache_size:
            _, old = self._cache.popitem(last=False)
            old.close()
        return db

    def _iter_shard(self, n: int) -> Iterator[Inquiry]:
        for doc in self._shard(n).table("inquiries").all():
            try:
                yield inquiry_from_doc(doc)
            except (KeyError, ValueError, TypeError):
                log.error("unreadable inquiry document %s in shard %d", doc.doc_id, n)

    def _keep_hot(self, inq: Inquiry) -> None:
        if inq.triage.is_inquiry and not inq.status.closed:
            self._hot[inq.id] = inq
        else:
            self._hot.pop(inq.id, None)

    def _write(self, inq: Inquiry) -> None:
        table = self._shard(self._shard_of(inq.id)).table("inquiries")
        try:
            doc = inquiry_to_doc(inq)
            if inq.id in self._summaries or table.contains(doc_id=int(inq.id)):
                table.update(doc, doc_ids=[int(inq.id)])  # every key is written: a full replace
            else:  # TinyDB's upsert of a new id writes the file twice
                table.insert(Document(doc, doc_id=int(inq.id)))
        except StoreError:
            raise
        except (OSError, TypeError, ValueError) as e:
            raise StoreError(f"could not store inquiry {inq.id}") from e
        self._remember(inq)
        self._keep_hot(inq)
        self._append_index(inq)

    # ------------------------------------------------------------- inquiries

    def get(self, inq_id: str) -> Inquiry | None:
        if not inq_id.isdigit():
            return None
        with self._lock:
            hot = self._hot.get(inq_id)
            if hot is not None:
                return hot
            doc = self._shard(self._shard_of(inq_id)).table("inquiries").get(doc_id=int(inq_id))
            if doc is None:
                return None
            inq = inquiry_from_doc(dict(doc))
            self._keep_hot(inq)
            return inq

    def find_by_message_id(self, message_id: str) -> str | None:
        with self._lock:
            inq_id = self._by_message.get(message_id)
            if inq_id is not None and self.get(inq_id) is None:
                return None  # index pointed at a write that never reached its shard
            return inq_id

    def load_many(self, ids: Iterable[str]) -> list[Inquiry]:
        out = []
        with self._lock:
            for inq_id in sorted(ids, key=lambda i: (int(i) % self.shards, int(i))):
                inq = self.get(inq_id)
                if inq is not None:
                    out.append(inq)
        return out

    def open_inquiries(self) -> list[Inquiry]:
        """Every inquiry (not filtered mail) that is not won, lost or closed."""
        ids = [s.id for s in self.summaries() if s.is_inquiry and s.open]
        return self.load_many(ids)

    def due_candidates(
        self, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
    ) -> list[Inquiry]:
        """Open inquiries whose summary times fit :func:`may_owe_ping`, loaded (from the hot set
        when there) and then checked whole (the breach record lives in the document)."""
        waiting, answered = waiting_before.timestamp(), answered_before.timestamp()
        ids = [
            s.id
            for s in self.summaries()
            if s.is_inquiry
            and s.open
            and (
                s.sla_started_at <= waiting
                if s.sla_started_at is not None
                else s.answered_at is not None and s.answered_at <= answered
            )
        ]
        return [
            inq
            for inq in sorted(self.load_many(ids), key=lambda i: int(i.id))
            if may_owe_ping(inq, waiting_before, answered_before, followup)
        ]

    def all_inquiries(self) -> Iterator[Inquiry]:
        for n in range(self.shards):
            with self._lock:
                batch = list(self._iter_shard(n))
            yield from batch

    # --------------------------------------------------------------- mailbox
    def checkpoint(self, folder: str) -> tuple[int, int] | None:
        with self._lock:
            doc = self._meta.table("mailbox").get(doc_id=self._folder_key(folder))
            if doc is None:
                return None
            return int(doc["uidvalidity"]), int(doc["last_uid"])

    def save_checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self._lock:
            self._meta.table("mailbox").upsert(
                Document(
                    {"folder": folder, "uidvalidity": uidvalidity, "last_uid": last_uid},
                    doc_id=self._folder_key(folder),
                )
            )

    def _folder_key(self, folder: str) -> int:
        table = self._meta.table("folders")
        for doc in table.all():
            if doc["name"] == folder:
                return int(doc["key"])
        key = len(table) + 1
        table.insert({"name": folder, "key": key})
        return key

    # -------------------------------------------------------- key/value meta
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            for doc in self._meta.table("kv").search(_key_is(key)):
                return doc["value"]
            return default

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            table = self._meta.table("kv")
            existing = table.search(_key_is(key))
            if existing:
                table.update({"value": value}, doc_ids=[existing[0].doc_id])
            else:
                table.insert({"key": key, "value": value})

    # ------------------------------------------------------------ learning
    # What the team's clicks taught the desk (issue #12): one document per sender address or
    # company domain in ``learning.json`` (so an erasure removes a person's record and nothing
    # else), and the text model's counts as one document.

    def _reputation_table(self, kind: str) -> Any:
        if kind not in ("sender", "domain"):
            raise StoreError(f"unknown reputation kind {kind!r}")
        return self.aux("learning").table(f"reputation_{kind}")

    def reputation(self, kind: str, key: str) -> dict[str, Any] | None:
        """The stored reputation record of one ``sender`` address or ``domain``, if any."""
        if not key:
            return None
        with self._lock:
            doc = self._reputation_doc(kind, key)
            return {k: v for k, v in doc.items() if k != "key"} if doc is not None else None

    def _reputation_doc(self, kind: str, key: str) -> Document | None:
        table = self._reputation_table(kind)
        index = self._reputation_index.get(kind)
        if index is not None:
            doc_id = index.get(key)
            doc = table.get(doc_id=doc_id) if doc_id is not None else None
            if isinstance(doc, Document) and doc.get("key") == key:
                return doc
            if doc_id is None and len(index) == len(table):
                return None
        # First use, or the table changed behind the index (an erasure): rebuild it.
        index = {str(d.get("key")): d.doc_id for d in table.all()}
        self._reputation_index[kind] = index
        doc_id = index.get(key)
        found = table.get(doc_id=doc_id) if doc_id is not None else None
        return found if isinstance(found, Document) else None

    def set_reputation(self, kind: str, key: str, record: dict[str, Any]) -> None:
        if not key:
            return
        with self._lock:
            table = self._reputation_table(kind)
            doc = self._reputation_doc(kind, key)
            if doc is not None:
                table.update({**record, "key": key}, doc_ids=[doc.doc_id])
            else:
                doc_id = table.insert({**record, "key": key})
                index = self._reputation_index.get(kind)
                if index is not None:
                    index[key] = doc_id

    def text_model(self) -> dict[str, Any] | None:
        """The text model's stored counts (see :mod:`bot.triage.textmodel`), if any."""
        with self._lock:
            doc = self.aux("learning").table("text_model").get(doc_id=1)
            return dict(doc) if doc is not None else None

    def set_text_model(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self.aux("learning").table("text_model").upsert(Document(doc, doc_id=1))

    # -------------------------------------------------------------- members
    # What each member set in the App Home (issue #16): preferences and the Home's last filter
    # and page, one document per Slack user id in ``members.json``.

    def _member_doc(self, table: str, user: str) -> dict[str, Any] | None:
        from tinydb import where

        docs = self.aux("members").table(table).search(where("user") == user)
        return {k: v for k, v in docs[0].items() if k != "user"} if docs else None

    def _set_member_doc(self, table: str, user: str, doc: dict[str, Any]) -> None:
        from tinydb import where

        if not user:
            raise StoreError("a member document needs a user id")
        self.aux("members").table(table).upsert({**doc, "user": user}, where("user") == user)

    def member_prefs(self, user: str) -> MemberPrefs:
        """The member's preferences (the team defaults when they never set any)."""
        with self._lock:
            return MemberPrefs.from_doc(self._member_doc("prefs", user))

    def set_member_prefs(self, user: str, prefs: MemberPrefs) -> None:
        with self._lock:
            self._set_member_doc("prefs", user, prefs.to_doc())

    def home_state(self, user: str) -> dict[str, Any]:
        """The member's last App Home filter and page (``{}`` when never changed)."""
        with self._lock:
            return self._member_doc("home", user) or {}

    def set_home_state(self, user: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._set_member_doc("home", user, state)

    def meta_keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [
                str(d["key"])
                for d in self._meta.table("kv").all()
                if str(d.get("key", "")).startswith(prefix)
            ]

    # ------------------------------------------------------------- raw mail
    def _raw_path(self, content_hash: str) -> Path:
        if not content_hash.isalnum():
            raise StoreError(f"bad content hash {content_hash!r}")
        return self.mail_dir / content_hash[:2] / f"{content_hash}.eml"

    def save_raw(self, content_hash: str, raw: bytes) -> None:
        path = self._raw_path(content_hash)
        if path.exists():  # content-addressed: the copy kept is these bytes
            return
        if path.parent not in self._raw_dirs:
            private_dir(path.parent)
            self._raw_dirs.add(path.parent)
        atomic_write_bytes(path, raw)

    def load_raw(self, content_hash: str) -> bytes | None:
        try:
            return self._raw_path(content_hash).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def has_raw(self, content_hash: str) -> bool:
        return self._raw_path(content_hash).is_file()

    def raw_hashes(self) -> list[str]:
        if not self.mail_dir.is_dir():
            return []
        return sorted(p.stem for p in self.mail_dir.glob("*/*.eml") if p.is_file())

    def delete_raw(self, hashes: Iterable[str]) -> int:
        n = 0
        for content_hash in hashes:
            with contextlib.suppress(FileNotFoundError):
                self._raw_path(content_hash).unlink()
                n += 1
        return n

    def raw_label(self, content_hash: str) -> str:
        return str(self._raw_path(content_hash).relative_to(self.mail_dir.parent))

    # -------------------------------------------------------------- records
    def _databases(self) -> dict[str, TinyDB]:
        return {"meta": self._meta, **self._aux}

    def other_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._lock:
            found = [
                (name, dict(doc))
                for db in self._databases().values()
                for name in sorted(db.tables())
                if name not in KEEP_TABLES
                for doc in db.table(name).all()
            ]
        yield from found

    def rewrite_records(self, decide: RecordDecision) -> tuple[int, int]:
        removed = replaced = 0
        with self._lock:
            try:
                for db in self._databases().values():
                    for name in sorted(db.tables()):
                        if name in KEEP_TABLES:
                            continue
                        table = db.table(name)
                        doomed = []
                        for doc in table.all():
                            record = dict(doc)
                            new = decide(name, record)
                            if new is None:
                                doomed.append(doc.doc_id)
                            elif new != record:
                                table.update(new, doc_ids=[doc.doc_id])
                                replaced += 1
                        if doomed:
                            table.remove(doc_ids=doomed)
                            removed += len(doomed)
            finally:  # the key indexes are rebuilt from the tables
                self.outbox.reload()
                self._reputation_index.clear()
        return removed, replaced

    def scrub_leftovers(self, mentions: Callable[[bytes], bool]) -> None:
        """``*.bak`` get the current file's content; ``*.tmp`` leftovers are removed."""
        with self._lock:
            for path in sorted(self.root.rglob("*")):
                if not path.is_file() or path.suffix not in (".bak", ".tmp"):
                    continue
                try:
                    raw = path.read_bytes()
                except OSError:
                    continue
                if not mentions(raw):
                    continue
                main = path.with_suffix("")
                if path.suffix == ".bak" and main.is_file():
                    atomic_write_bytes(path, main.read_bytes())
                else:
                    path.unlink()

    # ---------------------------------------------------------------- files
    def aux(self, name: str) -> TinyDB:
        """An auxiliary database ``DATA_DIR/store/<name>.json`` (``drafts``, ``outbox-03``, …),
        opened on first use; callers hold the lock."""
        db = self._aux.get(name)
        if db is None:
            if not name.replace("-", "").isalnum():
                raise StoreError(f"bad database name {name!r}")
            db = TinyDB(storage=AtomicJSONStorage, path=self.root / f"{name}.json", keep_backup=True)
            self._aux[name] = db
        return db

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Group commit around many writes (see :mod:`bot.adapters.store.durability`)."""
        return durability.group_commit()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's lock (re-entrant); writes stay written if an exception leaves it."""
        return _held(self._lock)

    def close(self) -> None:
        with self._lock:
            for db in self._cache.values():
                db.close()
            self._cache.clear()
            self._meta.close()
            for db in self._aux.values():
                db.close()
            if self._index_fh is not None:
                self._index_fh.close()
                self._index_fh = None


def _key_is(key: str) -> Any:
    from tinydb import where

    return where("key") == key


@contextlib.contextmanager
def _held(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield


if TYPE_CHECKING:  # mypy checks that the class implements the whole port
    _port: Store = TinyStore(Path("."))
