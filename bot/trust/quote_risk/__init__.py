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

from collections.abc import Mapping

from bot.trust.quote_risk.bank import bank_findings
from bot.trust.quote_risk.findings import (
    BANK_DETAILS_MISMATCH,
    LEAD_TIME_TOO_SHORT,
    PAYMENT_TERMS_NOT_ALLOWED,
    PRICE_BELOW_FLOOR,
    Finding,
)
from bot.trust.quote_risk.lead_time import lead_time_findings
from bot.trust.quote_risk.policy import (
    BankDetails,
    PriceFloor,
    QuotePolicy,
    QuotePolicyError,
    parse_rates,
)
from bot.trust.quote_risk.prices import price_findings
from bot.trust.quote_risk.terms import payment_findings
from bot.trust.quote_risk.text import normalize

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


def check_quote(text: str, policy: QuotePolicy, *, rates: Mapping[str, float]) -> list[Finding]:
    """Quote risks in an outgoing ``text`` (draft or reply), in the order: prices, payment terms,
    lead times, bank details; [] when none. ``rates``: USD per unit of each currency."""
    text = normalize(text)
    return [
        *price_findings(text, policy, rates),
        *payment_findings(text, policy),
        *lead_time_findings(text, policy),
        *bank_findings(text, policy),
    ]
