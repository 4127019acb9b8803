"""Where a sender is: a weighted vote of ccTLD, phone numbers, country/city names in the signature,
language and (as a last resort) the Date header's UTC offset.

``detect_country(email, "de")`` -> ``("DE", ["ccTLD .de", "phone +49"])``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
import tldextract

from bot.core.models import ParsedEmail
from bot.triage import geo
from bot.triage.markets import (
    CCTLD_SPECIAL,
    FREE_MAIL_DOMAINS,
    GENERIC_CCTLDS,
    HEARD_FROM,
    SUPPLIER_SIDE,
    market_for,
)

__all__ = [
    "Signal",
    "cctld_country",
    "country_signals",
    "decide_country",
    "detect_country",
    "domain_of",
    "is_free_mail",
    "market_for",
    "registrable_domain",
]

W_CCTLD = 3.0
W_PHONE = 3.0
W_SIGNATURE_NAME = 2.5
W_BODY_NAME = 1.0
W_LANGUAGE = 1.0


@dataclass(frozen=True)
class Signal:
    country: str
    weight: float
    reason: str


def domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().strip(">").lower() if "@" in addr else ""


_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=4096)
def registrable_domain(domain: str) -> str:
    """The domain a company registers, by the Public Suffix List bundled with ``tldextract``
    (never fetched): ``mail.lichtwerk.co.uk`` -> ``lichtwerk.co.uk``, ``mail.acme.gen.tr`` ->
    ``acme.gen.tr``, ``acme.blogspot.com`` -> ``acme.blogspot.com``; an unknown suffix keeps
    the last two labels."""
    domain = domain.lower().strip().strip(".")[:253]
    labels = [label for label in domain.split(".") if label]
    if len(labels) <= 2 or all(label.isdigit() for label in labels):
        return ".".join(labels)
    found = _PSL(domain).top_domain_under_public_suffix
    return found or ".".join(labels[-2:])


def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    return domain in FREE_MAIL_DOMAINS or registrable_domain(domain) in FREE_MAIL_DOMAINS


def cctld_country(addr_or_domain: str) -> str | None:
    """Country of a sender's ccTLD; None for generic TLDs and free-mail providers."""
    domain = domain_of(addr_or_domain) if "@" in addr_or_domain else addr_or_domain.lower()
    if not domain or is_free_mail(domain):
        return None
    tld = domain.rsplit(".", 1)[-1]
    if tld in CCTLD_SPECIAL:
        return CCTLD_SPECIAL[tld]
    if len(tld) != 2 or not tld.isalpha() or tld in GENERIC_CCTLDS:
        return None
    return tld.upper()


_PHONE_HINT = re.compile(r"(?:\+|(?<![\d.])00)\s?\(?\d")
_DOUBLE_ZERO = re.compile(r"(?<![\d.+])00\s?(?=[1-9])")


def _phone_signals(text: str) -> list[Signal]:
    if not _PHONE_HINT.search(text):
        return []
    text = _DOUBLE_ZERO.sub("+", text)
    out: list[Signal] = []
    seen: set[str] = set()
    try:
        matcher = phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            region = phonenumbers.region_code_for_number(match.number)
            if not region or region == "001" or region in seen:
                continue
            seen.add(region)
            out.append(Signal(region, W_PHONE, f"phone +{match.number.country_code}"))
    except Exception:  # phonenumbers' matcher can trip over odd input; a phone is only a hint
        return out
    return out


def _trie(names: Iterable[str]) -> str:
    """One alternation of ``names`` as a prefix tree (a longer name is tried before its prefix):
    the same matches as ``a|b|...`` sorted longest first, without trying 1,000 names per offset."""
    root: dict[str, Any] = {}
    for name in names:
        node = root
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" not in node:
            return body
        return f"(?:{body})?" if len(alts) > 1 or len(body) > 1 else f"{body}?"

    return pattern(root)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.])(?:{_trie(names)})(?![\w])", re.IGNORECASE)


@functools.cache
def _name_tables() -> tuple[tuple[re.Pattern[str], Mapping[str, str]], ...]:
    """(pattern, names -> country) for country names, then city names; built on first use."""
    return tuple((_name_pattern(table), table) for table in (geo.country_names(), geo.city_names()))


def warm_up() -> None:
    """Build the place tables now (about a second of CLDR loading), not on the first mail."""
    _name_tables()
    geo.language_country()
    geo.language_countries()
    geo.offset_countries()
    geo.country_language()


def _name_signals(text: str, weight: float, where: str, body: bool) -> list[Signal]:
    out: list[Signal] = []
    seen: set[str] = set()
    caps_only = geo.caps_only_names()
    for regex, table in _name_tables():
        for m in regex.finditer(text):
            found = m.group(0)
            key = " ".join(found.split()).lower()
            if key in caps_only and found != found.upper():
                continue
            code = table.get(key)
            if not code or (body and code in SUPPLIER_SIDE) or code in seen:
                continue
            seen.add(code)
            out.append(Signal(code, weight, f"{where} mentions {found}"))
    return out


def country_signals(email: ParsedEmail) -> list[Signal]:
    """The strong and medium signals (everything except language and Date offset)."""
    signals: list[Signal] = []
    tld = cctld_country(email.from_addr)
    if tld:
        signals.append(Signal(tld, W_CCTLD, f"ccTLD .{email.from_addr.rsplit('.', 1)[-1]}"))
    signature = email.signature or ""
    body = email.new_text or ""
    guessed = False
    if not signature and body:
        # No signature was cut: the last lines of a longer new text usually hold it.
        lines = body.strip().splitlines()
        if len(lines) > 3:
            split = max(len(lines) - 8, 1)
            signature, body, guessed = "\n".join(lines[split:]), "\n".join(lines[:split]), True
    signals.extend(_phone_signals((signature + "\n" + body[-3000:])[:6000]))
    signals.extend(_name_signals(signature[:3000], W_SIGNATURE_NAME, "signature", body=guessed))
    sig_codes = {s.country for s in signals}
    signals.extend(
        s for s in _name_signals(body[:4000], W_BODY_NAME, "text", body=True) if s.country not in sig_codes
    )
    return signals


def decide_country(
    signals: list[Signal], language: str | None, utc_offset_minutes: int | None
) -> tuple[str | None, list[str]]:
    """Weighted vote. Language adds a weak vote; the Date offset only breaks ties or is a last resort."""
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for s in signals:
        scores[s.country] = scores.get(s.country, 0.0) + s.weight
        reasons.setdefault(s.country, []).append(s.reason)
    lang_country = geo.language_country().get(language or "")
    if lang_country:
        scores[lang_country] = scores.get(lang_country, 0.0) + W_LANGUAGE
        reasons.setdefault(lang_country, []).append(f"language {language}")
    offset_candidates = _offset_candidates(utc_offset_minutes)
    if scores:
        top = max(scores.values())
        leaders = [c for c, v in scores.items() if v == top]
        if len(leaders) > 1:
            tie_broken = [c for c in leaders if c in offset_candidates]
            if len(tie_broken) == 1:
                reasons[tie_broken[0]].append(f"Date offset {_fmt_offset(utc_offset_minutes)} breaks tie")
                leaders = tie_broken
        if len(leaders) == 1:
            winner = leaders[0]
            return winner, reasons[winner]
        leaders.sort(key=lambda c: -sum(s.weight for s in signals if s.country == c and "phone" in s.reason))
        return leaders[0], reasons[leaders[0]] + ["tie"]
    if offset_candidates:
        off = _fmt_offset(utc_offset_minutes)
        likely = _language_countries(language)
        ranked = [c for c in likely if c in offset_candidates]
        primary = likely[0] if likely else ""
        if ranked and (ranked[0] == primary or len({market_for(c) for c in ranked}) == 1):
            return ranked[0], [f"language {language}", f"Date offset {off} (weak)"]
        if len(offset_candidates) == 1:
            return offset_candidates[0], [f"Date offset {off} (weak)"]
    return None, []


def _offset_candidates(minutes: int | None) -> tuple[str, ...]:
    """Countries the desk hears from with a zone at this UTC offset (winter or summer time)."""
    if minutes is None:
        return ()
    return tuple(c for c in geo.offset_countries().get(minutes, ()) if c in HEARD_FROM)


def _language_countries(language: str | None) -> tuple[str, ...]:
    """Countries the desk hears from where ``language`` is official (CLDR): its home country
    first (``es`` -> ES), then those the desk hears from most."""
    official = geo.language_countries().get(language or "", ())
    home = official[0] if official else ""
    return tuple(sorted((c for c in official if c in HEARD_FROM), key=lambda c: (c != home, HEARD_FROM[c])))


def _fmt_offset(minutes: int | None) -> str:
    if minutes is None:
        return "?"
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}{m:02d}"


def detect_country(email: ParsedEmail, language: str | None) -> tuple[str | None, list[str]]:
    """ISO 3166-1 alpha-2 country of the sender (or None) and the reasons for it."""
    return decide_country(country_signals(email), language, email.date_utc_offset_minutes)
