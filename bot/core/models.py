"""Domain objects shared by every layer: parsed mail, triage verdicts, inquiries.

All are frozen dataclasses; raw dicts stop at the adapters (IMAP, Slack, TinyDB).
Times are timezone-aware ``datetime`` objects in UTC unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Market(StrEnum):
    EU = "EU"
    US = "US"
    SEA = "SEA"
    OTHER = "OTHER"


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Status(StrEnum):
    NEW = "new"
    QUOTED = "quoted"
    SAMPLES = "samples"
    NEGOTIATING = "negotiating"
    WON = "won"
    LOST = "lost"
    NOT_INQUIRY = "not_inquiry"

    @property
    def closed(self) -> bool:
        return self in (Status.WON, Status.LOST, Status.NOT_INQUIRY)


class Category(StrEnum):
    """What an email is, as decided by the filter."""

    INQUIRY = "inquiry"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    NEWSLETTER = "newsletter"
    SPAM = "spam"
    INTERNAL = "internal"
    NO_REPLY = "no_reply"


class Lane(StrEnum):
    """Where a mail ends on the desk (issue #12).

    ``inquiry``: a card with an SLA clock. ``review``: a "check first" card with no clock and no
    pings (a possible lure or pitch that a person decides on). ``filtered``: stored, listed in the
    daily line, rescuable."""

    INQUIRY = "inquiry"
    REVIEW = "review"
    FILTERED = "filtered"


@dataclass(frozen=True)
class RiskSignal:
    """One named piece of evidence that a mail is (or is not) what it claims.

    ``weight`` adds to the risk score: positive means lure/pitch-like, negative buyer-like.
    ``evidence`` is what was seen, short and readable on a card (never a whole body)."""

    name: str
    weight: float
    evidence: str = ""


@dataclass(frozen=True)
class Risk:
    """The combined risk of one mail: ``score`` is the sum of the signals' weights."""

    score: float = 0.0
    signals: tuple[RiskSignal, ...] = ()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedEmail:
    """What the parser could read from one raw message. Never partial by exception:
    whatever could not be decoded is listed in ``defects`` and the rest is kept."""

    message_id: str  # "<...>" as found, or synthesised from the content hash
    message_id_synthetic: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_addr: str  # lower-cased address, "" when missing
    reply_to: tuple[str, ...]  # lower-cased addresses
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None  # the Date header, aware; never used as arrival time
    date_utc_offset_minutes: int | None  # the offset the sender's clock claimed
    content_type: str  # top-level content type, e.g. "multipart/report"
    headers: dict[str, str]  # lower-cased header name -> first value, decoded
    text: str  # the whole body as text (HTML converted)
    new_text: str  # the buyer's new text: no quoted history, signature or disclaimer
    signature: str  # the signature block cut from new_text ("" when none)
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]  # human-readable decode problems
    content_hash: str  # sha256 hex of the raw bytes
    size: int  # bytes


@dataclass(frozen=True)
class Warning:
    """A trust warning shown on the card (issue #9)."""

    code: str
    detail: str


@dataclass(frozen=True)
class Triage:
    is_inquiry: bool
    category: Category
    reason: str  # one line: why it is (not) an inquiry
    language: str  # ISO 639-1, "und" when unknown
    country: str | None  # ISO 3166-1 alpha-2
    market: Market
    tier: Tier | None  # None when not an inquiry
    sla_hours: float
    reasons: tuple[str, ...]  # why this tier / country / language
    company: str | None = None
    warnings: tuple[Warning, ...] = ()
    lane: Lane = Lane.INQUIRY  # is_inquiry is True exactly when lane is INQUIRY
    risk: Risk = field(default_factory=Risk)


@dataclass(frozen=True)
class MessageRecord:
    """One email of an inquiry's thread, as stored (inbound or outbound)."""

    message_id: str
    direction: str  # "in" | "out"
    received_at: datetime  # IMAP INTERNALDATE for inbound, send time for outbound
    from_addr: str
    subject: str
    new_text: str
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    folder: str = "INBOX"
    uid: int | None = None
    slack_ts: str | None = None  # thread reply that announced it


@dataclass(frozen=True)
class Event:
    """Who did what, when: the card's story and the audit trail's raw material."""

    at: datetime
    actor: str  # Slack user id, "bot", or "mail"
    action: str  # "received", "claimed", "tier", ...
    detail: str = ""


@dataclass(frozen=True)
class Inquiry:
    id: str
    created_at: datetime  # arrival (INTERNALDATE) of the first message
    buyer_addr: str
    buyer_name: str
    subject: str
    subject_key: str  # normalised subject for follow-up matching
    triage: Triage
    status: Status = Status.NEW
    owner: str | None = None
    tier: Tier | None = None  # the current tier (triage's unless changed by a person)
    sla_started_at: datetime | None = None  # last unanswered buyer message
    answered_at: datetime | None = None  # last time we replied
    first_response_at: datetime | None = None
    snoozed_until: datetime | None = None
    card_ts: str | None = None
    card_channel: str | None = None
    messages: tuple[MessageRecord, ...] = ()
    events: tuple[Event, ...] = ()
    pings_sent: tuple[str, ...] = ()  # keys of SLA/follow-up pings already owed/sent
    routed_to: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def waiting_for_us(self) -> bool:
        """True while a buyer message is unanswered."""
        return self.sla_started_at is not None and not self.status.closed


@dataclass(frozen=True)
class BacklogCounts:
    """What one batch holds, counted from the store (exact after a crash)."""

    inquiries: int
    tiers: dict[str, int]
    markets: dict[str, int]
    held: int  # "check first" mail
    filtered: int
    oldest: datetime | None
    newest: datetime | None
    carded: int  # inquiries whose card is posted
    releasable: int  # open A and B inquiries with no card yet
    held_unposted: int  # held for a check, no review card yet

    def hours(self, now: datetime) -> int:
        """The span from the oldest mail to ``now``, in whole hours (at least 1)."""
        if self.oldest is None:
            return 1
        return max(1, -(-int((now - self.oldest).total_seconds()) // 3600))
