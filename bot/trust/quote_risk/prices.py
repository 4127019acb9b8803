"""Prices under the floor: find unit prices in a text, attribute each to the product named
nearest to it, compare with ``price_floor.csv`` (converted through the configured rates).

A price is attributed to the product named in its own line or sentence (else the nearest one
named earlier in the paragraph); amounts next to freight/sample/discount words are not unit
prices; a price in a currency without a configured rate is not compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.drafting.guards import money_mentions, number_values
from bot.trust.quote_risk.findings import PRICE_BELOW_FLOOR, Finding
from bot.trust.quote_risk.policy import PriceFloor, QuotePolicy
from bot.trust.quote_risk.text import (
    CLAUSE_END,
    SENTENCE_END,
    currency_code,
    normalize,
    span_at,
    spans,
    words,
)

_NUM = r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_PRICE_WORD = (
    r"(?:unit\s+price|price|pricing|precio(?:\s+unitario)?|preço(?:\s+unitário)?|prix(?:\s+unitaire)?|"
    r"(?:Stück)?preis|Einzelpreis|giá(?:\s+bán)?|đơn\s+giá|单价|單價|价格|價格|报价|報價|售价|售價)"
)
_PRICE_CONTEXT = words(r"\b" + _PRICE_WORD + r"|单价|單價|价格|價格|报价|報價|đơn\s+giá")
# Amounts that are not a product's unit price when the clause does not call them a price.
_OTHER_COST = words(
    r"freight|shipping|courier|express|delivery\s+charge|insurance|sample|mou?ld|tooling|discount|rebate|"
    r"deposit|tax|vat|handling|total|subtotal|flete|env[ií]o|muestra|descuento|dep[oó]sito|Fracht|Versand|"
    r"Muster|Rabatt|Anzahlung|Gesamt|fret|échantillon|remise|acompte|amostra|desconto|sinal|cước|"
    r"vận\s+chuyển|mẫu|giảm|đặt\s+cọc|运费|運費|样品|樣品|折扣|优惠|優惠|定金|订金|訂金|合计|合計|总价|總價"
)
_ADJACENT_OTHER = words(r"\s*(?:off|discount|rebate|less|de\s+descuento|Rabatt)\b")
_BARE_AFTER_PRODUCT = words(
    rf"^[^\S\n]*(?:[—–:：|=]|-{{1,2}})[^\S\n]*(?:(?:fob\s+|unit\s+)?price[^\S\n]*[:：]?[^\S\n]*)?"
    rf"(?P<n>{_NUM})[^\S\n]*(?:/[^\S\n]*(?:pcs?|pieces?|units?|sets?)|per\s+(?:piece|unit|pc|set)|each)?"
    r"[^\S\n]*\|?[^\S\n]*$"
)
_BARE_AFTER_PRICE_WORD = words(
    rf"{_PRICE_WORD}(?:[^\S\n]+(?:fob|cif|exw|ddp|de|du|per|pro|por|unit|unitario|unitaire))*"
    rf"[^\S\n]*[:：]?[^\S\n]*(?P<n>{_NUM})"
    r"(?![\d.,]|\s*(?:%|[x×*]\s*\d|pcs\b|pieces\b|units\b|sets\b|W\b|days?\b|个|個|件|套|台|只|天|ngày|días|"
    r"dias|jours|Tage))"
)


@dataclass(frozen=True)
class _Mention:
    floor: PriceFloor
    start: int
    end: int
    score: int


def _word_pattern(word: str) -> str:
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", word):
        return re.escape(word)
    escaped = re.escape(word).replace(r"\-", r"[-\s]?")
    return rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"


def _is_sku(word: str) -> bool:
    return "-" in word and bool(re.search(r"[A-Za-z]", word)) and bool(re.search(r"\d", word))


@dataclass(frozen=True)
class _Matcher:
    floor: PriceFloor
    words: tuple[re.Pattern[str], ...]
    score: int
    sku: bool


def _matchers(floors: Sequence[PriceFloor]) -> list[_Matcher]:
    out: list[_Matcher] = []
    for floor in floors:
        for alias in floor.aliases:
            words = normalize(alias).split()
            pats = tuple(re.compile(_word_pattern(w), re.IGNORECASE) for w in words)
            out.append(_Matcher(floor, pats, sum(len(w) for w in words), sku=False))
            out += [
                _Matcher(floor, (re.compile(_word_pattern(w), re.IGNORECASE),), len(w), sku=True)
                for w in words
                if _is_sku(w)
            ]
    return out


def _product_mentions(text: str, matchers: Sequence[_Matcher], span: range) -> list[_Mention]:
    """Where a floor's alias is named in ``span``: all its words, close together, in any order."""
    found: set[_Mention] = set()
    for matcher in matchers:
        window = matcher.score + 4 * len(matcher.words)
        for first in matcher.words[0].finditer(text, span.start, span.stop):
            lo, hi = max(span.start, first.start() - window), min(span.stop, first.end() + window)
            hits = [first, *(p.search(text, lo, hi) for p in matcher.words[1:])]
            starts = [h.start() for h in hits if h is not None]
            ends = [h.end() for h in hits if h is not None]
            if len(starts) == len(hits):
                found.add(_Mention(matcher.floor, min(starts), max(ends), matcher.score))
    return sorted(found, key=lambda m: (m.start, -m.score))


def _nearest(mentions: Sequence[_Mention], start: int, end: int) -> _Mention | None:
    def key(m: _Mention) -> tuple[int, int]:
        distance = start - m.end if m.end <= start else (m.start - end) + 40 if m.start >= end else 0
        return (max(distance, 0), -m.score)

    return min(mentions, key=key) if mentions else None


@dataclass(frozen=True)
class _Price:
    start: int
    end: int
    shown: str
    value: float
    currency: str | None


def _prices(text: str) -> list[_Price]:
    """Amounts in ``text`` that read as unit prices (currency None: the product's floor currency)."""
    out: list[_Price] = []
    taken: list[range] = []
    for mm in money_mentions(text):
        currency = currency_code(mm.currency) if mm.currency else None
        if mm.currency and currency is None:
            continue
        if _ADJACENT_OTHER.match(text, mm.end):
            continue
        out.append(_Price(mm.start, mm.end, mm.text, max(mm.values), currency))
        taken.append(range(mm.start, mm.end))
    for m in _BARE_AFTER_PRICE_WORD.finditer(text):
        if any(m.start("n") in r for r in taken):
            continue
        out.append(_Price(m.start("n"), m.end("n"), m.group(0).strip(), max(number_values(m["n"])), None))
    return out


def _usd(value: float, currency: str, rates: Mapping[str, float]) -> float | None:
    if currency == "USD" and "USD" not in rates:
        return value
    rate = rates.get(currency)
    return None if rate is None else value * rate


def _compare(value: float, currency: str, floor: PriceFloor, rates: Mapping[str, float]) -> tuple[bool, str]:
    """(below the floor?, the comparison in words). Unknown rate -> not below."""
    if currency == floor.currency:
        return value < floor.min_unit_price - 1e-9, f"{currency} {value:.2f}"
    price_usd = _usd(value, currency, rates)
    floor_usd = _usd(floor.min_unit_price, floor.currency, rates)
    if price_usd is None or floor_usd is None:
        return False, ""
    converted = price_usd / floor_usd * floor.min_unit_price
    return (
        converted < floor.min_unit_price - 1e-9,
        f"{currency} {value:.2f} ≈ {floor.currency} {converted:.2f}",
    )


def price_findings(text: str, policy: QuotePolicy, rates: Mapping[str, float]) -> list[Finding]:
    if not policy.floors:
        return []
    matchers = _matchers(policy.floors)
    sentences = spans(text, SENTENCE_END)
    paragraphs = spans(text, re.compile(r"\n[^\S\n]*\n"))
    findings: list[Finding] = []

    def judge(price: _Price, floor: PriceFloor) -> None:
        currency = price.currency or floor.currency
        below, shown = _compare(price.value, currency, floor, rates)
        if below:
            findings.append(
                Finding(
                    PRICE_BELOW_FLOOR,
                    f"{floor.product}: {shown} quoted ('{price.shown}'), floor {floor.currency} "
                    f"{floor.min_unit_price:.2f}",
                )
            )

    prices = _prices(text)
    for price in prices:
        sentence = span_at(sentences, price.start)
        clause = span_at(spans(text, CLAUSE_END, sentence.start, sentence.stop), price.start)
        clause_text = text[clause.start : clause.stop]
        if _OTHER_COST.search(clause_text) and not _PRICE_CONTEXT.search(clause_text):
            continue
        mention = _nearest(_product_mentions(text, matchers, sentence), price.start, price.end)
        if mention is None:
            paragraph = span_at(paragraphs, price.start)
            earlier = _product_mentions(text, matchers, range(paragraph.start, sentence.start))
            mention = max(earlier, key=lambda m: (m.end, m.score)) if earlier else None
        if mention is not None:
            judge(price, mention.floor)
        elif len(policy.product_lines) == 1:
            judge(price, _closest_floor(price, policy, rates))

    # "model — price" lines with no currency and no price word: the price follows the product name.
    for sentence in sentences:
        if any(p.start in sentence for p in prices):
            continue
        mention = max(_product_mentions(text, matchers, sentence), key=lambda m: m.score, default=None)
        if mention is None:
            continue
        m = _BARE_AFTER_PRODUCT.match(text[mention.end : sentence.stop].rstrip("\n.;"))
        if m is not None:
            value = max(number_values(m["n"]))
            judge(_Price(0, 0, m["n"], value, None), mention.floor)
    return list(dict.fromkeys(findings))


def _closest_floor(price: _Price, policy: QuotePolicy, rates: Mapping[str, float]) -> PriceFloor:
    def distance(floor: PriceFloor) -> float:
        currency = price.currency or floor.currency
        p = _usd(price.value, currency, rates) if currency != floor.currency else price.value
        f = (
            _usd(floor.min_unit_price, floor.currency, rates)
            if currency != floor.currency
            else floor.min_unit_price
        )
        return abs(p - f) if p is not None and f is not None else float("inf")

    return min(policy.floors, key=distance)
