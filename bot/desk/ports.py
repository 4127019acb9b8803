"""The desk's ports: what the desk needs of the world, as small ``typing.Protocol`` classes.

The store (inquiries, outbox, drafts, meta, raw mail, records, audit sink), chat (Slack),
coordination between instances, and mail out. The desk, the records jobs and the tests depend
on what a store does, not on one. Store backends: :mod:`bot.adapters.store.repo` (TinyDB files,
the default), :mod:`bot.adapters.store.postgres` (several instances) and
:mod:`bot.adapters.store.memory` (the in-memory twin); all three pass the same contract tests
(``tests/unit/test_store_contract.py``), and a new backend passes them too.

Transactions (:meth:`Store.transaction`): re-entrant (a nested ``transaction()`` joins the
outer one); while one thread is inside, no other thread's transaction or store write
interleaves, so a read-then-write sequence sees no one else's change. Every single port
method is atomic by itself (a failed write leaves nothing half written). An exception leaving
the outermost ``transaction()`` keeps the writes made before it on a store whose
``rolls_back`` is False (TinyDB, memory: each write is durable on its own) and discards them
on one whose ``rolls_back`` is True (a SQL database); desk code must be right with either.

The value types the ports exchange (:class:`Summary`, :class:`OutboxItem`) live here too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from bot.core.models import Event, Inquiry, Status
from bot.core.prefs import MemberPrefs
from bot.sla.engine import breach_key
from bot.sla.followup import FollowupPolicy, followup_tier, last_reminder, sent_index

# =========================================================================== values


@dataclass(slots=True)
class Summary:
    """What a store keeps at hand per inquiry (small: 100,000 of them fit easily)."""

    id: str
    status: str
    owner: str | None
    is_inquiry: bool
    created_at: float
    sla_started_at: float | None
    answered_at: float | None
    buyer_addr: str
    subject_key: str
    subject: str
    market: str
    tier: str | None

    @property
    def open(self) -> bool:
        return self.status not in (Status.WON.value, Status.LOST.value, Status.NOT_INQUIRY.value)


def status_allows(status: Any, only: Sequence[str] | None, exclude: Sequence[str]) -> bool:
    """The condition of :meth:`DraftRepo.update_if` on a draft's ``status``."""
    current = str(status or "")
    return (only is None or current in only) and current not in exclude


def domain_of(addr: str) -> str:
    """The lower-cased domain of an address (after the last ``@``), "" without one."""
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def summarize(inq: Inquiry) -> Summary:
    """The summary of one inquiry (what :meth:`InquiryRepo.summaries` returns for it)."""
    return Summary(
        id=inq.id,
        status=inq.status.value,
        owner=inq.owner,
        is_inquiry=inq.triage.is_inquiry,
        created_at=inq.created_at.timestamp(),
        sla_started_at=_ts(inq.sla_started_at),
        answered_at=_ts(inq.answered_at),
        buyer_addr=inq.buyer_addr,
        subject_key=inq.subject_key,
        subject=inq.subject[:160],
        market=inq.triage.market.value,
        tier=inq.tier.value if inq.tier else None,
    )


def sla_settled(inq: Inquiry) -> bool:
    """True when the current SLA cycle's breach is recorded in ``pings_sent``: the cycle owes
    no SLA ping any more (what :meth:`InquiryRepo.due_candidates` leaves out)."""
    key = breach_key(inq)
    return key is not None and key in inq.pings_sent


def followups_left(inq: Inquiry, policy: FollowupPolicy) -> bool:
    """True unless the current follow-up cycle's last reminder is recorded in ``pings_sent``."""
    last = last_reminder(followup_tier(inq, policy), policy)
    return last is None or sent_index(inq) < last


def may_owe_ping(
    inq: Inquiry, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
) -> bool:
    """The rule of :meth:`InquiryRepo.due_candidates` for one inquiry (every backend answers it).

    An open inquiry (not filtered mail, not won/lost) is a candidate when a buyer message waits
    since ``waiting_before`` or earlier and that cycle's breach is not recorded yet, or when no
    buyer message waits, our answer was at ``answered_before`` or earlier and the cycle's last
    follow-up reminder is not recorded yet. The caller picks the two times; the SLA engine
    decides exactly which of the candidates owe a ping.
    """
    s = summarize(inq)
    if not (s.is_inquiry and s.open):
        return False
    if inq.sla_started_at is not None:
        return inq.sla_started_at <= waiting_before and not sla_settled(inq)
    return (
        inq.answered_at is not None and inq.answered_at <= answered_before and followups_left(inq, followup)
    )


#: The orders :class:`OpenQuery` offers (each ends with the id, so a page never shifts):
#: ``id``; ``waiting``: the longest-waiting buyer message first (``sla_started_at``, id);
#: ``created``: oldest first (``created_at``, id); ``newest``: newest first (``created_at``
#: descending, then id ascending, as ``/inquiries`` lists).
OPEN_ORDERS = ("id", "waiting", "created", "newest")


@dataclass(frozen=True)
class OpenQuery:
    """Which open inquiries (not filtered mail, not won, lost or closed) a read asks for.

    Every condition set narrows the read; ``None``/False leaves it out. ``order``, ``offset``
    and ``limit`` page through the rows (:meth:`InquiryRepo.count_open` ignores them). A desk
    view asks only for what it shows; the SLA maths (:mod:`bot.sla`) then decides among the
    rows, e.g. which of the ``waiting_before`` candidates are breached.
    """

    owner: str | None = None  # only this member's
    unclaimed: bool = False  # only those nobody owns
    waiting: bool | None = None  # True: a buyer message waits (the SLA clock runs); False: none
    waiting_before: datetime | None = None  # only those waiting since this time or earlier
    market: str | None = None  # a Market value
    tier: str | None = None  # the inquiry's tier, else its triage's (a Tier value)
    backlog: bool = False  # only mail of a backlog summary that has no card yet
    order: str = "id"  # one of OPEN_ORDERS
    offset: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.order not in OPEN_ORDERS:
            raise ValueError(f"unknown order {self.order!r} (known: {', '.join(OPEN_ORDERS)})")
        if self.offset < 0 or (self.limit is not None and self.limit < 0):
            raise ValueError("offset and limit must not be negative")


def open_matches(inq: Inquiry, q: OpenQuery) -> bool:
    """The rule of :meth:`InquiryRepo.open_where` for one inquiry (every backend answers it)."""
    if not inq.triage.is_inquiry or inq.status.closed:
        return False
    if q.owner is not None and inq.owner != q.owner:
        return False
    if q.unclaimed and inq.owner is not None:
        return False
    start = inq.sla_started_at
    if q.waiting is not None and (start is not None) != q.waiting:
        return False
    if q.waiting_before is not None and (start is None or start > q.waiting_before):
        return False
    if q.market is not None and inq.triage.market.value != q.market:
        return False
    tier = inq.tier or inq.triage.tier
    if q.tier is not None and (tier.value if tier else None) != q.tier:
        return False
    return not (q.backlog and not (inq.extra.get("backlog") and not inq.card_ts))


def open_order_key(order: str) -> Callable[[Inquiry], tuple[float, ...]]:
    """The sort key of an :data:`OPEN_ORDERS` order (ids are decimal strings)."""
    if order == "waiting":
        return lambda i: (i.sla_started_at.timestamp() if i.sla_started_at else 0.0, int(i.id))
    if order == "created":
        return lambda i: (i.created_at.timestamp(), int(i.id))
    if order == "newest":
        return lambda i: (-i.created_at.timestamp(), int(i.id))
    return lambda i: (int(i.id),)


def select_open(inquiries: Iterable[Inquiry], q: OpenQuery) -> list[Inquiry]:
    """:meth:`InquiryRepo.open_where` over inquiries at hand: match, order, page."""
    rows = sorted((i for i in inquiries if open_matches(i, q)), key=open_order_key(q.order))
    return rows[q.offset : None if q.limit is None else q.offset + q.limit]


def count_by_owner(inquiries: Iterable[Inquiry], q: OpenQuery) -> dict[str | None, int]:
    """:meth:`InquiryRepo.count_open` over inquiries at hand."""
    out: dict[str | None, int] = {}
    for i in inquiries:
        if open_matches(i, q):
            out[i.owner] = out.get(i.owner, 0) + 1
    return out


@dataclass(frozen=True)
class OutboxItem:
    """One owed Slack side effect (see :mod:`bot.desk.outbox`)."""

    key: str
    kind: str
    inquiry_id: str | None
    payload: dict[str, Any]
    attempts: int
    not_before: float
    last_error: str = ""
    tried: bool = False  # a post was attempted: it may have reached Slack before a crash
    low: bool = False  # low priority (a backlog card): normal items due first


#: Done keys of ``once`` outbox items are remembered at least this long …
DONE_TTL = timedelta(days=14)
#: … and forgotten past it only once a backend holds this many.
DONE_KEEP = 20000
#: How long an outbox item claimed by :meth:`OutboxRepo.due` stays hidden from other instances
#: unless its holder renews the lease (:meth:`OutboxRepo.renew`).
LEASE_S = 30.0

#: A store record decision for :meth:`Records.rewrite_records`: ``None`` removes the
#: record, the same dict keeps it, a different dict replaces it.
RecordDecision = Callable[[str, dict[str, Any]], dict[str, Any] | None]

# ============================================================================ ports


class AuditSink(Protocol):
    """Where a store sends every event recorded on an inquiry (the hash-chained audit log,
    :class:`bot.records.audit.AuditLog`). Injected into the store, which never imports it."""

    def record(self, inquiry_id: str, event: Event) -> None: ...


class InquiryRepo(Protocol):
    """Inquiries: one record per inquiry (or filtered mail), ids are decimal strings."""

    def next_id(self) -> str:
        """A fresh id, never handed out before (also not after a restart once used)."""
        ...

    def add(self, inq: Inquiry) -> Inquiry:
        """Store a new inquiry; its events go to the audit sink."""
        ...

    def get(self, inq_id: str) -> Inquiry | None: ...

    def require(self, inq_id: str) -> Inquiry:
        """The inquiry; :class:`bot.core.errors.NotFound` when there is none."""
        ...

    def update(self, inq_id: str, change: Callable[[Inquiry], Inquiry]) -> Inquiry:
        """Read-modify-write, atomic; ``change`` may raise to abort (nothing written). Events
        appended by ``change`` go to the audit sink. Returns the stored inquiry."""
        ...

    def set_fields(self, inq_id: str, **fields: Any) -> Inquiry: ...

    def find_by_message_id(self, message_id: str) -> str | None: ...

    def find_thread(self, buyer_addr: str, subject_key: str) -> str | None:
        """The latest inquiry stored with this buyer and subject key."""
        ...

    def latest_of_buyer(self, buyer_addr: str) -> str | None:
        """The newest inquiry (not filtered mail) from this buyer, if any."""
        ...

    def latest_inquiry_of_buyer(self, buyer_addr: str) -> Inquiry | None:
        """``get(latest_of_buyer(buyer_addr))`` in one look-up (the ingest asks it per mail)."""
        ...

    def summaries(self) -> list[Summary]: ...

    def buyer_domains(self) -> set[str]:
        """The distinct domains (lower case, after the last ``@``) of the buyers of every
        inquiry (not filtered mail). Answered from an index, never by loading every inquiry:
        start-up asks it (the trust checks' known buyers)."""
        ...

    def count(self) -> int: ...

    def load_many(self, ids: Iterable[str]) -> list[Inquiry]:
        """Those that exist, in an order the backend finds cheap."""
        ...

    def open_inquiries(self) -> list[Inquiry]:
        """Every inquiry (not filtered mail) that is not won, lost or closed: every document
        (the demo, checks). The desk's views ask :meth:`open_where` for the rows they show."""
        ...

    def all_inquiries(self) -> Iterator[Inquiry]: ...

    def due_candidates(
        self, waiting_before: datetime, answered_before: datetime, followup: FollowupPolicy
    ) -> list[Inquiry]:
        """The open inquiries that may owe an SLA or follow-up ping (:func:`may_owe_ping`), by
        id: the SLA tick's read. Every inquiry the rule selects is returned, never fewer (a
        backend may return more, the engine decides). Answered from an index or a hot set,
        never by loading every open inquiry's document."""
        ...

    def open_where(self, q: OpenQuery) -> list[Inquiry]:
        """The open inquiries :func:`open_matches` selects, in ``q.order``, ``q.offset`` rows
        skipped and at most ``q.limit`` returned: the reads of the App Home, the digests and
        ``/inquiries``. Answered from indexes (or the in-process stores' hot set): the rows
        returned are the rows read, never every open inquiry's document."""
        ...

    def count_open(self, q: OpenQuery) -> dict[str | None, int]:
        """How many open inquiries :func:`open_matches` selects, by owner (``None``: nobody's;
        owners with none are left out). Counted by the backend, no document loaded where the
        conditions are columns (owner, waiting, market)."""
        ...

    def rebuild_index(self) -> None:
        """Re-derive every look-up (message ids, threads, buyers, summaries) from the stored
        inquiries: after an erasure no old address or message id may still resolve."""
        ...


class OutboxRepo(Protocol):
    """The persistence of owed Slack deliveries, by key (:mod:`bot.desk.outbox` is the service).

    A key is pending, done or dead. Done keys of ``once`` items are remembered at least
    ``DONE_TTL`` (14 days); a backend may forget older ones once it holds ``DONE_KEEP`` of them."""

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
        """Record a pending item due at ``now``; False (nothing stored) when the key is pending,
        or done and ``once``. A pending low item owed again at normal priority (``low`` False)
        becomes normal (and the call still returns False)."""
        ...

    #: Seconds a claim (:meth:`due`) or a renewal (:meth:`renew`) holds an item.
    lease_s: float

    def due(self, cutoff: datetime, limit: int = 50) -> list[OutboxItem]:
        """Pending items due at ``cutoff``: normal before low, then by due time. Claims them for
        this instance (held until done, retried, dead, or ``lease_s`` without a renewal)."""
        ...

    def renew(self, keys: Sequence[str]) -> set[str]:
        """Extend the lease of ``keys`` this instance still holds (claimed by :meth:`due`, still
        pending, not retried or taken by another instance since) to ``lease_s`` from now; returns
        those keys. A key not returned must not be delivered by this instance."""
        ...

    def next_due_at(self) -> float | None:
        """The earliest due time (epoch seconds) of a pending item."""
        ...

    def done(self, key: str, now: datetime) -> None:
        """Delivered: no longer pending; remembered as done when it was added ``once``."""
        ...

    def mark_tried(self, key: str) -> None: ...

    def retry(self, key: str, at: datetime, error: str) -> None:
        """Due again at ``at``, one more attempt counted, the error kept (first 300 chars)."""
        ...

    def give_up(self, key: str, now: datetime, error: str) -> None:
        """Never deliverable: moved to the dead letters (:meth:`dead`)."""
        ...

    def pending_count(self) -> int: ...

    def dead(self) -> list[dict[str, Any]]: ...

    def reload(self) -> None:
        """Drop whatever is cached and read the items back from storage (as after a restart)."""
        ...


class DraftRepo(Protocol):
    """Reply drafts and scheduled sends, as plain documents with an ``id`` (``d1``, ``d2``…)."""

    def add(self, doc: dict[str, Any]) -> str:
        """Store a new draft (``doc`` without ``id``); returns its new id."""
        ...

    def get(self, draft_id: str) -> dict[str, Any] | None: ...

    def update(self, draft_id: str, fields: dict[str, Any]) -> None:
        """Set those fields of the draft (nothing when there is no such draft)."""
        ...

    def scheduled(self) -> list[dict[str, Any]]:
        """Every draft whose ``status`` is ``scheduled``."""
        ...

    def update_if(
        self,
        draft_id: str,
        fields: dict[str, Any],
        *,
        only: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> bool:
        """Set those fields only when the draft's ``status`` is one of ``only`` (any when None)
        and none of ``exclude``, atomically across instances; True when it did (False also
        when there is no such draft). Of two callers racing on one draft, one gets True: a
        send claims its draft this way (``status`` to ``sending``), so it goes out once."""
        ...


class MetaRepo(Protocol):
    """Small state: mailbox checkpoints, key/values, what the desk learned, member settings."""

    def checkpoint(self, folder: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID) of a mailbox folder."""
        ...

    def save_checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> None: ...

    def get_meta(self, key: str, default: Any = None) -> Any: ...

    def set_meta(self, key: str, value: Any) -> None:
        """``value``: JSON-ready (str, number, bool, None, list, dict)."""
        ...

    def meta_keys(self, prefix: str = "") -> list[str]:
        """Every key/value key starting with ``prefix``."""
        ...

    def reputation(self, kind: str, key: str) -> dict[str, Any] | None:
        """The record of one ``sender`` address or ``domain``; other kinds raise StoreError."""
        ...

    def set_reputation(self, kind: str, key: str, record: dict[str, Any]) -> None: ...

    def text_model(self) -> dict[str, Any] | None: ...

    def set_text_model(self, doc: dict[str, Any]) -> None: ...

    def member_prefs(self, user: str) -> MemberPrefs: ...

    def set_member_prefs(self, user: str, prefs: MemberPrefs) -> None: ...

    def home_state(self, user: str) -> dict[str, Any]: ...

    def set_home_state(self, user: str, state: dict[str, Any]) -> None: ...


class RawMail(Protocol):
    """The raw bytes of received messages, by content hash (sha256 hex of the bytes)."""

    def save_raw(self, content_hash: str, raw: bytes) -> None:
        """Keep ``raw`` under its hash; a hash kept already changes nothing (content-addressed)."""
        ...

    def load_raw(self, content_hash: str) -> bytes | None: ...

    def has_raw(self, content_hash: str) -> bool: ...

    def raw_hashes(self) -> list[str]:
        """Every stored hash, sorted."""
        ...

    def delete_raw(self, hashes: Iterable[str]) -> int:
        """Delete those; returns how many existed."""
        ...

    def raw_label(self, content_hash: str) -> str:
        """Where it is, for a person reading an export (``mail/ab/<hash>.eml``)."""
        ...


class Records(Protocol):
    """Every small record a store holds besides inquiries (outbox items, drafts, key/values,
    reputation, member settings), for erasure and subject export (:mod:`bot.records.privacy`)."""

    def other_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, record) pairs; tables named as in TinyDB (``outbox``, ``outbox_done``,
        ``outbox_dead``, ``drafts``, ``kv``, ``reputation_sender`` …). Checkpoints, folders and
        counters (no personal data) are left out."""
        ...

    def rewrite_records(self, decide: RecordDecision) -> tuple[int, int]:
        """Apply ``decide`` to every record of :meth:`other_records`; returns (removed, replaced)."""
        ...

    def scrub_leftovers(self, mentions: Callable[[bytes], bool]) -> None:
        """Backup or temporary copies the backend keeps (TinyDB's ``*.bak``/``*.tmp``) that
        ``mentions`` flags are refreshed from the live data or removed."""
        ...


class Store(InquiryRepo, MetaRepo, RawMail, Records, Protocol):
    """A whole store: the parts above plus the outbox and drafts, transactions and closing."""

    #: True when an exception leaving the outermost transaction() discards its writes.
    rolls_back: bool

    @property
    def outbox(self) -> OutboxRepo: ...

    @property
    def drafts(self) -> DraftRepo: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """See the module docstring: re-entrant, isolated; commits on normal exit."""
        ...

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Many writes made durable together (TinyDB's group commit); may be a no-op."""
        ...

    def close(self) -> None: ...


# ============================================================================= chat

#: Slack Block Kit blocks, as the Web API takes them.
Blocks = list[dict[str, Any]]


class Chat(Protocol):
    """What the bot needs from Slack. Adapter: :mod:`bot.adapters.slack.chat` (slack_sdk
    ``WebClient``); tests run the same adapter against a loopback fake Web API."""

    def post(
        self,
        channel: str,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        card_of: str | None = None,
        tag: str | None = None,
    ) -> str:
        """Post a message; return its ts. ``card_of`` tags it (message metadata) as the card
        of that inquiry, so :meth:`find_card` can find it after a crash; ``tag`` does the
        same for a thread reply (the outbox key), for :meth:`find_reply`."""
        ...

    def find_reply(self, channel: str, thread_ts: str | None, tag: str) -> str | None:
        """The ts of a message tagged ``tag`` in that thread (or, with no thread, among the
        channel's recent messages), if one was posted."""
        ...

    def dm_channel(self, user: str) -> str:
        """The id of the direct-message channel with ``user``."""
        ...

    def find_card(self, channel: str, inquiry_id: str) -> str | None:
        """The ts of a recent top-level message tagged as the card of ``inquiry_id``."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None: ...

    def dm(self, user: str, text: str, blocks: Blocks | None = None) -> str: ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks | None = None) -> None: ...

    def user_tz(self, user: str) -> str | None: ...

    def upload_png(self, channel: str, filename: str, data: bytes, title: str) -> None: ...


# ================================================================ Drafts and mail out


class Mailer(Protocol):
    """Mail going out: send a composed reply, or file a copy in one of the mailbox's folders.

    ``folder_role`` is ``"drafts"`` or ``"sent"``; ``append`` returns the folder's name on the
    server. Both raise :class:`bot.core.errors.MailOutError` with a message saying what to check.
    ``can_send`` / ``can_file`` say whether SMTP / IMAP are configured at all.
    Adapter: :class:`bot.adapters.mail.outgoing.OutgoingMail`.
    """

    @property
    def can_send(self) -> bool: ...

    @property
    def can_file(self) -> bool: ...

    def send(self, msg: EmailMessage) -> None: ...

    def append(self, folder_role: str, msg: EmailMessage, flags: Sequence[str]) -> str: ...


# ===================================================================== coordination


class Coordination(Protocol):
    """Who does what when several processes share one store (issue #15).

    - :meth:`lead`: leadership of a named role (a mailbox folder's watcher, a scheduled job).
      At most one process holds a name at a time; it keeps it until it resigns or dies, and
      then another one's next :meth:`lead` call gets it. Cheap to call again and again: the
      holder gets True every time.
    - :meth:`once`: True for exactly one caller per ``(job, period)``, across processes and
      restarts (a job's run for one period: a day's anchor, an hour's retention pass).
    - :meth:`pace`: reserves the next post slot of a Slack channel shared by every process
      (Slack allows about one message per second per channel) and returns the seconds to
      wait before posting (0 when the slot is free now).

    Backends: PostgreSQL (advisory locks on a dedicated connection, a jobs table, a pacing row
    per channel), and the single-process one (TinyDB: an exclusive lock on the data folder,
    so a second process on the same files refuses to start; memory: trivially the only one).
    """

    #: True when other processes may share the store (the desk must then coordinate).
    shared: bool

    def lead(self, name: str) -> bool: ...

    def resign(self, name: str) -> None:
        """Give leadership of ``name`` up (nothing when not held)."""
        ...

    def leading(self, name: str) -> bool:
        """Whether this process still holds ``name`` (False once its hold is lost)."""
        ...

    def once(self, job: str, period: str) -> bool: ...

    def pace(self, channel: str, interval: float) -> float: ...

    def close(self) -> None:
        """Give everything up (the process is stopping)."""
        ...
