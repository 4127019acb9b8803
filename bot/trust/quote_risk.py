"""Quote-risk checks on outgoing text: prices under the floor, payment terms we do not allow,
lead times shorter than ours, bank details that are not our own (issue #9).

Pure: the policy is loaded once from ``prompts/`` (``QuotePolicy.load()``), the exchange rates come
from configuration (``parse_rates(os.environ["QUOTE_RATES"])``, USD per unit of each currency)::

    policy = QuotePolicy.load()
    check_quote("GL-200W floodlight: USD 15.00/pc, O/A 60 days, delivery within 7 days.",
                policy, rates={"USD": 1.0})
    # [Finding("price_below_floor", "GL-200W floodlight: USD 15.00 quoted ('USD 15.00'), floor USD 18.50"),
    #  Finding("payment_terms_not_allowed", "open account ('O/A 60 days') is not an allowed ..."),
    #  Finding("lead_time_too_short", "'within 7 days' is shorter than our minimum lead time of 15 days")]

Files: ``price_floor.csv`` (product_or_sku, currency, min_unit_price; ``|`` separates aliases),
``quote_policy.toml`` (allowed payment terms, minimum lead time; optional) and
``company_profile.toml`` ([terms].lead_time, [products].lines, [bank]). See prompts/README.md.

Known limits: a price is attributed to the product named in its own line or sentence (else the
nearest one named earlier in the paragraph); amounts next to freight/sample/discount words are not
unit prices; a price in a currency without a configured rate is not compared; payment terms and
lead times are recognised from phrase lists (en, zh, es, de, fr, pt, vi), not understood.
"""

from __future__ import annotations

import csv
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.core.errors import InquiryDeskError
from bot.drafting.guards import duration_mentions, money_mentions, number_values
from bot.drafting.prompts import PROMPTS_DIR
from bot.trust.payment import extract_bank_ids

__all__ = [
    "BANK_DETAILS_MISMATCH",
    "LEAD_TIME_TOO_SHORT",
    "PAYMENT_TERMS_NOT_ALLOWED",
    "PRICE_BELOW_FLOOR",
    "BankDetails",
    "Finding",
    "PriceFloor",
    "QuotePolicy",
    "QuotePolicyError",
    "check_quote",
    "parse_rates",
]

PRICE_BELOW_FLOOR = "price_below_floor"
PAYMENT_TERMS_NOT_ALLOWED = "payment_terms_not_allowed"
LEAD_TIME_TOO_SHORT = "lead_time_too_short"
BANK_DETAILS_MISMATCH = "bank_details_mismatch"

PRICE_FLOOR_FILE = "price_floor.csv"
POLICY_FILE = "quote_policy.toml"
PROFILE_FILE = "company_profile.toml"


@dataclass(frozen=True)
class Finding:
    """One quote risk in an outgoing text: ``code`` is one of the four constants above."""

    code: str
    detail: str


class QuotePolicyError(InquiryDeskError, ValueError):
    """A policy file is missing or malformed; the message names the file and line."""


# -- rates ---------------------------------------------------------------------------------------

_CODE = re.compile(r"[A-Z]{3}")


def parse_rates(s: str) -> dict[str, float]:
    """``"EUR=1.08, CNY=0.14,USD=1"`` -> ``{"EUR": 1.08, "CNY": 0.14, "USD": 1.0}`` (USD per unit).

    An empty string gives ``{}``. Raises ``ValueError`` on a malformed pair, a code that is not
    three letters, a rate that is not a positive number, or a currency given twice.
    """
    rates: dict[str, float] = {}
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        code, sep, value = part.partition("=")
        code = code.strip().upper()
        if not sep or not _CODE.fullmatch(code):
            raise ValueError(f"bad exchange rate {part!r}: expected CODE=number, e.g. EUR=1.08")
        try:
            rate = float(value.strip())
        except ValueError:
            raise ValueError(f"bad exchange rate {part!r}: {value.strip()!r} is not a number") from None
        if not rate > 0 or rate == float("inf"):
            raise ValueError(f"bad exchange rate {part!r}: the rate must be a positive number")
        if code in rates:
            raise ValueError(f"exchange rate for {code} given twice")
        rates[code] = rate
    return rates


# -- policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceFloor:
    """One row of ``price_floor.csv``: the lowest unit price we quote for a product."""

    product: str  # the first alias, as written
    aliases: tuple[str, ...]
    currency: str
    min_unit_price: float
    line: int


@dataclass(frozen=True)
class BankDetails:
    """Our own account, from ``[bank]`` in the company profile."""

    beneficiary: str
    bank_name: str
    swift: str = ""
    account_number: str = ""
    iban: str = ""

    def ids(self) -> frozenset[str]:
        """Our ids in the form of ``extract_bank_ids`` (SWIFT shortened to its 8-character form)."""
        ids: set[str] = set()
        if self.iban:
            ids.add("IBAN:" + re.sub(r"[^A-Z0-9]", "", self.iban.upper()))
        if self.swift:
            ids.add("SWIFT:" + re.sub(r"[^A-Z0-9]", "", self.swift.upper())[:8])
        if self.account_number:
            ids.add("ACCT:" + re.sub(r"\D", "", self.account_number))
        return frozenset(ids)


@dataclass(frozen=True)
class QuotePolicy:
    """Everything ``check_quote`` compares against; build it with ``QuotePolicy.load()``."""

    floors: tuple[PriceFloor, ...] = ()
    allowed_payment_terms: tuple[str, ...] = ()
    min_lead_days: int | None = None
    bank: BankDetails | None = None
    product_lines: tuple[str, ...] = ()
    company_names: tuple[str, ...] = ()

    @classmethod
    def load(cls, prompts_dir: Path | None = None) -> QuotePolicy:
        """Read ``price_floor.csv``, ``quote_policy.toml`` (optional) and ``company_profile.toml``."""
        root = prompts_dir or PROMPTS_DIR
        profile = _read_toml(root / PROFILE_FILE, required=True)
        policy = _read_toml(root / POLICY_FILE, required=False)
        terms = _table(profile, "terms", PROFILE_FILE)
        products = _table(profile, "products", PROFILE_FILE)
        company = _table(profile, "company", PROFILE_FILE)

        payment = _table(policy, "payment", POLICY_FILE)
        allowed_raw = payment.get("allowed")
        if allowed_raw is None:
            allowed_raw = [terms["payment"]] if "payment" in terms else []
        if not isinstance(allowed_raw, list) or not all(isinstance(a, str) for a in allowed_raw):
            raise QuotePolicyError(f"{POLICY_FILE}: [payment] allowed must be a list of strings")

        lead = _table(policy, "lead_time", POLICY_FILE)
        min_days: int | None
        if "min_days" in lead:
            if not isinstance(lead["min_days"], int) or lead["min_days"] < 0:
                raise QuotePolicyError(f"{POLICY_FILE}: [lead_time] min_days must be a whole number of days")
            min_days = lead["min_days"]
        else:
            spans = duration_mentions(_normalize(str(terms.get("lead_time", ""))))
            min_days = spans[0].low_days if spans else None

        bank_table = _table(profile, "bank", PROFILE_FILE)
        bank = None
        if bank_table:
            bank = BankDetails(**{k: str(bank_table.get(k, "")) for k in BankDetails.__dataclass_fields__})
            if not bank.ids():
                raise QuotePolicyError(f"{PROFILE_FILE}: [bank] needs swift, account_number or iban")

        lines = products.get("lines", [])
        names = tuple(str(company[k]) for k in ("name", "legal_name") if company.get(k))
        return cls(
            floors=_read_floors(root / PRICE_FLOOR_FILE),
            allowed_payment_terms=tuple(allowed_raw),
            min_lead_days=min_days,
            bank=bank,
            product_lines=tuple(str(x) for x in lines) if isinstance(lines, list) else (),
            company_names=names,
        )


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise QuotePolicyError(f"{path.name}: file not found in {path.parent}") from None
        return {}
    except OSError as e:
        raise QuotePolicyError(f"{path.name}: cannot read: {e.strerror}") from e
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as e:
        raise QuotePolicyError(f"{path.name}: not valid TOML: {e}") from e


def _table(data: Mapping[str, Any], name: str, file: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise QuotePolicyError(f"{file}: [{name}] must be a table")
    return value


_HEADER = ["product_or_sku", "currency", "min_unit_price"]


def _read_floors(path: Path) -> tuple[PriceFloor, ...]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise QuotePolicyError(f"{path.name}: file not found in {path.parent}") from None
    except OSError as e:
        raise QuotePolicyError(f"{path.name}: cannot read: {e.strerror}") from e
    floors: list[PriceFloor] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name} line {number}"
        cells = [c.strip() for c in next(csv.reader([line]))]
        if not header_seen:
            if [c.lower() for c in cells] != _HEADER:
                raise QuotePolicyError(f"{where}: expected the header {','.join(_HEADER)}")
            header_seen = True
            continue
        if len(cells) != 3:
            raise QuotePolicyError(f"{where}: expected 3 columns, found {len(cells)}")
        product, currency, price = cells
        aliases = tuple(a.strip() for a in product.split("|") if a.strip())
        if not aliases:
            raise QuotePolicyError(f"{where}: product_or_sku is empty")
        code = _currency_code(currency)
        if code is None:
            raise QuotePolicyError(f"{where}: unknown currency {currency!r}")
        try:
            value = float(price)
        except ValueError:
            raise QuotePolicyError(f"{where}: min_unit_price {price!r} is not a number") from None
        if not value > 0 or value == float("inf"):
            raise QuotePolicyError(f"{where}: min_unit_price must be positive")
        floors.append(PriceFloor(aliases[0], aliases, code, value, number))
    if not header_seen:
        raise QuotePolicyError(f"{path.name}: no header row ({','.join(_HEADER)})")
    return tuple(floors)


# -- text helpers --------------------------------------------------------------------------------

_DIMENSION = re.compile(r"(\d)\s*[x×*]\s*(\d+)(?:\s*(?:cm|mm)\b)?", re.IGNORECASE)
_WATTS = re.compile(r"(\d)\s+(W)\b", re.IGNORECASE)


def _normalize(text: str) -> str:
    """NFKC (full-width digits and ￥), '600 x 600 mm' -> '600x600', '40 W' -> '40W'."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n")
    text = _DIMENSION.sub(r"\1x\2", text)
    return _WATTS.sub(r"\1\2", text)


_SENTENCE_END = re.compile(r"\n|[。！？；]|[.!?;](?=\s|$)")
_CLAUSE_END = re.compile(r"[,，、]\s*|\s[-–—]\s")


def _spans(text: str, splitter: re.Pattern[str], start: int = 0, end: int | None = None) -> list[range]:
    end = len(text) if end is None else end
    out: list[range] = []
    pos = start
    for m in splitter.finditer(text, start, end):
        out.append(range(pos, m.end()))
        pos = m.end()
    out.append(range(pos, end))
    return out


def _span_at(spans: Sequence[range], index: int) -> range:
    for span in spans:
        if span.start <= index < span.stop or index == span.stop == spans[-1].stop:
            return span
    return spans[-1]


def _words(pattern: str) -> re.Pattern[str]:
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


def _currency_code(token: str) -> str | None:
    t = re.sub(r"\s+", "", token).upper()
    if t in _CURRENCY_ALIASES:
        return _CURRENCY_ALIASES[t]
    if t.startswith("РУБ"):
        return "RUB"
    return t if _CODE.fullmatch(t) else None


# -- prices --------------------------------------------------------------------------------------

_NUM = r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_PRICE_WORD = (
    r"(?:unit\s+price|price|pricing|precio(?:\s+unitario)?|preço(?:\s+unitário)?|prix(?:\s+unitaire)?|"
    r"(?:Stück)?preis|Einzelpreis|giá(?:\s+bán)?|đơn\s+giá|单价|單價|价格|價格|报价|報價|售价|售價)"
)
_PRICE_CONTEXT = _words(r"\b" + _PRICE_WORD + r"|单价|單價|价格|價格|报价|報價|đơn\s+giá")
# Amounts that are not a product's unit price when the clause does not call them a price.
_OTHER_COST = _words(
    r"freight|shipping|courier|express|delivery\s+charge|insurance|sample|mou?ld|tooling|discount|rebate|"
    r"deposit|tax|vat|handling|total|subtotal|flete|env[ií]o|muestra|descuento|dep[oó]sito|Fracht|Versand|"
    r"Muster|Rabatt|Anzahlung|Gesamt|fret|échantillon|remise|acompte|amostra|desconto|sinal|cước|"
    r"vận\s+chuyển|mẫu|giảm|đặt\s+cọc|运费|運費|样品|樣品|折扣|优惠|優惠|定金|订金|訂金|合计|合計|总价|總價"
)
_ADJACENT_OTHER = _words(r"\s*(?:off|discount|rebate|less|de\s+descuento|Rabatt)\b")
_BARE_AFTER_PRODUCT = _words(
    rf"^[^\S\n]*(?:[—–:：|=]|-{{1,2}})[^\S\n]*(?:(?:fob\s+|unit\s+)?price[^\S\n]*[:：]?[^\S\n]*)?"
    rf"(?P<n>{_NUM})[^\S\n]*(?:/[^\S\n]*(?:pcs?|pieces?|units?|sets?)|per\s+(?:piece|unit|pc|set)|each)?"
    r"[^\S\n]*\|?[^\S\n]*$"
)
_BARE_AFTER_PRICE_WORD = _words(
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
            words = _normalize(alias).split()
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
        currency = _currency_code(mm.currency) if mm.currency else None
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


def _price_findings(text: str, policy: QuotePolicy, rates: Mapping[str, float]) -> list[Finding]:
    if not policy.floors:
        return []
    matchers = _matchers(policy.floors)
    sentences = _spans(text, _SENTENCE_END)
    paragraphs = _spans(text, re.compile(r"\n[^\S\n]*\n"))
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
        sentence = _span_at(sentences, price.start)
        clause = _span_at(_spans(text, _CLAUSE_END, sentence.start, sentence.stop), price.start)
        clause_text = text[clause.start : clause.stop]
        if _OTHER_COST.search(clause_text) and not _PRICE_CONTEXT.search(clause_text):
            continue
        mention = _nearest(_product_mentions(text, matchers, sentence), price.start, price.end)
        if mention is None:
            paragraph = _span_at(paragraphs, price.start)
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


# -- payment terms -------------------------------------------------------------------------------

_DAYS_AFTER = re.compile(
    r"^[^\n\d,;.，；。]{0,12}?(\d{1,3})\s*(?:days?|días|dias|jours|Tagen?|ngày|天|日)", re.IGNORECASE
)

_PAYMENT_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # (kind, label, pattern); a group "days" gives the credit period when the phrase holds it
    ("open_account", "open account", r"\bopen\s+account\b|\bO/A\b"),
    ("open_account", "open account", r"\bcuenta\s+abierta\b|\bconta\s+aberta\b|\bcompte\s+ouvert\b"),
    ("open_account", "open account", r"\b(?:auf|gegen)\s+(?:offene\s+)?Rechnung\b|\boffene[rn]?\s+Rechnung"),
    ("open_account", "open account", r"\bcông\s+nợ\b|\btrả\s+chậm\b|\bthanh\s+toán\s+chậm\b"),
    ("open_account", "open account", r"赊账|賒賬|赊帳|賒帳|赊销|賒銷|放账|放賬|账期|賬期|帳期"),
    ("monthly_settlement", "monthly settlement", r"月结|月結"),
    ("net_terms", "net terms", r"\bnet\s*(?P<days>\d{1,3})\b|\b(?P<days2>\d{1,3})\s+days\s+net\b"),
    ("net_terms", "net terms", r"\bnetto\s+(?P<days>\d{1,3})\s+Tage|\b(?P<days2>\d{1,3})\s+Tage\s+netto\b"),
    ("net_terms", "net terms", r"\bZahlungsziel|\bzahlbar\s+(?:innerhalb|binnen)\s+(?P<days>\d{1,3})\s+Tag"),
    ("net_terms", "net terms", r"\b(?P<days>\d{1,3})\s+jours\s+(?:net|fin\s+de\s+mois|date\s+de\s+facture)"),
    ("net_terms", "net terms", r"\bpago\s+a\s+(?P<days>\d{1,3})\s+d[ií]as\b|\bneto\s+(?P<days2>\d{1,3})\b"),
    ("net_terms", "net terms", r"\bpagamento\s+(?:a|em)\s+(?P<days>\d{1,3})\s+dias\b"),
    ("net_terms", "net terms", r"\bthanh\s+toán\s+(?:sau|trong(?:\s+vòng)?)\s+(?P<days>\d{1,3})\s+ngày"),
    ("net_terms", "net terms", r"(?:付款|结算|結算|结清|結清)期?\s*(?P<days>\d{1,3})\s*天"),
    ("documents_against_payment", "D/P (documents against payment)",
     r"\bD/P\b|\bdocuments?\s+against\s+payment|付款交单|付款交單|\bdocumentos?\s+contra\s+pago|"
     r"\bdocuments?\s+contre\s+paiement|\bDokumente\s+gegen\s+(?:Zahlung|Kasse)|"
     r"\bdocumentos?\s+contra\s+pagamento"),
    ("documents_against_acceptance", "D/A (documents against acceptance)",
     r"\bD/A\b|\bdocuments?\s+against\s+acceptance|承兑交单|承兌交單|\bdocumentos?\s+contra\s+aceptaci[oó]n|"
     r"\bdocuments?\s+contre\s+acceptation|\bDokumente\s+gegen\s+Akzept|\bdocumentos?\s+contra\s+aceite"),
    ("usance_lc", "usance L/C",
     r"\b(?:usance|deferred)\s+L/?C\b|\bL/?C\s+(?:at\s+)?(?P<days>\d{1,3})\s+days|远期信用证|遠期信用證|"
     r"信用证\s*(?P<days2>\d{1,3})\s*天|\bcarta\s+de\s+cr[eé]dito\s+a\s+(?P<days3>\d{1,3})\s+d[ií]as|"
     r"\bAkkreditiv\s+(?P<days4>\d{1,3})\s+Tage|\bL/C\s+trả\s+chậm"),
    ("after_delivery", "payment after delivery",
     r"(?:\d{1,3}\s*%|\bbalance|\bpayment|\bpay|\bpaid|\bpayable)\s+(?:\w+\s+){0,2}?(?:after|upon|on)\s+"
     r"(?:the\s+)?(?:delivery|arrival|receipt\s+of\s+(?:the\s+)?(?:goods|cargo|shipment))|"
     r"\bcash\s+on\s+delivery\b|\bCOD\b"),
    ("after_delivery", "payment after delivery",
     r"货到付款|貨到付款|到货后?付款|到貨後?付款|收货后付款|收貨後付款|验货后付款|驗貨後付款|货到.{0,4}付清"),
    ("after_delivery", "payment after delivery",
     r"\b(?:pago|paga\w*)\s+(?:contra|a\s+la|tras\s+la|despu[eé]s\s+de\s+la)\s+entrega|\bcontra\s*entrega|"
     r"\bcontrarreembolso|\d{1,3}\s*%\s+(?:contra|tras\s+la|despu[eé]s\s+de\s+la)\s+entrega"),
    ("after_delivery", "payment after delivery",
     r"\bpagamento\s+(?:na|contra|ap[oó]s\s+a|depois\s+da)\s+entrega|\d{1,3}\s*%\s+(?:ap[oó]s\s+a|depois\s+da)\s+"
     r"entrega"),
    ("after_delivery", "payment after delivery",
     r"\bpaiement\s+(?:à|a|après)\s+(?:la\s+)?(?:livraison|réception)|\bcontre[- ]remboursement|"
     r"\d{1,3}\s*%\s+(?:à|après)\s+(?:la\s+)?(?:livraison|réception)"),
    ("after_delivery", "payment after delivery",
     r"\bZahlung\s+(?:nach|bei)\s+(?:Lieferung|Erhalt|Wareneingang)|\d{1,3}\s*%\s+nach\s+(?:Lieferung|Erhalt)|"
     r"\bper\s+Nachnahme|\bNachnahme\b"),
    ("after_delivery", "payment after delivery",
     r"\bthanh\s+toán\s+(?:\d{1,3}\s*%\s+)?(?:sau\s+khi|khi)\s+(?:nhận|giao)\s+hàng|"
     r"\d{1,3}\s*%\s+(?:còn\s+lại\s+)?sau\s+khi\s+(?:nhận|giao)\s+hàng"),
)  # fmt: skip
_COMPILED_PAYMENT = tuple((k, label, re.compile(p, re.IGNORECASE)) for k, label, p in _PAYMENT_PATTERNS)

_DEPOSIT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?P<pct>\d{1,3})\s*%\s*(?:T/?T\s+)?(?:deposit|advance|down\s*payment|prepayment|in\s+advance)",
        r"\b(?:deposit|advance|down\s*payment|prepayment)\s+(?:of\s+)?(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s*(?:的)?\s*(?:定金|订金|訂金|预付款|預付款|预付|預付|首付)",
        r"(?:定金|订金|訂金|预付款|預付款|预付|預付)\s*(?P<pct>\d{1,3})\s*%",
        r"\b(?:dep[oó]sito|anticipo|adelanto|sinal|adiantamento|entrada|acompte|avance)\s+(?:del?\s+|d'|du\s+)?"
        r"(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s+(?:de\s+|d'|d’)?(?:dep[oó]sito|anticipo|adelanto|sinal|adiantamento|entrada|"
        r"acompte|avance)",
        r"(?P<pct>\d{1,3})\s*%\s+(?:Anzahlung|Vorauszahlung|Vorkasse)|\b(?:Anzahlung|Vorauszahlung)\s+(?:von\s+)?"
        r"(?P<pct2>\d{1,3})\s*%",
        r"\b(?:đặt\s+cọc|cọc|trả\s+trước|tạm\s+ứng)\s+(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s+(?:tiền\s+)?(?:đặt\s+cọc|cọc|trả\s+trước|tạm\s+ứng)",
    )
)

_NEGATION = _words(
    r"\b(?:not|no|never|cannot|can't|unable|nor|without)\b|n't\b|\bnunca\b|\bnão\b|\bpas\b|\bjamais\b|"
    r"\bnicht\b|\bkein\w*|\bkhông\b|\bchưa\b|不|无法|無法|拒绝|拒絕"
)


@dataclass(frozen=True)
class _Term:
    kind: str
    label: str
    days: int | None
    shown: str
    start: int
    end: int


def _negated(text: str, start: int) -> bool:
    sentence_start = max(text.rfind(ch, 0, start) for ch in ".!?;\n。！？；")
    return bool(_NEGATION.search(text, max(sentence_start + 1, start - 50), start))


def _payment_terms(text: str) -> tuple[list[_Term], list[tuple[int, str, int]]]:
    """Risky terms and (deposit %, shown, start) found in ``text``, skipping negated phrases."""
    terms: list[_Term] = []
    for kind, label, pattern in _COMPILED_PAYMENT:
        for m in pattern.finditer(text):
            if _negated(text, m.start()):
                continue
            given = [v for k, v in m.groupdict().items() if k.startswith("days") and v]
            after = _DAYS_AFTER.match(text[m.end() : m.end() + 30])
            days = int(given[0]) if given else int(after.group(1)) if after else None
            shown = m.group(0) + (after.group(0) if after and not given else "")
            end = m.end() + (after.end() if after and not given else 0)
            if any(t.kind == kind and t.start < end and m.start() < t.end for t in terms):
                continue  # the same term found by two phrasings ("Zahlungsziel 60 Tage netto")
            terms.append(_Term(kind, label, days, " ".join(shown.split()), m.start(), end))
    deposits: list[tuple[int, str, int]] = []
    for pattern in _DEPOSIT_PATTERNS:
        for m in pattern.finditer(text):
            pct = m.group("pct") if "pct2" not in pattern.groupindex else m.group("pct") or m.group("pct2")
            if pct is not None and not _negated(text, m.start()):
                deposits.append((int(pct), " ".join(m.group(0).split()), m.start()))
    return terms, deposits


def _payment_findings(text: str, policy: QuotePolicy) -> list[Finding]:
    allowed_terms: list[_Term] = []
    allowed_deposits: list[int] = []
    for allowed in policy.allowed_payment_terms:
        t, d = _payment_terms(_normalize(allowed))
        allowed_terms += t
        allowed_deposits += [pct for pct, _, _ in d]
    allowed_list = "; ".join(policy.allowed_payment_terms) or "none configured"

    def is_allowed(term: _Term) -> bool:
        return any(
            a.kind == term.kind and (a.days is None or (term.days is not None and term.days <= a.days))
            for a in allowed_terms
        )

    terms, deposits = _payment_terms(text)
    hits: list[tuple[int, Finding]] = []
    for term in terms:
        if not is_allowed(term):
            detail = f"{term.label} ('{term.shown}') is not an allowed payment term (allowed: {allowed_list})"
            hits.append((term.start, Finding(PAYMENT_TERMS_NOT_ALLOWED, detail)))
    if allowed_deposits:
        least = min(allowed_deposits)
        for pct, shown, start in deposits:
            if pct < least:
                detail = (
                    f"a {pct}% deposit ('{shown}') is less than the {least}% we ask (allowed: {allowed_list})"
                )
                hits.append((start, Finding(PAYMENT_TERMS_NOT_ALLOWED, detail)))
    return list(dict.fromkeys(f for _, f in sorted(hits, key=lambda h: h[0])))


# -- lead times ----------------------------------------------------------------------------------

_LEAD_WORDS = (
    r"lead[\s-]?time|deliver\w*|ship\w*|dispatch\w*|production|produce|manufactur\w*|turnaround|\bETD\b|"
    r"交期|交货|交貨|发货|發貨|出货|出貨|货期|貨期|生产|生產|到货|到貨|"
    r"entrega\w*|plazo|env[ií]o|despacho|producci[oó]n|fabricaci[oó]n|embarque|"
    r"Liefer\w*|geliefert|Versand|versend\w*|Produktion|Fertigung|"
    r"délai|livr\w*|expédi\w*|fabrication|prazo|produção|fabricação|"
    r"giao\s+hàng|thời\s+gian\s+giao|sản\s+xuất|vận\s+chuyển|xuất\s+hàng"
)
_PAYMENT_WORDS = (
    r"payment|\bpay\b|\bpaid\b|\bnet\b|\bO/A\b|open\s+account|credit|\bpago|\bZahlung|zahlbar|paiement|"
    r"pagamento|thanh\s+toán|付款|结算|結算|月结|月結|账期|賬期"
)
_LEAD_OR_PAYMENT = _words(rf"(?P<lead>{_LEAD_WORDS})|(?P<pay>{_PAYMENT_WORDS})")
_LEAD_CONTEXT = _words(_LEAD_WORDS)
# A duration in a clause about samples, validity, replies or warranty is never a lead time.
_NOT_LEAD = _words(
    r"sample|muestra|amostra|échantillon|Muster|campione|样品|樣品|样板|mẫu|"
    r"valid|válid|gültig|valable|hiệu\s+lực|有效|"
    r"reply|respond|answer|get\s+back|respuesta|responder|antwort\w*|répond\w*|trả\s+lời|phản\s+hồi|回复|回覆|答复|"
    r"warrant\w*|garant\w*|guarantee|保修|质保|bảo\s+hành"
)


def _is_lead_time(text: str, start: int, end: int, clause: range, sentence: range) -> bool:
    """The nearest lead-time or payment word in the clause decides (before the duration first:
    'delivery within 7 days after payment' vs 'O/A 7 days after delivery'); else the sentence."""
    if _NOT_LEAD.search(text, clause.start, clause.stop):
        return False
    before = list(_LEAD_OR_PAYMENT.finditer(text, clause.start, start))
    if before:
        return before[-1].group("lead") is not None
    after = _LEAD_OR_PAYMENT.search(text, end, clause.stop)
    if after is not None:
        return after.group("lead") is not None
    return _LEAD_CONTEXT.search(text, sentence.start, sentence.stop) is not None


def _lead_time_findings(text: str, policy: QuotePolicy) -> list[Finding]:
    if policy.min_lead_days is None:
        return []
    sentences = _spans(text, _SENTENCE_END)
    findings: list[Finding] = []
    for d in duration_mentions(text):
        if d.low_days >= policy.min_lead_days:
            continue
        sentence = _span_at(sentences, d.start)
        clause = _span_at(_spans(text, _CLAUSE_END, sentence.start, sentence.stop), d.start)
        if _is_lead_time(text, d.start, d.end, clause, sentence):
            detail = f"'{d.text}' is shorter than our minimum lead time of {policy.min_lead_days} days"
            findings.append(Finding(LEAD_TIME_TOO_SHORT, detail))
    return list(dict.fromkeys(findings))


# -- bank details --------------------------------------------------------------------------------

_BENEFICIARY = _words(
    r"(?:beneficiary(?:'s)?(?:\s+name)?|account\s+(?:name|holder)|受益人|收款人|收款单位|收款單位|"
    r"beneficiario|Begünstigte[rn]?|Kontoinhaber|Empfänger|bénéficiaire|titulaire\s+du\s+compte|"
    r"beneficiário|titular|người\s+thụ\s+hưởng|tên\s+tài\s+khoản|chủ\s+tài\s+khoản)"
    r"[^\S\n]*[:：][^\S\n]*(?P<name>[^\n;]+)"
)
_LEGAL_NOISE = _words(r"\b(?:co|company|ltd|limited|inc|llc|gmbh|corp|corporation)\b\.?|有限公司|公司")


def _name_key(name: str) -> str:
    name = _LEGAL_NOISE.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(re.sub(r"[^\w\s]", " ", name).split())


def _mask(bank_id: str) -> str:
    kind, _, value = bank_id.partition(":")
    return (
        f"SWIFT/BIC {value}"
        if kind == "SWIFT"
        else f"{'account' if kind == 'ACCT' else kind} ending {value[-4:]}"
    )


def _bank_findings(text: str, policy: QuotePolicy) -> list[Finding]:
    bank = policy.bank
    if bank is None:
        return []
    own = bank.ids()
    own_digits = {re.sub(r"\D", "", i.partition(":")[2]) for i in own if not i.startswith("SWIFT:")}
    findings: list[Finding] = []
    ours = ", ".join(_mask(i) for i in sorted(own))
    for bank_id in sorted(extract_bank_ids(text)):
        kind, _, value = bank_id.partition(":")
        if kind == "SWIFT" and f"SWIFT:{value[:8]}" in own:
            continue
        if kind == "ACCT" and any(value and value in d for d in own_digits):
            continue
        if bank_id in own:
            continue
        findings.append(
            Finding(BANK_DETAILS_MISMATCH, f"{_mask(bank_id)} is not our own account (ours: {ours})")
        )
    own_names = [_name_key(n) for n in (bank.beneficiary, *policy.company_names) if n]
    for m in _BENEFICIARY.finditer(text):
        name = m.group("name").strip().rstrip(".,")
        key = _name_key(name)
        if not key or re.fullmatch(r"[\d\s]+", key):
            continue
        if max((fuzz.token_set_ratio(key, own_name) for own_name in own_names), default=0.0) < 85:
            findings.append(
                Finding(
                    BANK_DETAILS_MISMATCH, f"beneficiary '{name}' is not our company ({bank.beneficiary})"
                )
            )
    return list(dict.fromkeys(findings))


# -- entry point ---------------------------------------------------------------------------------


def check_quote(text: str, policy: QuotePolicy, *, rates: Mapping[str, float]) -> list[Finding]:
    """Quote risks in an outgoing ``text`` (draft or reply), in the order: prices, payment terms,
    lead times, bank details; [] when none. ``rates``: USD per unit of each currency."""
    text = _normalize(text)
    return [
        *_price_findings(text, policy, rates),
        *_payment_findings(text, policy),
        *_lead_time_findings(text, policy),
        *_bank_findings(text, policy),
    ]
