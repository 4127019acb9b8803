"""GDPR: erase what we hold on a person, export it for them, purge old bodies (retention).

:func:`forget` finds every inquiry whose buyer or any message sender is the address
(case-insensitive) and pseudonymises it in place: addresses become
``erased-<n>@erased.invalid`` (``n`` numbers the erasure, so one person's inquiries still
count as one buyer), names, subjects, bodies and attachment names ``"[erased]"``, the
company ``None``; triage reasons that quote the mail or name the person are dropped; event
details, warnings and extras that name the person become ``"[erased]"``. Anonymous figures
stay: market, country, language, tier, status, category and every timestamp, so stats are
unchanged.

Who the person is (:func:`bot.core.redact.identity_of`): their address, display names, and the
phone numbers and postal-address lines of their signatures, read from their raw mail
before it is deleted. Then, everywhere under ``DATA_DIR``:

* every other inquiry that mentions them (address, full name, phone or postal address) has
  those, and their name words, replaced by ``"[erased]"`` in texts, subjects, events,
  warnings and extras (:class:`bot.core.redact.Redactor`),
* ``index.jsonl`` is rebuilt from the shards (:meth:`Store.rebuild_index`),
* small-database records (meta.json, outbox, drafts.json) that belong to their inquiries
  are removed; others that mention them (drafts, owed Slack payloads) are redacted in place,
* raw mail files (``DATA_DIR/mail/xx/<sha256>.eml``) of their messages, or that mention
  them (plain, or in RFC 2047 / base64 / quoted-printable form), are deleted,
* ``*.bak`` / ``*.tmp`` leftovers of the store that still mention them are rewritten or removed,
* the audit trail gets ``data_erased`` entries (ids and counts only: see :mod:`bot.records.audit`).

Slack, through the outbox: every card of those inquiries is re-rendered (``card_update``),
and ``erase_posts`` items (:mod:`bot.desk.erase_posts`) update the bot's own thread notes under
those cards, and its tagged posts in the desk channels and in members' DMs (digests, pings,
filtered-mail lines) to the erased text. Those items carry the redactor as salted hashes,
never the person's name, so ``DATA_DIR`` holds no trace while they wait.

Finally every file under ``DATA_DIR`` is scanned for the person; any hit is listed in
``ForgetReport.leftovers``. Run it with the bot stopped: the store is single-process.

:func:`subject_export` returns everything held on a person as a JSON-ready dict.
:func:`purge_closed_bodies` empties the bodies of closed inquiries after ``RETENTION_DAYS``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.policy import compat32
from pathlib import Path
from typing import Any

from bot.adapters.store.codec import inquiry_from_doc, inquiry_to_doc
from bot.core.errors import UsageError
from bot.core.models import Attachment, Event, Inquiry, MessageRecord, Status, Warning
from bot.core.redact import Identity, Redactor, identity_of
from bot.desk.erase_posts import owe_erasure
from bot.desk.outbox import Outbox
from bot.desk.ports import RawMail, Store
from bot.intake.parse import parse_email, synthetic_message_id
from bot.records.audit import AuditLog, AuditTrail, check_detail

log = logging.getLogger(__name__)

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"
#: Triage reasons that quote the mail itself (see bot.triage.tier / engine).
_QUOTING_REASONS = ("company", "purchasing title", "context", "asks", "information only", "signature")
_ENCODED_HINTS = (b"=?", b"base64", b"quoted-printable")
_NOT_DIGIT = re.compile(r"\D+")


@dataclass(frozen=True)
class ForgetReport:
    erasure: int  # the n of erased-<n>@erased.invalid
    inquiries: tuple[str, ...]  # ids pseudonymised
    mentions: tuple[str, ...]  # other inquiries where the address was scrubbed from text
    messages: int
    mail_files: int
    meta_records: int
    leftovers: tuple[str, ...]  # files under DATA_DIR that still name the person
    meta_redacted: int = 0  # records of other inquiries (drafts, owed posts) redacted in place
    slack_updates: int = 0  # erase_posts items owed (delivered by the running bot)


def pseudonym(n: int) -> str:
    return f"erased-{n}@{ERASED_DOMAIN}"


def _norm(email: str) -> str:
    addr = email.strip().strip("<>").strip().lower()
    if addr.count("@") != 1 or not addr.split("@")[0] or "." not in addr.split("@")[1]:
        raise UsageError(f"not an email address: {email!r}")
    return addr


def _belongs(inq: Inquiry, addr: str) -> bool:
    return inq.buyer_addr.lower() == addr or any(m.from_addr.lower() == addr for m in inq.messages)


def _walk_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _walk_strings(v, fn) for k, v in value.items()}
    return value


#: Inquiry-document keys that hold ids, codes and times, never text about a person.
_STRUCTURAL = frozenset(
    {
        "id", "created_at", "status", "owner", "tier", "sla_started_at", "answered_at",
        "first_response_at", "snoozed_until", "card_ts", "card_channel", "pings_sent", "routed_to",
        "message_id", "direction", "received_at", "folder", "uid", "slack_ts", "at", "actor", "action",
        "content_type", "size", "category", "market", "language", "country", "lane", "code",
    }
)  # fmt: skip
#: Keys of small-database records that are ids or keys (redacting them would break lookups).
_RECORD_KEYS = frozenset({"key", "kind", "inquiry_id", "id", "not_before", "created", "at", "dead_at"})


def _scrub(inq: Inquiry, redactor: Redactor, pattern: re.Pattern[str]) -> Inquiry:
    """Erase the person from every text of the inquiry (also ones no rule names)."""
    doc = inquiry_to_doc(inq)
    cleaned = _walk_strings(redactor.redact_value(doc, _STRUCTURAL), lambda s: pattern.sub(ERASED, s))
    return inq if cleaned == doc else inquiry_from_doc(cleaned)


def _texts(value: Any, skip: frozenset[str]) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, skip)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from _texts(v, skip)


class _Finder:
    """Does a document or file mention the person? A cheap substring pre-filter, then
    the redactor's full match."""

    def __init__(self, identity: Identity, redactor: Redactor) -> None:
        self.quick = identity.quick_terms()
        self.tails = identity.phone_tails()
        self.redactor = redactor

    def maybe(self, text: str) -> bool:
        low = text.casefold()
        if any(q in low for q in self.quick):
            return True
        if not self.tails:
            return False
        digits = _NOT_DIGIT.sub("", text)  # "+49 30 9876 5432" is found by "765432"
        return any(t in digits for t in self.tails)

    def value(self, value: Any, skip: frozenset[str]) -> bool:
        flat = json.dumps(value, ensure_ascii=False, default=str)
        return self.maybe(flat) and any(self.redactor.mentions(t) for t in _texts(value, skip))

    def plain(self, raw: bytes) -> bool:
        """A file that names them in plain (UTF-8) text."""
        text = raw.decode("utf-8", "replace")
        return self.maybe(text) and self.redactor.mentions(text)

    def raw(self, raw: bytes) -> bool:
        """A raw mail (or any file) that names them, plainly or once decoded."""
        if self.plain(raw):
            return True
        low = raw.lower()
        if not any(h in low for h in _ENCODED_HINTS):
            return False
        decoded = _decoded_text(raw)
        return self.maybe(decoded) and self.redactor.mentions(decoded)


class _Needles:
    """What identifies the person inside one of their inquiries (lower-cased)."""

    def __init__(self, addr: str, inquiries: Iterable[Inquiry]) -> None:
        local = addr.split("@")[0]
        words = {addr, local}
        for inq in inquiries:
            for value in (inq.buyer_name, inq.triage.company or ""):
                if len(value.strip()) >= 3:
                    words.add(value.strip().lower())
        self.words = tuple(w for w in words if len(w) >= 3)

    def found_in(self, text: str) -> bool:
        low = text.lower()
        return any(w in low for w in self.words)

    def clean(self, text: str) -> str:
        return ERASED if text and self.found_in(text) else text


def _erase_message(m: MessageRecord, alias: str, needles: _Needles, addr: str) -> MessageRecord:
    mid = m.message_id
    if needles.found_in(mid):
        mid = f"<{hashlib.sha256(mid.encode()).hexdigest()[:32]}@{ERASED_DOMAIN}>"
    ours = m.direction == "out" and m.from_addr.lower() != addr
    return replace(
        m,
        message_id=mid,
        from_addr=m.from_addr if ours else alias,
        subject=ERASED,
        new_text=ERASED,
        attachments=tuple(Attachment(ERASED, a.content_type, a.size) for a in m.attachments),
        defects=tuple(needles.clean(d) for d in m.defects),
    )


def _erase(inq: Inquiry, alias: str, needles: _Needles, addr: str, event: Event) -> Inquiry:
    t = inq.triage
    reasons = tuple(
        r for r in t.reasons if not needles.found_in(r) and not r.lower().startswith(_QUOTING_REASONS)
    )
    triage = replace(
        t,
        company=None,
        reason=needles.clean(t.reason),
        reasons=reasons,
        warnings=tuple(Warning(w.code, needles.clean(w.detail)) for w in t.warnings),
    )
    return replace(
        inq,
        buyer_addr=alias,
        buyer_name=ERASED,
        subject=ERASED,
        subject_key="",
        triage=triage,
        messages=tuple(_erase_message(m, alias, needles, addr) for m in inq.messages),
        events=(*(replace(e, detail=needles.clean(e.detail)) for e in inq.events), event),
        extra={k: needles.clean(v) for k, v in inq.extra.items()},
    )


# ------------------------------------------------------------------ raw mail
def _header_mentions(value: object, addr: str) -> bool:
    text = str(value)
    if "=?" not in text:
        return False
    try:
        return addr in str(make_header(decode_header(text))).lower()
    except (HeaderParseError, ValueError, LookupError, UnicodeError):
        return False


def _decoded_mentions(raw: bytes, addr: str) -> bool:
    """Does the decoded mail (RFC 2047 headers, base64/quoted-printable parts) mention it?"""
    needle = addr.encode("ascii", "ignore")
    try:
        msg = message_from_bytes(raw, policy=compat32)
        for part in msg.walk():
            if any(_header_mentions(v, addr) for v in part.values()):
                return True
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and needle in payload.lower():
                return True
    except Exception:  # a foreign or broken file: the plain-bytes check already ran on it
        log.warning("could not decode a raw mail file while looking for an address")
    return False


def _decoded_text(raw: bytes) -> str:
    """Headers (RFC 2047 decoded) and text of every part (base64 / quoted-printable decoded)."""
    out: list[str] = []
    try:
        msg = message_from_bytes(raw, policy=compat32)
        for part in msg.walk():
            for value in part.values():
                try:
                    out.append(str(make_header(decode_header(str(value)))))
                except (HeaderParseError, ValueError, LookupError, UnicodeError):
                    out.append(str(value))
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    out.append(payload.decode(charset, "replace"))
                except LookupError:
                    out.append(payload.decode("utf-8", "replace"))
    except Exception:  # a foreign or broken file: the plain check already ran on it
        log.warning("could not decode a raw mail file while looking for a person")
    return "\n".join(out)


def _message_id_of(content_hash: str, raw: bytes) -> str:
    try:
        return parse_email(raw).message_id
    except Exception:  # see above
        return synthetic_message_id(content_hash)


def _wanted(content_hash: str, raw: bytes, ids: set[str], inner: set[bytes], addr: str | None) -> bool:
    low = raw.lower()
    if addr is not None and addr.encode("utf-8") in low:
        return True
    if any(i in low for i in inner) and _message_id_of(content_hash, raw) in ids:
        return True
    return addr is not None and any(h in low for h in _ENCODED_HINTS) and _decoded_mentions(raw, addr)


def _raw_items(raw_mail: RawMail) -> Iterator[tuple[str, bytes]]:
    for content_hash in raw_mail.raw_hashes():
        raw = raw_mail.load_raw(content_hash)
        if raw is not None:
            yield content_hash, raw


def raw_files_for(raw_mail: RawMail, message_ids: Iterable[str], addr: str | None = None) -> list[str]:
    """Hashes of the raw mail of those messages (by Message-ID), or that mention ``addr``."""
    ids = {m for m in message_ids if m}
    inner = {m.strip("<>").lower().encode("utf-8", "replace") for m in ids}
    found: list[str] = []
    for content_hash in raw_mail.raw_hashes():
        if synthetic_message_id(content_hash) in ids:
            found.append(content_hash)
            continue
        raw = raw_mail.load_raw(content_hash)
        if raw is not None and _wanted(content_hash, raw, ids, inner, addr):
            found.append(content_hash)
    return found


# ---------------------------------------------------------------------- meta
def _related(table: str, doc: dict[str, Any], ids: set[str], message_ids: set[str], addr: str) -> bool:
    """Does a meta record belong to one of those inquiries or name the person?"""
    if str(doc.get("inquiry_id")) in ids:
        return True
    key = str(doc.get("key", ""))
    if table.startswith("outbox") and (
        any(part in ids for part in key.split(":")[1:]) or any(mid in key for mid in message_ids)
    ):
        return True  # outbox_done keeps only the key: card:42, update:42, thread:<message-id>
    return addr in json.dumps(doc, ensure_ascii=False, default=str).lower()


def _purge_meta(
    store: Store, ids: set[str], message_ids: set[str], addr: str, finder: _Finder
) -> tuple[int, int]:
    """Remove records of the person's inquiries; redact the others that mention them.
    Returns (removed, redacted)."""

    def decide(table: str, record: dict[str, Any]) -> dict[str, Any] | None:
        if _related(table, record, ids, message_ids, addr):
            return None
        if finder.value(record, _RECORD_KEYS):
            cleaned: dict[str, Any] = finder.redactor.redact_value(record, _RECORD_KEYS)
            return cleaned
        return record

    return store.rewrite_records(decide)


def _leftovers(data_dir: Path, addr: bytes, finder: _Finder | None = None) -> tuple[str, ...]:
    hits = []
    for path in sorted(data_dir.rglob("*")):
        try:
            if not path.is_file():
                continue
            raw = path.read_bytes()
            if addr in raw.lower() or (finder is not None and finder.plain(raw)):
                hits.append(str(path.relative_to(data_dir)))
        except OSError:
            continue
    return tuple(hits)


# -------------------------------------------------------------------- forget
def _identity(addr: str, owned: list[Inquiry], others: Iterable[Inquiry], raw_mail: RawMail) -> Identity:
    """Who the person is, from their inquiries and their own raw mail (read before it goes)."""
    names = [inq.buyer_name for inq in owned]
    signatures: list[str] = []
    texts = [m.new_text for inq in owned for m in inq.messages if m.from_addr.lower() == addr]
    mine = {m.message_id for inq in owned for m in inq.messages if m.from_addr.lower() == addr}
    for content_hash in raw_files_for(raw_mail, mine):
        raw = raw_mail.load_raw(content_hash)
        if raw is None:
            continue
        try:
            email = parse_email(raw)
        except Exception:  # a foreign or broken file: what the store holds still counts
            log.warning("could not parse a raw mail file of the person being erased")
            continue
        if email.from_addr.lower() != addr:
            continue  # never take our own signature (a reply of ours to them) for theirs
        names.append(email.from_name)
        signatures.append(email.signature)
        texts.append(email.new_text)  # never the quoted history: our own signature is in there
    keep = {w for inq in others for w in inq.buyer_name.split()}
    return identity_of(addr, names, signatures, texts, keep_words=keep)


def forget(
    data_dir: Path,
    store: Store,
    email: str,
    *,
    now: datetime | None = None,
    actor: str = "cli",
    audit: AuditTrail | None = None,
    slack_channels: Iterable[str] = (),
) -> ForgetReport:
    """Erase everything the store, ``DATA_DIR`` and the bot's Slack posts hold on ``email``;
    see the module docstring. ``slack_channels``: the desk's channels (``SLACK_CHANNEL``),
    searched for the bot's posts besides the channels its cards are in."""
    addr = _norm(email)
    check_detail(actor, {})  # refuse an actor the audit trail would refuse, before erasing
    now = now or datetime.now(UTC)
    data_dir = Path(data_dir)
    pattern = re.compile(re.escape(addr), re.IGNORECASE)
    with store.transaction():
        everyone = list(store.all_inquiries())
        owned = [inq for inq in everyone if _belongs(inq, addr)]
        ids = {inq.id for inq in owned}
        identity = _identity(addr, owned, (i for i in everyone if i.id not in ids), store)
        redactor = Redactor.build(identity)
        finder = _Finder(identity, redactor)
        # For Slack only: their subjects and company, as posts about them quote those too.
        extra = [inq.subject for inq in owned] + [inq.triage.company or "" for inq in owned]
        slack_payload = Redactor.build(identity, extra=extra).to_payload()
        n = int(store.get_meta("erasures", 0)) + 1
        store.set_meta("erasures", n)
        alias, needles = pseudonym(n), _Needles(addr, owned)
        message_ids = {m.message_id for inq in owned for m in inq.messages}
        event = Event(now, actor, "data_erased", f"erasure {n}")
        for inq in owned:
            store.update(
                inq.id, lambda cur: _scrub(_erase(cur, alias, needles, addr, event), redactor, pattern)
            )
        mentions = []
        for inq in everyone:
            if inq.id in ids or not finder.value(inquiry_to_doc(inq), _STRUCTURAL):
                continue
            store.update(inq.id, lambda cur: _scrub(cur, redactor, pattern))
            mentions.append(inq.id)
        store.rebuild_index()
        meta_removed, meta_redacted = _purge_meta(store, ids, message_ids, addr, finder)
        affected = store.load_many([*sorted(ids, key=int), *mentions])
        slack_updates = owe_erasure(
            store, Outbox(store), n, affected, ids, slack_payload, now, slack_channels
        )
        doomed = raw_files_for(store, message_ids, addr)
        known = set(doomed)
        doomed += [h for h, raw in _raw_items(store) if h not in known and finder.raw(raw)]
        files = store.delete_raw(doomed)
        needle = addr.encode("utf-8")
        store.scrub_leftovers(lambda raw: needle in raw.lower() or finder.raw(raw))
    trail: AuditTrail = audit or AuditLog(data_dir / "audit" / "audit.jsonl")
    for inq in owned:
        trail.append(inq.id, actor, "data_erased", {"erasure": n}, now)
    trail.append(
        None,
        actor,
        "data_erased",
        {"erasure": n, "inquiries": len(owned), "mail_files": files, "mentions": len(mentions)},
        now,
    )
    report = ForgetReport(
        erasure=n,
        inquiries=tuple(sorted(ids, key=int)),
        mentions=tuple(mentions),
        messages=len(message_ids),
        mail_files=files,
        meta_records=meta_removed,
        leftovers=_leftovers(data_dir, addr.encode("utf-8"), finder),
        meta_redacted=meta_redacted,
        slack_updates=slack_updates,
    )
    log.info(
        "erasure %d: %d inquiries, %d mentioning, %d mail files, %d meta records (%d redacted)",
        n,
        len(owned),
        len(mentions),
        files,
        meta_removed,
        meta_redacted,
    )
    return report


# ------------------------------------------------------------ subject export
def subject_export(store: Store, email: str) -> dict[str, Any]:
    """Everything held on ``email``: inquiries with messages and events, related records."""
    addr = _norm(email)
    everyone = list(store.all_inquiries())
    owned = [inq for inq in everyone if _belongs(inq, addr)]
    ids = {inq.id for inq in owned}
    # Mentioned by address, full name, phone or postal address: what forget would erase.
    identity = _identity(addr, owned, (i for i in everyone if i.id not in ids), store)
    finder = _Finder(identity, Redactor.build(identity))
    mentioned = [
        inq.id
        for inq in everyone
        if inq.id not in ids
        and (
            addr in json.dumps(inquiry_to_doc(inq), ensure_ascii=False).lower()
            or finder.value(inquiry_to_doc(inq), _STRUCTURAL)
        )
    ]
    records: list[dict[str, Any]] = []
    message_ids = {m.message_id for inq in owned for m in inq.messages}
    for name, record in store.other_records():
        if _related(name, record, ids, message_ids, addr):
            records.append({"table": name, "record": record})
    raw = raw_files_for(store, message_ids, addr)
    return {
        "subject": addr,
        "inquiries": [inquiry_to_doc(inq) for inq in sorted(owned, key=lambda i: int(i.id))],
        "mentioned_in_inquiries": mentioned,
        "other_records": records,
        "raw_mail_files": [{"file": store.raw_label(h), "size": len(store.load_raw(h) or b"")} for h in raw],
    }


# ----------------------------------------------------------------- retention
_purged: weakref.WeakKeyDictionary[Store, set[str]] = weakref.WeakKeyDictionary()


def _last_activity(inq: Inquiry) -> datetime:
    times = [inq.created_at, *(m.received_at for m in inq.messages), *(e.at for e in inq.events)]
    return max(times)


def purge_closed_bodies(
    store: Store,
    now: datetime,
    retention_days: float,
    *,
    min_interval: timedelta = timedelta(hours=1),
    audit: AuditTrail | None = None,
) -> int:
    """Empty the message bodies of closed inquiries idle for ``retention_days``; delete their
    raw mail. Returns how many inquiries were purged. Cheap to call every tick: it runs at
    most once per ``min_interval`` (remembered in the store) and skips purged inquiries."""
    last = store.get_meta("retention:last_run")
    if last is not None and now - datetime.fromisoformat(last) < min_interval:
        return 0
    store.set_meta("retention:last_run", now.isoformat())
    cutoff = now - timedelta(days=retention_days)
    done = _purged.setdefault(store, set())
    candidates = [
        s.id
        for s in store.summaries()
        if s.status in (Status.WON.value, Status.LOST.value, Status.NOT_INQUIRY.value)
        and s.id not in done
        and max(s.created_at, s.answered_at or 0.0, s.sla_started_at or 0.0) <= cutoff.timestamp()
    ]
    purged: list[Inquiry] = []
    for inq in store.load_many(candidates):
        if not any(m.new_text for m in inq.messages):
            done.add(inq.id)
            continue
        if _last_activity(inq) > cutoff:
            continue

        def change(cur: Inquiry) -> Inquiry:
            return replace(
                cur,
                messages=tuple(replace(m, new_text="") for m in cur.messages),
                extra={**cur.extra, "bodies_purged": now.isoformat()},
            )

        purged.append(store.update(inq.id, change))
        done.add(inq.id)
    if purged:
        store.delete_raw(raw_files_for(store, {m.message_id for inq in purged for m in inq.messages}))
        if audit is not None:
            for inq in purged:
                audit.append(inq.id, "bot", "bodies_purged", {"messages": len(inq.messages)}, now)
        log.info("retention: purged bodies of %d closed inquiries", len(purged))
    return len(purged)
