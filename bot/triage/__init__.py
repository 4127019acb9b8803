"""Triage: pure, explainable functions deciding what each email is (filter, language, region, tier)."""

from bot.triage import language, region
from bot.triage.engine import DEFAULT_SLA_HOURS, ThreadHints, TriageConfig, company_of, triage
from bot.triage.filter import classify, is_buyer_request
from bot.triage.language import detect_language
from bot.triage.markets import market_for
from bot.triage.region import detect_country
from bot.triage.tier import grade


def warm_up() -> None:
    """Load the langdetect profiles and build the place tables now (call from the main thread
    before workers start, or at a worker's start), not on the first mail."""
    language.warm_up()
    region.warm_up()


__all__ = [
    "DEFAULT_SLA_HOURS",
    "ThreadHints",
    "TriageConfig",
    "classify",
    "company_of",
    "detect_country",
    "detect_language",
    "grade",
    "is_buyer_request",
    "market_for",
    "triage",
    "warm_up",
]
