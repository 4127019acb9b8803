"""The team's quote policy, loaded once from ``prompts/`` (``QuotePolicy.load()``), and the
exchange rates from configuration (``parse_rates``).

Files: ``price_floor.csv`` (product_or_sku, currency, min_unit_price; ``|`` separates aliases),
``quote_policy.toml`` (allowed payment terms, minimum lead time; optional) and
``company_profile.toml`` ([terms].lead_time, [products].lines, [bank]). See prompts/README.md.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import InquiryDeskError
from bot.drafting.guards import duration_mentions
from bot.drafting.prompts import PROMPTS_DIR
from bot.trust.quote_risk.text import CURRENCY_CODE, currency_code, normalize

PRICE_FLOOR_FILE = "price_floor.csv"
POLICY_FILE = "quote_policy.toml"
PROFILE_FILE = "company_profile.toml"


class QuotePolicyError(InquiryDeskError, ValueError):
    """A policy file is missing or malformed; the message names the file and line."""


# -- rates ---------------------------------------------------------------------------------------


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
        if not sep or not CURRENCY_CODE.fullmatch(code):
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
            spans = duration_mentions(normalize(str(terms.get("lead_time", ""))))
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
        code = currency_code(currency)
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
