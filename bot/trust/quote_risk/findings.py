"""What a quote check reports: ``Finding`` and its four codes."""

from __future__ import annotations

from dataclasses import dataclass

PRICE_BELOW_FLOOR = "price_below_floor"
PAYMENT_TERMS_NOT_ALLOWED = "payment_terms_not_allowed"
LEAD_TIME_TOO_SHORT = "lead_time_too_short"
BANK_DETAILS_MISMATCH = "bank_details_mismatch"


@dataclass(frozen=True)
class Finding:
    """One quote risk in an outgoing text: ``code`` is one of the four constants above."""

    code: str
    detail: str
