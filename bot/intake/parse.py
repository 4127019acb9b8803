"""Turn raw message bytes into a :class:`bot.core.models.ParsedEmail`, whatever the bytes are.

``parse_email`` never raises. It builds the MIME tree with ``compat32`` (cheap per part) and
decodes each header with ``email.policy.default`` inside guards, falling back to our own
decoder and charset alias map (:mod:`bot.intake.charsets`). Everything that could not be read
cleanly is listed in ``ParsedEmail.defects``; the rest is kept. Time and memory are bounded:
every header field is cut to ``MAX_HEADER_FIELD_BYTES`` in the raw bytes before the standard
library sees it, each part's Content-Type is read once, at most ``MAX_PARTS`` MIME parts are
walked, ``MAX_TEXT_CHARS`` of body text kept; a tree nested too deep for the standard library
(``RecursionError``) is read for its headers alone, so From and Subject survive.

Example::

    >>> p = parse_email(b"From: Buyer <A@Example.com>\\nSubject: RFQ\\n\\nPlease quote 500 pcs.")
    >>> p.from_addr, p.subject, p.new_text, p.message_id_synthetic
    ('a@example.com', 'RFQ', 'Please quote 500 pcs.', True)
"""

from __future__ import annotations

import contextlib
import email
import email.utils
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import Message
from typing import Any

from bot.core.models import Attachment, ParsedEmail
from bot.intake import charsets
from bot.intake.quotes import html_to_text, split_reply

MAX_PARSE_BYTES = 40 * 1024 * 1024  # a larger message is parsed from its first 40 MB
MAX_PARTS = 2000
MAX_TEXT_CHARS = 200_000
MAX_TEXT_PART_BYTES = 4 * 1024 * 1024  # bytes of one text part we decode
MAX_HTML_CHARS = 250_000  # HTML handed to html2text (pure Python: about 1 s per 300 kB of markup)
MAX_REPLY_SCAN_CHARS = 50_000  # text searched for the start of the quoted history
MAX_HEADER_CHARS = 2000  # each decoded header value we keep
MAX_HEADER_PARSE = 16_000  # raw header value handed to the parsers
MAX_HEADER_FIELD_BYTES = 16_000  # one header field (folded lines included) in the raw bytes
MAX_PART_BYTES = 6 * 1024 * 1024  # raw bytes of one part body handed to the parser (base64 of 4 MB)
MAX_BOUNDARIES = 300  # more, and the tree is read for its top headers only (see _parse)
MAX_HEADER_BLOCK_BYTES = 256 * 1024  # the top header block read alone when the MIME tree is too deep
MAX_HEADERS = 500
MAX_ADDRESSES = 500
MAX_DEFECTS = 100
MAX_REFERENCES = 100
SYNTHETIC_DOMAIN = "inquiry-desk.invalid"

_MSGID_RE = re.compile(r"<([^<>\s]{1,900})>")
_BARE_MSGID_RE = re.compile(r"^\s*([^<>\s@]{1,500}@[^<>\s@]{1,400})\s*$")
_EMAIL_RE = re.compile(r"[^\s<>()\[\]\",;:@]{1,200}@[^\s<>()\[\]\",;:@]{1,200}")


class _Defects:
    """An ordered, de-duplicated, capped list of defect strings."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._seen: set[str] = set()

    def add(self, text: str) -> None:
        text = text[:300]
        if text in self._seen:
            return
        self._seen.add(text)
        if len(self.items) < MAX_DEFECTS:
            self.items.append(text)
        elif len(self.items) == MAX_DEFECTS:
            self.items.append("more defects not listed")


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one raw message; never raises (see the module docstring)."""
    data = _as_bytes(raw)
    content_hash = hashlib.sha256(data).hexdigest()
    try:
        return _parse(data, content_hash)
    except Exception as exc:  # the last guard: keep the message, say what broke
        return _minimal(data, content_hash, f"parser failed: {type(exc).__name__}")


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def synthetic_message_id(content_hash: str) -> str:
    return f"<{content_hash[:32]}@{SYNTHETIC_DOMAIN}>"


def _minimal(data: bytes, content_hash: str, defect: str) -> ParsedEmail:
    """What we return when even the fallback parser failed: the bytes as text."""
    try:
        text = charsets.decode_bytes(data[: MAX_TEXT_CHARS * 2], None)[0][:MAX_TEXT_CHARS]
        text = _normalise_newlines(text).strip()
    except Exception:
        text = ""
    return ParsedEmail(
        message_id=synthetic_message_id(content_hash),
        message_id_synthetic=True,
        in_reply_to=None,
        references=(),
        subject="",
        from_name="",
        from_addr="",
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        date_utc_offset_minutes=None,
        content_type="text/plain",
        headers={},
        text=text,
        new_text=text,
        signature="",
        attachments=(),
        defects=(defect,),
        content_hash=content_hash,
        size=len(data),
    )


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# A header field: a line that starts a field, and its folded continuation lines.
_FIELD_RE = re.compile(rb"[^\n]*(?:\n[ \t][^\n]*)*")


def _part_starts(data: bytes) -> Iterator[int]:
    """0, then the start of the line after each line that begins with ``--`` (lazily: a
    hostile message can hold millions of them)."""
    yield 0
    at = data.find(b"\n--")
    while at >= 0:
        line_end = data.find(b"\n", at + 1)
        if line_end < 0:
            return
        yield line_end + 1
        at = data.find(b"\n--", line_end)


def _dash_lines(data: bytes) -> Iterator[int]:
    """0, the start of each line that begins with ``--``, then ``len(data)`` (lazily)."""
    yield 0
    at = data.find(b"\n--")
    while at >= 0:
        yield at + 1
        at = data.find(b"\n--", at + 3)
    yield len(data)


def cap_header_fields(data: bytes, limit: int = MAX_HEADER_FIELD_BYTES) -> tuple[bytes, int]:
    """``data`` (LF line ends) with every header field longer than ``limit`` bytes cut to
    ``limit``, in the top header block and in each block after a ``--boundary`` line; and how
    many were cut. The standard library re-parses a header on every access, so a 1 MB field
    would cost minutes; nothing else changes, and data without long fields is returned as is."""
    starts = _part_starts(data)
    cuts: list[tuple[int, int]] = []  # (start, end) byte ranges to drop
    covered = 0  # blocks may run into each other: scan each byte range once
    for start in starts:
        if start < covered:
            continue
        end = data.find(b"\n\n", start)
        if end < 0:
            end = len(data)
        covered = end
        if end - start <= limit:
            continue  # no field in this block can be longer than the block
        pos = start
        while pos < end:
            m = _FIELD_RE.match(data, pos, end)
            stop = m.end() if m is not None else end
            if stop - pos > limit:
                cuts.append((pos + limit, stop))
            pos = stop + 1
    if not cuts:
        return data, 0
    pieces: list[bytes] = []
    last = 0
    for cut_from, cut_to in sorted(set(cuts)):
        if cut_from < last:
            continue
        pieces.append(data[last:cut_from])
        last = cut_to
    pieces.append(data[last:])
    return b"".join(pieces), len(cuts)


_BOUNDARY_RE = re.compile(rb"boundary\s*=", re.I)


def _more_than(pattern: re.Pattern[bytes], data: bytes, limit: int) -> bool:
    """Whether ``pattern`` occurs more than ``limit`` times (stops counting there)."""
    return any(n > limit for n, _ in enumerate(pattern.finditer(data), start=1))


def cap_part_bodies(data: bytes, limit: int = MAX_PART_BYTES) -> tuple[bytes, int]:
    """``data`` with every stretch longer than ``limit`` bytes that has no ``--boundary``-like
    line in it cut to its first ``limit`` bytes (at a line end); and how many were cut. Only
    the start of a huge part is decoded anyway, and the parser holds every line of it."""
    if len(data) <= limit:
        return data, 0
    pieces: list[bytes] = []
    last = 0
    for start, end in itertools.pairwise(_dash_lines(data)):
        if end - start > limit:
            keep = data.rfind(b"\n", start, start + limit) + 1 or start + limit
            pieces.append(data[last:keep])
            last = end
    if not pieces:
        return data, 0
    pieces.append(data[last:])
    return b"".join(pieces), len(pieces) - 1


def _message_from_bytes(data: bytes, defects: _Defects) -> Message:
    """The MIME tree, built with compat32: policy.default would parse each part's Content-Type
    into a tree several times while building it (seconds for thousands of parts). Headers are
    decoded with policy.default afterwards, one by one (see :func:`decode_header`)."""
    return email.message_from_bytes(data, policy=policy.compat32)


def _parse(raw: bytes, content_hash: str) -> ParsedEmail:
    defects = _Defects()
    data = raw
    if len(data) > MAX_PARSE_BYTES:
        data = data[:MAX_PARSE_BYTES]
        defects.add(f"message larger than {MAX_PARSE_BYTES} bytes: parsed the start only")
    # LF, CRLF and CR-only messages all become LF (the parser and our text both expect one kind).
    data = data.replace(b"\r\n", b"\n")
    data = data.replace(b"\r", b"\n")
    data, cut = cap_header_fields(data)
    if cut:
        defects.add(f"{cut} header field(s) longer than {MAX_HEADER_FIELD_BYTES} bytes: truncated")
    data, cut = cap_part_bodies(data)
    if cut:
        defects.add(f"{cut} part body(ies) longer than {MAX_PART_BYTES} bytes: parsed the start only")
    if _more_than(_BOUNDARY_RE, data, MAX_BOUNDARIES):
        # The standard library checks every line against every open boundary: nested this
        # deep it would take seconds, then fail with RecursionError anyway.
        defects.add(f"more than {MAX_BOUNDARIES} MIME boundaries")
        return _headers_only(raw, data, content_hash, defects)
    try:
        return _from_message(_message_from_bytes(data, defects), raw, content_hash, defects)
    except RecursionError:
        return _headers_only(raw, data, content_hash, defects)


def _headers_only(raw: bytes, data: bytes, content_hash: str, defects: _Defects) -> ParsedEmail:
    """The MIME tree is nested too deep for the standard library: read the top header block
    alone (so From, Subject, Message-ID and Date survive) and keep no body."""
    defects.add("MIME structure nested too deep: could not be fully read, only the headers were")
    return _from_message(_header_block(data, MAX_HEADER_BLOCK_BYTES), raw, content_hash, defects)


def _header_block(data: bytes, limit: int) -> Message:
    """The top header block of ``data`` (LF line ends, fields capped) as a message with no body."""
    end = data.find(b"\n\n", 0, limit)
    block = data[: end if end >= 0 else limit]
    msg = email.message_from_bytes(block + b"\n\n", policy=policy.compat32)
    msg.set_payload("")
    return msg


def parse_headers_only(raw: bytes, defect: str) -> ParsedEmail:
    """A cheap, bounded read of a message whose full parse was given up: its first 64 kB of
    headers, each field cut to 4,000 bytes, and no body; ``defect`` says why. Never raises."""
    data = _as_bytes(raw)
    content_hash = hashlib.sha256(data).hexdigest()
    defects = _Defects()
    defects.add(defect)
    try:
        head = data[:65536].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        head, _ = cap_header_fields(head, 4000)
        return _from_message(_header_block(head, 65536), data, content_hash, defects)
    except Exception as exc:
        return _minimal(b"", content_hash, f"{defect}; headers unreadable ({type(exc).__name__})")


def _from_message(msg: Message, raw: bytes, content_hash: str, defects: _Defects) -> ParsedEmail:

    headers = _headers(msg, defects)
    raw_headers = _raw_headers(msg)

    message_id, synthetic = _message_id(raw_headers.get("message-id"), content_hash, defects)
    in_reply_to_ids = _msgids(raw_headers.get("in-reply-to", ""), 1)
    references = tuple(_msgids(raw_headers.get("references", ""), MAX_REFERENCES))

    from_list = _addresses(msg, "from", defects)
    from_name, from_addr = from_list[0] if from_list else ("", "")
    if not from_list:
        defects.add("missing or unreadable From header")
    date, offset = _date(raw_headers.get("date"), defects)

    body = _Body(defects)
    root_type = body.walk(msg)
    text = body.text()
    reply = split_reply(text[:MAX_REPLY_SCAN_CHARS], body.html_main)
    new_text = reply.new_text
    if not new_text and text.strip():
        new_text = text.strip()

    return ParsedEmail(
        message_id=message_id,
        message_id_synthetic=synthetic,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        subject=headers.get("subject", ""),
        from_name=from_name,
        from_addr=from_addr,
        reply_to=tuple(addr for _, addr in _addresses(msg, "reply-to", defects)),
        to=tuple(addr for _, addr in _addresses(msg, "to", defects)),
        cc=tuple(addr for _, addr in _addresses(msg, "cc", defects)),
        date=date,
        date_utc_offset_minutes=offset,
        content_type=root_type,
        headers=headers,
        text=text,
        new_text=new_text,
        signature=reply.signature,
        attachments=tuple(body.attachments),
        defects=tuple(defects.items),
        content_hash=content_hash,
        size=len(raw),
    )


# --------------------------------------------------------------------------- headers


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    try:
        items = list(msg.raw_items())
    except Exception:
        return []
    out: list[tuple[str, str]] = []
    for name, value in items[: MAX_HEADERS * 4]:
        if isinstance(name, str) and isinstance(value, str):
            out.append((name, value))
    return out


def _raw_headers(msg: Message) -> dict[str, str]:
    """Lower-cased header name -> first raw value (capped), for our own parsers."""
    out: dict[str, str] = {}
    for name, value in _raw_items(msg):
        key = name.strip().lower()
        if key not in out:
            out[key] = value[:MAX_HEADER_PARSE]
    return out


def decode_header(name: str, value: str) -> str:
    """Decode one raw header value: policy.default first, our tolerant decoder when the
    modern parser raises or leaves undecoded/replaced text behind. Never raises."""
    value = value[:MAX_HEADER_PARSE]
    ours = charsets.decode_header_value(value, MAX_HEADER_CHARS).strip()
    try:  # policy.default builds a parse tree: give it no more than we keep (and some slack)
        modern = str(policy.default.header_fetch_parse(name, value[: 2 * MAX_HEADER_CHARS]))
    except Exception:
        return ours
    if (
        charsets.unsurrogate(modern) != modern
        or "\ufffd" in modern
        or ("=?" in modern and "?=" in modern)
        or (charsets.CHARSET_ALIAS_HINT.search(value) is not None)
    ):
        return ours
    return " ".join(modern.split())[:MAX_HEADER_CHARS] if "\n" in modern else modern[:MAX_HEADER_CHARS]


def _headers(msg: Message, defects: _Defects) -> dict[str, str]:
    out: dict[str, str] = {}
    items = _raw_items(msg)
    if len(items) > MAX_HEADERS:
        defects.add(f"more than {MAX_HEADERS} headers: the rest ignored")
    for name, value in items[:MAX_HEADERS]:
        key = name.strip().lower()[:200]
        if not key or key in out:
            continue
        if len(value) > MAX_HEADER_PARSE:
            defects.add(f"header {key[:40]} longer than {MAX_HEADER_PARSE} characters: truncated")
        out[key] = decode_header(key, value)
    return out


def _msgids(value: str, limit: int) -> list[str]:
    found = [f"<{m}>" for m in _MSGID_RE.findall(value)[:limit]]
    if not found:
        bare = _BARE_MSGID_RE.match(charsets.unsurrogate(value))
        if bare:
            found = [f"<{bare.group(1)}>"]
    return found


def _message_id(value: str | None, content_hash: str, defects: _Defects) -> tuple[str, bool]:
    ids = _msgids(value or "", 1)
    if ids:
        return ids[0], False
    defects.add("missing Message-ID: synthesised from the content hash" if not value else "bad Message-ID")
    return synthetic_message_id(content_hash), True


def _addresses(msg: Message, name: str, defects: _Defects) -> list[tuple[str, str]]:
    """All (display name, lower-cased address) pairs of every ``name`` header."""
    values = [v for k, v in _raw_items(msg) if k.strip().lower() == name][:50]
    out: list[tuple[str, str]] = []
    for value in values:
        value = value[:MAX_HEADER_PARSE]
        pairs: list[tuple[str, str]] | None = None
        try:
            header: Any = policy.default.header_fetch_parse(name, value)
            pairs = [(str(a.display_name), str(a.addr_spec)) for a in header.addresses]
            if charsets.CHARSET_ALIAS_HINT.search(value) or any(
                charsets.unsurrogate(a) != a or "\ufffd" in n for n, a in pairs
            ):
                pairs = None
        except Exception as exc:
            defects.add(f"{name} header unreadable by policy.default ({type(exc).__name__})")
        if not pairs:
            pairs = _fallback_addresses(value)
        for display, addr in pairs:
            addr = charsets.unsurrogate(addr).strip().strip("<>").lower()
            if not addr:
                continue
            display = charsets.decode_header_value(charsets.unsurrogate(display), 200).strip().strip('"')
            out.append((" ".join(display.split()), addr[:320]))
            if len(out) >= MAX_ADDRESSES:
                return out
    return out


def _fallback_addresses(value: str) -> list[tuple[str, str]]:
    decoded = charsets.decode_header_value(value, MAX_HEADER_PARSE)
    try:
        pairs = email.utils.getaddresses([decoded])
        good = [(n, a) for n, a in pairs if "@" in a]
        if good:
            return good
    except Exception:
        pass
    found = _EMAIL_RE.findall(decoded)
    if found:
        name = decoded.split("<", 1)[0].strip() if "<" in decoded and len(found) == 1 else ""
        return [(name, found[0])] + [("", a) for a in found[1:]]
    return []


def _date(value: str | None, defects: _Defects) -> tuple[datetime | None, int | None]:
    if not value or not value.strip():
        defects.add("missing Date header")
        return None, None
    text = " ".join(charsets.unsurrogate(value).split())[:200]
    try:
        parts = email.utils.parsedate_tz(text)
    except Exception:
        parts = None
    if parts is None:
        defects.add("unparseable Date header")
        return None, None
    try:
        year, month, day, hour, minute, second = parts[:6]
        offset_seconds = parts[9]
        if offset_seconds is not None and abs(offset_seconds) >= 24 * 3600:
            defects.add("Date header offset out of range: treated as UTC")
            offset_seconds = None
        tz = timezone(timedelta(seconds=offset_seconds or 0))
        if second == 60:
            second = 59
        local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
        offset_minutes = None if offset_seconds is None else offset_seconds // 60
        if offset_seconds is None:
            defects.add("Date header without a time zone: assumed UTC")
        return local.astimezone(UTC), offset_minutes
    except (ValueError, OverflowError, TypeError):
        defects.add("Date header out of range")
        return None, None


@dataclass(frozen=True)
class _PartInfo:
    """What the body walk needs of one part's headers, worked out once per part."""

    ctype: str
    disposition: str | None
    charset: str | None
    name: object  # get_filename() or the Content-Type name (a str, an RFC 2231 triple or None)


def _part_info(part: Message, defects: _Defects) -> _PartInfo:
    """Read a part's Content-Type and Content-Disposition once, from their raw values, with the
    cheap compat32 parameter parser (policy.default builds a parse tree on every access)."""
    proxy = Message(policy=policy.compat32)
    ctype_raw = _raw_header(part, "content-type")
    disp_raw = _raw_header(part, "content-disposition")
    with contextlib.suppress(Exception):
        proxy.set_default_type(part.get_default_type())
    ctype = "text/plain"
    charset: str | None = None
    disposition: str | None = None
    name: object = None
    try:
        if _has_header(part, "content-type"):
            proxy["Content-Type"] = " ".join(ctype_raw.split())
        if _has_header(part, "content-disposition"):
            proxy["Content-Disposition"] = " ".join(disp_raw.split())
        ctype = str(proxy.get_content_type())
        label = proxy.get_content_charset()
        charset = label if isinstance(label, str) else None
        value = proxy.get_content_disposition()
        disposition = value.lower() if isinstance(value, str) else None
    except Exception:
        match = re.match(r"\s*([\w.+-]+/[\w.+-]+)", ctype_raw)
        ctype = match.group(1).lower() if match else "text/plain"
        match = re.search(r"charset\s*=\s*\"?([^\";\s]+)", ctype_raw, re.I)
        charset = match.group(1) if match else None
        disposition = disp_raw.strip().lower().split(";", 1)[0].strip() or None
    try:
        name = proxy.get_filename() or proxy.get_param("name")
    except Exception as exc:
        defects.add(f"attachment name unreadable ({type(exc).__name__})")
    return _PartInfo(ctype=ctype[:100], disposition=disposition, charset=charset, name=name)


def _has_header(part: Message, name: str) -> bool:
    return any(key.strip().lower() == name for key, _ in _raw_items(part))


def _raw_header(part: Message, name: str) -> str:
    for key, value in _raw_items(part):
        if key.strip().lower() == name:
            return value
    return ""


# --------------------------------------------------------------------------- body


class _Body:
    """Walks the MIME tree once (iteratively, bounded) and collects text, HTML and attachments."""

    def __init__(self, defects: _Defects) -> None:
        self.defects = defects
        self.attachments: list[Attachment] = []
        self.plain_main: str | None = None
        self.html_main: str | None = None
        self.plain_embedded: str | None = None
        self.html_embedded: str | None = None
        self._infos: dict[int, tuple[Message, _PartInfo]] = {}

    def info(self, part: Message) -> _PartInfo:
        """The part's header facts, read once (the part is kept so its id stays unique)."""
        found = self._infos.get(id(part))
        if found is None:
            found = (part, _part_info(part, self.defects))
            self._infos[id(part)] = found
        return found[1]

    def text(self) -> str:
        if self.plain_main and self.plain_main.strip():
            text = self.plain_main
        elif self.html_main:
            text = self._html(self.html_main)
        elif self.plain_embedded:
            text = self.plain_embedded
        elif self.html_embedded:
            text = self._html(self.html_embedded)
        else:
            text = ""
        text = _normalise_newlines(text).replace("\x00", "")
        if len(text) > MAX_TEXT_CHARS:
            self.defects.add(f"body text longer than {MAX_TEXT_CHARS} characters: truncated")
            text = text[:MAX_TEXT_CHARS]
        return text.strip("\n")

    def _html(self, html: str) -> str:
        if len(html) > MAX_HTML_CHARS:
            self.defects.add(f"HTML longer than {MAX_HTML_CHARS} characters: converted the start only")
        return html_to_text(html[:MAX_HTML_CHARS])

    def walk(self, root: Message) -> str:
        """Collect the tree's text and attachments; returns the root's content type."""
        root_type = self.info(root).ctype
        stack: list[tuple[Message, bool]] = [(root, False)]
        count = 0
        while stack:
            part, embedded = stack.pop()
            count += 1
            if count > MAX_PARTS:
                self.defects.add(f"more than {MAX_PARTS} MIME parts: the rest ignored")
                return root_type
            ctype = self.info(part).ctype
            children = self._children(part)
            if children is None and ctype.startswith("multipart/"):
                children = self._recover_multipart(part)
            if children is not None:
                if ctype == "message/rfc822" and self._is_attachment(part):
                    self._add_attachment(part, ctype, size=self._size_of_message(part))
                child_embedded = embedded or ctype.startswith("message/")
                for child in reversed(children):
                    stack.append((child, child_embedded))
                self._part_defects(part)
                continue
            self._leaf(part, ctype, embedded)
            self._part_defects(part)  # after decoding: base64 problems are found then
        return root_type

    def _children(self, part: Message) -> list[Message] | None:
        try:
            if not part.is_multipart():
                return None
            payload = part.get_payload()
        except Exception as exc:
            self.defects.add(f"unreadable multipart ({type(exc).__name__})")
            return []
        if isinstance(payload, list):
            return [child for child in payload if isinstance(child, Message)]
        return None

    def _recover_multipart(self, part: Message) -> list[Message] | None:
        """A multipart whose boundary the parser could not use (unquoted "=", say): find the
        boundary leniently and re-parse the body. None when that does not work either."""
        raw_ctype = charsets.unsurrogate(_raw_header(part, "content-type"))
        match = re.search(r"boundary\s*=\s*\"?([^\"\s;]{1,200})", raw_ctype, re.I)
        try:
            payload = part.get_payload()
        except Exception:
            return None
        if not isinstance(payload, str):
            return None
        candidates = [match.group(1)] if match else []
        first = re.search(r"^--([^\s]{1,200})[ \t]*$", payload[:100_000], re.M)
        if first:
            candidates.append(first.group(1))
        body = payload.encode("utf-8", errors="surrogateescape")
        for candidate in candidates:
            boundary = candidate.encode("utf-8", errors="surrogateescape").replace(b'"', b"")
            data = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n' + body
            try:
                fixed = email.message_from_bytes(data, policy=policy.compat32)
                payload_list = fixed.get_payload() if fixed.is_multipart() else None
            except Exception:
                continue
            if isinstance(payload_list, list) and payload_list:
                self.defects.add("multipart boundary recovered leniently")
                return [child for child in payload_list if isinstance(child, Message)]
        return None

    def _part_defects(self, part: Message) -> None:
        for defect in list(getattr(part, "defects", []))[:20]:
            self.defects.add(f"{type(defect).__name__}")

    def _is_attachment(self, part: Message) -> bool:
        return self._disposition(part) == "attachment" or bool(self._filename(part))

    def _disposition(self, part: Message) -> str | None:
        return self.info(part).disposition

    def _filename(self, part: Message) -> str:
        name = self.info(part).name
        if isinstance(name, tuple):  # compat32 RFC 2231 triple
            try:
                name = email.utils.collapse_rfc2231_value(name)
            except Exception:
                name = str(name[-1])
        if not name or "\ufffd" in str(name):
            name = self._filename_fallback(part) or name
        text = str(name or "")
        text = charsets.decode_header_value(charsets.unsurrogate(text, self._charset_label(part)), 500)
        return " ".join(text.split())[:255]

    def _filename_fallback(self, part: Message) -> str:
        for header in ("content-disposition", "content-type"):
            raw = charsets.unsurrogate(_raw_header(part, header), self._charset_label(part))
            match = re.search(r"(?:file)?name\*?(?:\*\d+\*?)?\s*=\s*\"?([^\";]+)\"?", raw, re.I)
            if match:
                value = match.group(1)
                star = re.match(r"([\w-]+)'[\w-]*'(.*)", value)
                if star:
                    from urllib.parse import unquote_to_bytes

                    return charsets.decode_bytes(unquote_to_bytes(star.group(2)), star.group(1))[0]
                return value
        return ""

    def _payload_bytes(self, part: Message) -> bytes:
        try:
            payload = part.get_payload(decode=True)
        except Exception as exc:
            self.defects.add(f"undecodable part body ({type(exc).__name__})")
            try:
                raw = part.get_payload()
            except Exception:
                return b""
            return str(raw).encode("utf-8", errors="surrogateescape") if raw else b""
        if isinstance(payload, bytes):
            return payload
        if isinstance(payload, str):
            return payload.encode("utf-8", errors="surrogateescape")
        return b""

    def _size_of_message(self, part: Message) -> int:
        try:
            return len(part.as_bytes(policy=policy.compat32))
        except Exception:
            return 0

    def _add_attachment(self, part: Message, ctype: str, size: int | None = None) -> None:
        if size is None:
            size = len(self._payload_bytes(part))
        self.attachments.append(Attachment(filename=self._filename(part), content_type=ctype, size=size))

    def _leaf(self, part: Message, ctype: str, embedded: bool) -> None:
        maintype = ctype.split("/", 1)[0]
        disposition = self._disposition(part)
        filename = self._filename(part)
        is_body_text = ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        if not is_body_text:
            if disposition == "attachment" or filename or maintype not in ("text", "message", "multipart"):
                self._add_attachment(part, ctype)
            return
        text = self._decode_text(part, ctype)
        if not text.strip():
            return
        if ctype == "text/plain":
            if not embedded and self.plain_main is None:
                self.plain_main = text
            elif embedded and self.plain_embedded is None:
                self.plain_embedded = text
        elif not embedded and self.html_main is None:
            self.html_main = text
        elif embedded and self.html_embedded is None:
            self.html_embedded = text

    def _charset_label(self, part: Message) -> str | None:
        return self.info(part).charset

    def _decode_text(self, part: Message, ctype: str) -> str:
        payload = self._payload_bytes(part)
        if len(payload) > MAX_TEXT_PART_BYTES:
            self.defects.add(f"{ctype} part larger than {MAX_TEXT_PART_BYTES} bytes: truncated")
            payload = payload[:MAX_TEXT_PART_BYTES]
        text, problems = charsets.decode_bytes(payload, self._charset_label(part))
        for problem in problems:
            self.defects.add(f"{ctype}: {problem}")
        return _normalise_newlines(text)
