"""Who a person is in text, and how to erase them from it: pure functions for ``forget``.

:func:`identity_of` gathers what identifies a person from their own mail: their email
address(es), their display names, the phone numbers and postal-address lines of their
signatures. A :class:`Redactor` then finds those in any text and replaces each with
``[erased]``:

* names, addresses and emails are matched as word sequences (case-folded, CJK split per
  character), so ``Zofia Kowalczyk``, ``ZOFIA  kowalczyk`` and ``<mailto:zofia@…|…>`` match;
  single name words (``Ms Kowalczyk``) are erased too, but only count as a *mention*
  together with a stronger sign (see :meth:`Redactor.mentions`),
* phone numbers are matched by their digits, whatever the spacing, with or without the
  country code (``+49 30 1234567``, ``0049-30-123 45 67``, ``030 1234567``).

Needles are kept as salted SHA-256 keys, never as text, so a redactor can be stored in the
outbox (:meth:`Redactor.to_payload`) and applied to Slack messages later without writing
the person's name back into ``DATA_DIR``.

    >>> r = Redactor.build(identity_of("zofia@licht.de", ["Zofia Kowalczyk"], ["Tel +49 30 1234567"]))
    >>> r.redact("Call Zofia Kowalczyk on 030 1234567")
    'Call [erased] on [erased]'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ERASED = "[erased]"

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
# A run of digits with the separators people put in phone numbers.
_PHONE_SPAN = re.compile(r"(?<![\w+])\+?\(?\d[\d \t().\-/]{5,24}\d(?![\w])")
_PHONE_LABEL = re.compile(
    r"(?:tel|telephone|phone|mobile|mob|cell|handy|fax|whatsapp|wechat|viber|line|[tmpf]|ph)\.?\s*[:.]?\s*$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STOP = frozenset(
    {
        "gmbh", "ltd", "inc", "llc", "co", "corp", "company", "the", "and", "und", "von", "van", "der",
        "de", "del", "la", "le", "mr", "mrs", "ms", "dr", "sales", "team", "info", "office", "admin",
        "purchasing", "manager", "director", "buyer", "dept", "department", "regards", "best",
    }
)  # fmt: skip
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Case-folded words (CJK per character) with their spans."""
    return [(m.group(0).casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def phones_in(text: str) -> list[str]:
    """Phone numbers written in ``text`` (digits only): ones that start with ``+``, ``00`` or
    ``(``, or follow a label such as ``Tel:``; quantities, dates and prices are not taken."""
    found = []
    for m in _PHONE_SPAN.finditer(text):
        digits = _digits(m.group(0))
        if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
            continue
        raw = m.group(0)
        line_before = text[: m.start()].rsplit("\n", 1)[-1][-24:]
        if raw.startswith(("+", "00", "(")) or _PHONE_LABEL.search(line_before):
            found.append(digits)
    return found


def phone_variants(digits: str) -> set[str]:
    """The same number as people also write it: with 00, or nationally with a trunk 0."""
    out = {digits}
    body = digits[2:] if digits.startswith("00") else digits
    out.add(body)
    out.add("00" + body)
    for cc in (1, 2, 3):  # country codes are 1-3 digits
        national = body[cc:]
        if len(national) >= MIN_PHONE_DIGITS - 1:
            out.add(national)
            out.add("0" + national)
    if digits.startswith("0") and not digits.startswith("00"):
        out.add(digits[1:])  # national number without its trunk 0
    return {d for d in out if len(d) >= MIN_PHONE_DIGITS - 1}


@dataclass(frozen=True)
class Identity:
    """What identifies a person (plain text: keep it in memory only)."""

    emails: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # display names, whole
    name_words: tuple[str, ...] = ()  # single words of those names worth erasing alone
    phones: tuple[str, ...] = ()  # digits
    addresses: tuple[str, ...] = ()  # postal-address lines, whole (a sign of a mention)
    address_parts: tuple[str, ...] = ()  # their comma-separated parts ("10117 Berlin"): erased only

    def quick_terms(self) -> tuple[str, ...]:
        """Plain case-folded words at least one of which any mention (but a phone: see
        :meth:`phone_tails`) contains; a cheap pre-filter before the full match."""
        terms: set[str] = set()
        for text in (*self.emails, *self.names, *self.addresses):
            words = [w for w, _, _ in tokens(text)]
            if words:
                terms.add(max(words, key=len))
        terms.update(self.name_words)
        return tuple(sorted(t for t in terms if t))

    def phone_tails(self) -> tuple[str, ...]:
        """The last six digits of each phone: one is in the digits of any text that holds it."""
        return tuple(sorted({d[-6:] for d in self.phones}))


def _address_line(line: str) -> bool:
    letters = sum(c.isalpha() for c in line)
    digits = sum(c.isdigit() for c in line)
    low = line.lower()
    return (
        5 <= len(line) <= 120
        and digits >= 1
        and letters >= 3
        and "@" not in line
        and "http" not in low
        and "www." not in low
        and not phones_in(line)
        and len(tokens(line)) >= 2
    )


def identity_of(
    email: str,
    names: Iterable[str],
    signatures: Iterable[str],
    texts: Iterable[str] = (),
    *,
    keep_words: Iterable[str] = (),
) -> Identity:
    """The identity of the person with address ``email``: ``names`` are their display
    names, ``signatures`` their signature blocks (phones and address lines are taken from
    those), ``texts`` more of their own text (phones only). ``keep_words`` are words that
    must not be erased alone (e.g. the names of other buyers)."""
    email = email.strip().lower()
    keep = {w.casefold() for w in keep_words}
    whole = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip() and "@" not in n))
    words: list[str] = []
    for name in whole:
        for word, _, _ in tokens(name):
            if len(word) >= 3 and word.isalpha() and word not in _STOP and word not in keep:
                words.append(word)
    sigs = [s for s in signatures if s]
    phones: list[str] = []
    for text in (*sigs, *texts):
        phones.extend(phones_in(text))
    addresses: list[str] = []
    parts: list[str] = []
    for sig in sigs:
        for line in sig.splitlines():
            line = line.strip(" \t-–|,;")
            if _address_line(line):
                addresses.append(line)
            pieces = line.split(",")
            for part in pieces if len(pieces) > 1 else ():
                part = part.strip(" \t-–|,;")
                if _address_line(part):
                    parts.append(part)
    emails = [email]
    for sig in sigs:  # a second address of theirs in the signature
        emails.extend(
            e.lower() for e in _EMAIL.findall(sig) if e.lower().split("@")[1] == email.split("@")[1]
        )
    return Identity(
        emails=tuple(dict.fromkeys(emails)),
        names=whole,
        name_words=tuple(dict.fromkeys(words)),
        phones=tuple(dict.fromkeys(phones)),
        addresses=tuple(dict.fromkeys(addresses)),
        address_parts=tuple(p for p in dict.fromkeys(parts) if p not in addresses),
    )


@dataclass
class Redactor:
    """Finds a person's identifiers in text by salted keys; see the module docstring."""

    salt: str
    sequences: dict[int, set[str]] = field(default_factory=dict)  # word count -> keys
    strong: set[str] = field(default_factory=set)  # keys that count as a mention
    phones: set[str] = field(default_factory=set)  # keys of phone digit strings

    def key(self, value: str) -> str:
        return hashlib.sha256(f"{self.salt}\x1f{value}".encode()).hexdigest()[:24]

    @classmethod
    def build(cls, identity: Identity, salt: str | None = None, extra: Iterable[str] = ()) -> Redactor:
        """A redactor for ``identity``; ``extra`` texts (e.g. their subjects) are erased as
        word sequences too but are no sign of a mention."""
        r = cls(salt or secrets.token_hex(16))
        for text in extra:
            words = [w for w, _, _ in tokens(text)]
            if len(words) >= 2:
                r.sequences.setdefault(len(words), set()).add(r.key(" ".join(words)))
        local = identity.emails[0].split("@")[0] if identity.emails else ""
        strong_texts = [*identity.emails, *identity.names, *identity.addresses]
        if len(tokens(local)) >= 2:
            strong_texts.append(local)  # first.last
        for text in strong_texts:
            words = [w for w, _, _ in tokens(text)]
            if len(words) >= 2 or (len(words) == 1 and "@" in text):
                k = r.key(" ".join(words))
                r.sequences.setdefault(len(words), set()).add(k)
                r.strong.add(k)
        for text in identity.address_parts:
            words = [w for w, _, _ in tokens(text)]
            r.sequences.setdefault(len(words), set()).add(r.key(" ".join(words)))
        for word in identity.name_words:
            r.sequences.setdefault(1, set()).add(r.key(word))
        for digits in identity.phones:
            r.phones.update(r.key(v) for v in phone_variants(digits))
        return r

    @property
    def empty(self) -> bool:
        return not self.sequences and not self.phones

    def _spans(self, text: str, *, strong_only: bool) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if self.phones:
            for m in _PHONE_SPAN.finditer(text):
                if self.key(_digits(m.group(0))) in self.phones:
                    spans.append((m.start(), m.end()))
        words = tokens(text)
        for k, keys in self.sequences.items():
            for i in range(len(words) - k + 1):
                window = words[i : i + k]
                key = self.key(" ".join(w for w, _, _ in window))
                if key in keys and (not strong_only or key in self.strong):
                    spans.append((window[0][1], window[-1][2]))
        return spans

    def mentions(self, text: str) -> bool:
        """Does ``text`` name the person by address, full name, phone or postal address?"""
        return bool(text) and bool(self._spans(text, strong_only=True))

    def redact(self, text: str) -> str:
        """``text`` with every identifier (single name words too) replaced by ``[erased]``."""
        if not text:
            return text
        spans = sorted(self._spans(text, strong_only=False))
        if not spans:
            return text
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, pos = [], 0
        for start, end in merged:
            out.append(text[pos:start])
            out.append(ERASED)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def redact_value(self, value: Any, skip: frozenset[str] = frozenset()) -> Any:
        """Every string in a JSON-like value redacted (dict keys in ``skip`` left alone)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_value(v, skip) for v in value]
        if isinstance(value, dict):
            return {k: v if k in skip else self.redact_value(v, skip) for k, v in value.items()}
        return value

    def to_payload(self) -> dict[str, Any]:
        """Salted keys only: safe to store (the outbox) and to log the size of."""
        return {
            "salt": self.salt,
            "seq": {str(k): sorted(v) for k, v in self.sequences.items()},
            "strong": sorted(self.strong),
            "phones": sorted(self.phones),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Redactor:
        return cls(
            str(data["salt"]),
            {int(k): set(v) for k, v in dict(data.get("seq") or {}).items()},
            set(data.get("strong") or ()),
            set(data.get("phones") or ()),
        )
