"""Trust checks (issue #9): impersonation and payment-fraud warnings, embargo and sanctions
screening. Pure modules; the ingest path calls ``compute_warnings`` with a ``TrustContext``.
"""

from bot.trust.authresults import authentication_results, dmarc_failure
from bot.trust.payment import extract_bank_ids
from bot.trust.screening import Match, Screener, ScreeningError, ScreeningList, fetch_list, load_list
from bot.trust.warnings import TrustContext, compute_warnings

__all__ = [
    "Match",
    "Screener",
    "ScreeningError",
    "ScreeningList",
    "TrustContext",
    "authentication_results",
    "compute_warnings",
    "dmarc_failure",
    "extract_bank_ids",
    "fetch_list",
    "load_list",
]
