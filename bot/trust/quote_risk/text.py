"""Text helpers shared by the quote-risk detectors: normalisation, sentence and clause spans,
currency symbols and words to ISO codes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

CURRENCY_CODE = re.compile(r"[A-Z]{3}")

_DIMENSION = re.compile(r"(\d)\s*[x×*]\s*(\d+)(?:\s*(?:cm|mm)\b)?", re.IGNORECASE)
_WATTS = re.compile(r"(\d)\s+(W)\b", re.IGNORECASE)


def normalize(text: str) -> str:
    """NFKC (full-width digits and ￥), '600 x 600 mm' -> '600x600', '40 W' -> '40W'."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n")
    text = _DIMENSION.sub(r"\1x\2", text)
    return _WATTS.sub(r"\1\2", text)


SENTENCE_END = re.compile(r"\n|[。！？；]|[.!?;](?=\s|$)")
CLAUSE_END = re.compile(r"[,，、]\s*|\s[-–—]\s")


def spans(text: str, splitter: re.Pattern[str], start: int = 0, end: int | None = None) -> list[range]:
    end = len(text) if end is None else end
    out: list[range] = []
    pos = start
    for m in splitter.finditer(text, start, end):
        out.append(range(pos, m.end()))
        pos = m.end()
    out.append(range(pos, end))
    return out


def span_at(spans: Sequence[range], index: int) -> range:
    for span in spans:
        if span.start <= index < span.stop or index == span.stop == spans[-1].stop:
            return span
    return spans[-1]


def words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_CURRENCY_ALIASES: dict[str, str] = {
    "$": "USD", "US$": "USD", "U.S.$": "USD", "DOLLAR": "USD", "DOLLARS": "USD", "DÓLAR": "USD",
    "DÓLARES": "USD", "美元": "USD", "ドル": "USD", "달러": "USD",
    "€": "EUR", "EURO": "EUR", "EUROS": "EUR",
    "RMB": "CNY", "¥": "CNY", "元": "CNY", "人民币": "CNY", "YUAN": "CNY",
    "£": "GBP", "A$": "AUD", "C$": "CAD", "S$": "SGD", "HK$": "HKD", "NT$": "TWD", "R$": "BRL",
    "REAIS": "BRL", "₹": "INR", "₫": "VND", "Đ": "VND", "ĐỒNG": "VND", "฿": "THB", "บาท": "THB",
    "RP": "IDR", "RP.": "IDR", "RM": "MYR", "₺": "TRY", "TL": "TRY", "ZŁ": "PLN", "₽": "RUB",
    "₩": "KRW", "원": "KRW", "円": "JPY",
}  # fmt: skip


def currency_code(token: str) -> str | None:
    t = re.sub(r"\s+", "", token).upper()
    if t in _CURRENCY_ALIASES:
        return _CURRENCY_ALIASES[t]
    if t.startswith("РУБ"):
        return "RUB"
    return t if CURRENCY_CODE.fullmatch(t) else None
