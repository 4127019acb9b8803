"""The in-memory twin of the store: every port of :mod:`bot.desk.ports`, nothing on disk.

Same semantics as the TinyDB store (:mod:`bot.adapters.store.repo`), checked by the same
contract tests (``tests/unit/test_store_contract.py``): thread-safe behind one ``RLock``,
``transaction()`` re-entrant and without rollback (``rolls_back`` is False: a write made
before an exception stays). Small records (outbox items, drafts, key/values, reputation,
member settings) are kept as documents in named tables like TinyDB's, so erasure and export
(:meth:`rewrite_records`, :meth:`other_records`) see the same tables. Documents are copied
in and out: a caller never holds the store's own dict.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.store.locked_writes import LockedInquiryWrites
from bot.core.errors import StoreError
from bot.core.models import Inquiry
from bot.core.prefs import MemberPrefs
from bot.desk import ports
from bot.desk.ports import (
    AuditSink,
    OutboxItem,
    RecordDecision,
    Store,
    Summary,
    may_owe_ping,
    status_allows,
    summarize,
)
from bot.sla.followup import FollowupPolicy


class _Tables:
    """Named tables of documents keyed by an increasing document id (as in TinyDB)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[int, dict[str, Any]]] = {}
        self._next: dict[str, int] = {}

    def table(self, name: str) -> dict[int, dict[str, Any]]:
        return self.data.setdefault(name, {})

    def insert(self, name: str, doc: dict[str, Any]) -> int:
        doc_id = self._next.get(name, 1)
        self._next[name] = doc_id + 1
        self.table(name)[doc_id] = copy.deepcopy(doc)
        return doc_id

    def find(self, name: str, field: str, value: Any) -> tuple[int, dict[str, Any]] | None:
        for doc_id, doc in self.table(name).items():
            if doc.get(field) == value:
                return doc_id, doc
        return None


class MemoryOutbox:
    """:class:`bot.desk.ports.OutboxRepo` over the twin's ``outbox`` tables.

    One process is the only instance: a claim (:meth:`due`) holds until the item is done,
    retried or dead, and never runs out (``lease_s`` is kept for the port's sake)."""

    def __init__(self, tables: _Tables, lock: threading.RLock) -> None:
        self._t = tables
        self._lock = lock
        self.lease_s = ports.LEASE_S
        self._claimed: set[str] = set()  # keys handed out by due() and not finished since

    def _pending_id(self, key: str) -> int | None:
        found = self._t.find("outbox", "key", key)
        return found[0] if found else None

    def _done_keys(self) -> set[str]:
        return {str(d["key"]) for d in self._t.table("outbox_done").values()}

    def reload(self) -> None:
        """Nothing cached: the tables are the items."""

    def add(
        self,
        key: str,
        kind: str,
        inquiry_id: str | None,
        payload: dict[str, Any],
        now: datetime,
        *,
        once: bool = True,
        low: bool = False,
    ) -> bool:
        with self._lock:
            doc_id = self._pending_id(key)
            pending = self._t.table("outbox")
            if doc_id is not None:
                if pending[doc_id].get("low") and not low:
                    pending[doc_id]["low"] = False  # owed again at normal priority: it goes first now
                return False
            if once and key in self._done_keys():
                return False
            self._claimed.discard(key)  # a claim of an item removed since (erasure) is not this one's
            self._t.insert(
                "outbox",
                {
                    "key": key,
                    "kind": kind,
                    "inquiry_id": inquiry_id,
                    "payload": payload,
                    "attempts": 0,
                    "not_before": now.timestamp(),
                    "created": now.timestamp(),
                    "last_error": "",
                    "once": once,
                    "low": low,
                },
            )
            return True

    def due(self, cutoff: datetime, limit: int = 50) -> list[OutboxItem]:
        at = cutoff.timestamp()
        with self._lock:
            chosen = sorted(
                (bool(d.get("low")), float(d["not_before"]), doc_id)
                for doc_id, d in self._t.table("outbox").items()
                if float(d["not_before"]) <= at
            )[:limit]
            docs = [copy.deepcopy(self._t.table("outbox")[doc_id]) for _, _, doc_id in chosen]
            self._claimed.update(str(d["key"]) for d in docs)
        return [
            OutboxItem(
                key=d["key"],
                kind=d["kind"],
                inquiry_id=d.get("inquiry_id"),
                payload=dict(d.get("payload", {})),
                attempts=int(d.get("attempts", 0)),
                not_before=float(d["not_before"]),
                last_error=str(d.get("last_error", "")),
                tried=bool(d.get("tried", False)),
                low=bool(d.get("low", False)),
            )
            for d in docs
        ]

    def renew(self, keys: Sequence[str]) -> set[str]:
        with self._lock:
            pending = {str(d["key"]) for d in self._t.table("outbox").values()}
            self._claimed &= pending  # an item removed since (erasure) is nobody's
            return {k for k in keys if k in self._claimed}

    def next_due_at(self) -> float | None:
        with self._lock:
            return min((float(d["not_before"]) for d in self._t.table("outbox").values()), default=None)

    def done(self, key: str, now: datetime) -> None:
        with self._lock:
            self._claimed.discard(key)
            doc_id = self._pending_id(key)
            if doc_id is None:
                return
            doc = self._t.table("outbox").pop(doc_id)
            if bool(doc.get("once", True)):
                self._t.insert("outbox_done", {"key": key, "at": now.timestamp()})
                done = self._t.table("outbox_done")
                if len({d["key"] for d in done.values()}) > ports.DONE_KEEP:
                    old = (now - ports.DONE_TTL).timestamp()
                    for i in [i for i, d in done.items() if float(d.get("at", 0)) < old]:
                        del done[i]

    def mark_tried(self, key: str) -> None:
        with self._lock:
            doc_id = self._pending_id(key)
            if doc_id is not None:
                self._t.table("outbox")[doc_id]["tried"] = True

    def retry(self, key: str, at: datetime, error: str) -> None:
        with self._lock:
            self._claimed.discard(key)
            doc_id = self._pending_id(key)
            if doc_id is None:
                return
            doc = self._t.table("outbox")[doc_id]
            doc.update(
                {
                    "not_before": at.timestamp(),
                    "attempts": int(doc.get("attempts", 0)) + 1,
                    "last_error": error[:300],
                }
            )

    def give_up(self, key: str, now: datetime, error: str) -> None:
        with self._lock:
            self._claimed.discard(key)
            doc_id = self._pending_id(key)
            if doc_id is None:
                return
            doc = self._t.table("outbox").pop(doc_id)
            self._t.insert("outbox_dead", {**doc, "last_error": error[:300], "dead_at": now.timestamp()})

    def pending_count(self) -> int:
        with self._lock:
            return len(self._t.table("outbox"))

    def dead(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._t.table("outbox_dead").values()))


class MemoryDrafts:
    """:class:`bot.desk.ports.DraftRepo` over the twin's ``drafts`` table."""

    def __init__(self, tables: _Tables, lock: threading.RLock) -> None:
        self._t = tables
        self._lock = lock

    def add(self, doc: dict[str, Any]) -> str:
        with self._lock:
            draft_id = f"d{len(self._t.table('drafts')) + 1}"
            self._t.insert("drafts", {"id": draft_id, **doc})
            return draft_id

    def get(self, draft_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._t.find("drafts", "id", draft_id)
            return copy.deepcopy(found[1]) if found else None

    def update(self, draft_id: str, fields: dict[str, Any]) -> None:
        with self._lock:
            for doc in self._t.table("drafts").values():
                if doc.get("id") == draft_id:
                    doc.update(copy.deepcopy(fields))

    def update_if(
        self,
        draft_id: str,
        fields: dict[str, Any],
        *,
        only: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> bool:
        with self._lock:
            found = self._t.find("drafts", "id", draft_id)
            if not found or not status_allows(found[1].get("status"), only, exclude):
                return False
            found[1].update(copy.deepcopy(fields))
            return True

    def scheduled(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(d) for d in self._t.table("drafts").values() if d.get("status") == "scheduled"
            ]


class MemoryStore(LockedInquiryWrites):
    """The whole :class:`bot.desk.ports.Store`, in memory."""

    rolls_back = False

    def __init__(self, *, audit: AuditSink | None = None) -> None:
        self._lock = threading.RLock()
        self.audit = audit
        self._inquiries: dict[str, Inquiry] = {}
        self._summaries: dict[str, Summary] = {}
        self._by_message: dict[str, str] = {}
        self._by_thread: dict[tuple[str, str], str] = {}
        self._by_buyer: dict[str, str] = {}
        self._next_id = 1
        self._checkpoints: dict[str, tuple[int, int]] = {}
        self._raw: dict[str, bytes] = {}
        self._t = _Tables()
        self.outbox = MemoryOutbox(self._t, self._lock)
        self.drafts = MemoryDrafts(self._t, self._lock)

    # ------------------------------------------------------------- inquiries
    def _remember(self, inq: Inquiry) -> None:
        s = summarize(inq)
        old = self._summaries.get(inq.id)
        if old is not None and self._by_thread.get((old.buyer_addr, old.subject_key)) == inq.id:
            del self._by_thread[(old.buyer_addr, old.subject_key)]
        self._summaries[inq.id] = s
        for m in inq.messages:
            self._by_message[m.message_id] = inq.id
        if inq.subject_key and inq.buyer_addr:
            self._by_thread[(inq.buyer_addr, inq.subject_key)] = inq.id
        if s.is_inquiry and s.buyer_addr:
            latest = self._by_buyer.get(s.buyer_addr)
            if latest is None or int(latest) <= int(s.id):
                self._by_buyer[s.buyer_addr] = s.id
        self._next_id = max(self._next_id, int(inq.id) + 1)

    def _write(self, inq: Inquiry) -> None:
        if not inq.id.isdigit():
            raise StoreError(f"could not store inquiry {inq.id}: ids are decimal")
        self._inquiries[inq.id] = inq
        self._remember(inq)

    def get(self, inq_id: str) -> Inquiry | None:
        if not inq_id.isdigit():
            return None
        with self._lock:
            return self._inquiries.get(inq_id)

    def find_by_message_id(self, message_id: str) -> str | None:
        with self._lock:
            return self._by_message.get(message_id)

    def load_many(self, ids: Iterable[str]) -> list[Inquiry]:
        with self._lock:
            return [self._inquiries[i] for i in sorted(set(ids), key=int) if i in self._inquiries]

    def open_inquiries(self) -> list[Inquiry]:
        return self.load_many(s.id for s in self.summaries() if s.is_inquiry and s.open)

    def due_candidates(
        self, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
    ) -> list[Inquiry]:
        with self._lock:
            return [
                self._inquiries[i]
                for i in sorted(self._inquiries, key=int)
                if may_owe_ping(self._inquiries[i], waiting_before, answered_before, followup)
            ]

    def all_inquiries(self) -> Iterator[Inquiry]:
        with self._lock:
            everything = [self._inquiries[i] for i in sorted(self._inquiries, key=int)]
        yield from everything

    def rebuild_index(self) -> None:
        with self._lock:
            self._summaries.clear()
            self._by_message.clear()
            self._by_thread.clear()
            self._by_buyer.clear()
            for i in sorted(self._inquiries, key=int):
                self._remember(self._inquiries[i])

    # ------------------------------------------------------------------ meta
    def checkpoint(self, folder: str) -> tuple[int, int] | None:
        with self._lock:
            return self._checkpoints.get(folder)

    def save_checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self._lock:
            self._checkpoints[folder] = (int(uidvalidity), int(last_uid))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            found = self._t.find("kv", "key", key)
            return copy.deepcopy(found[1]["value"]) if found else default

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            found = self._t.find("kv", "key", key)
            if found:
                found[1]["value"] = copy.deepcopy(value)
            else:
                self._t.insert("kv", {"key": key, "value": value})

    def meta_keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            keys = [str(d.get("key", "")) for d in self._t.table("kv").values()]
        return [k for k in keys if k.startswith(prefix)]

    def _reputation_table(self, kind: str) -> str:
        if kind not in ("sender", "domain"):
            raise StoreError(f"unknown reputation kind {kind!r}")
        return f"reputation_{kind}"

    def reputation(self, kind: str, key: str) -> dict[str, Any] | None:
        if not key:
            return None
        with self._lock:
            found = self._t.find(self._reputation_table(kind), "key", key)
            return {k: copy.deepcopy(v) for k, v in found[1].items() if k != "key"} if found else None

    def set_reputation(self, kind: str, key: str, record: dict[str, Any]) -> None:
        if not key:
            return
        with self._lock:
            table = self._reputation_table(kind)
            found = self._t.find(table, "key", key)
            if found:
                found[1].update(copy.deepcopy({**record, "key": key}))
            else:
                self._t.insert(table, {**record, "key": key})

    def text_model(self) -> dict[str, Any] | None:
        with self._lock:
            doc = self._t.table("text_model").get(1)
            return copy.deepcopy(doc) if doc is not None else None

    def set_text_model(self, doc: dict[str, Any]) -> None:
        with self._lock:
            table = self._t.table("text_model")
            if 1 in table:
                table[1].update(copy.deepcopy(doc))
            else:
                self._t.insert("text_model", doc)

    def _member_doc(self, table: str, user: str) -> dict[str, Any] | None:
        found = self._t.find(table, "user", user)
        return {k: copy.deepcopy(v) for k, v in found[1].items() if k != "user"} if found else None

    def _set_member_doc(self, table: str, user: str, doc: dict[str, Any]) -> None:
        if not user:
            raise StoreError("a member document needs a user id")
        found = self._t.find(table, "user", user)
        if found:
            found[1].update(copy.deepcopy({**doc, "user": user}))
        else:
            self._t.insert(table, {**doc, "user": user})

    def member_prefs(self, user: str) -> MemberPrefs:
        with self._lock:
            return MemberPrefs.from_doc(self._member_doc("prefs", user))

    def set_member_prefs(self, user: str, prefs: MemberPrefs) -> None:
        with self._lock:
            self._set_member_doc("prefs", user, prefs.to_doc())

    def home_state(self, user: str) -> dict[str, Any]:
        with self._lock:
            return self._member_doc("home", user) or {}

    def set_home_state(self, user: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._set_member_doc("home", user, state)

    # -------------------------------------------------------------- raw mail
    @staticmethod
    def _check(content_hash: str) -> str:
        if not content_hash.isalnum():
            raise StoreError(f"bad content hash {content_hash!r}")
        return content_hash

    def save_raw(self, content_hash: str, raw: bytes) -> None:
        with self._lock:
            self._raw.setdefault(self._check(content_hash), bytes(raw))

    def load_raw(self, content_hash: str) -> bytes | None:
        with self._lock:
            return self._raw.get(self._check(content_hash))

    def has_raw(self, content_hash: str) -> bool:
        with self._lock:
            return self._check(content_hash) in self._raw

    def raw_hashes(self) -> list[str]:
        with self._lock:
            return sorted(self._raw)

    def delete_raw(self, hashes: Iterable[str]) -> int:
        with self._lock:
            return sum(self._raw.pop(self._check(h), None) is not None for h in hashes)

    def raw_label(self, content_hash: str) -> str:
        return f"mail/{content_hash[:2]}/{self._check(content_hash)}.eml"

    # --------------------------------------------------------------- records
    def other_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._lock:
            found = [
                (name, copy.deepcopy(doc))
                for name in sorted(self._t.data)
                for doc in self._t.table(name).values()
            ]
        yield from found

    def rewrite_records(self, decide: RecordDecision) -> tuple[int, int]:
        removed = replaced = 0
        with self._lock:
            for name in sorted(self._t.data):
                table = self._t.table(name)
                for doc_id in list(table):
                    record = copy.deepcopy(table[doc_id])
                    new = decide(name, record)
                    if new is None:
                        del table[doc_id]
                        removed += 1
                    elif new != table[doc_id]:
                        table[doc_id] = copy.deepcopy(new)
                        replaced += 1
        return removed, replaced

    def scrub_leftovers(self, mentions: Callable[[bytes], bool]) -> None:
        """No backup or temporary copies in memory."""

    # ------------------------------------------------------------ transactions
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return _held(self._lock)

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def close(self) -> None:
        """Nothing to release (the data stays readable until the object goes)."""


@contextlib.contextmanager
def _held(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield


if TYPE_CHECKING:  # mypy checks that the class implements the whole port
    _port: Store = MemoryStore()
