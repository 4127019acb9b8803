"""Triage engine: combines filter, language, region and tier into one explainable ``Triage``.

``triage(email, TriageConfig(own_domains=frozenset({"brightway-led.com"})))`` never raises on a
``ParsedEmail`` and costs about one langdetect call (~1-2 ms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot.core.models import Category, Market, ParsedEmail, Risk, RiskSignal, Triage, Warning
from bot.triage.filter import classify
from bot.triage.lanes import Thresholds, combine, decide
from bot.triage.language import UNDETERMINED, detect_language, malay_or_indonesian
from bot.triage.markets import market_for
from bot.triage.profile import EMPTY_PROFILE, ProductProfile
from bot.triage.region import (
    cctld_country,
    country_signals,
    decide_country,
    domain_of,
    is_free_mail,
    registrable_domain,
)
from bot.triage.signals.headers import server_says_forged
from bot.triage.tier import grade

_RISK_CATEGORIES = frozenset({Category.INQUIRY, Category.SPAM, Category.NO_REPLY, Category.NEWSLETTER})
SPOOFED_OWN_DOMAIN = "spoofed_own_domain"
W_SPOOFED_OWN = 4.0  # a card in the review lane, never filtered as internal

DEFAULT_SLA_HOURS: Mapping[Market, float] = MappingProxyType(
    {Market.EU: 8.0, Market.US: 8.0, Market.SEA: 4.0, Market.OTHER: 8.0}
)


@dataclass(frozen=True)
class TriageConfig:
    own_domains: frozenset[str] = frozenset()
    sla_hours: Mapping[Market, float] = field(default_factory=lambda: DEFAULT_SLA_HOURS)
    market_overrides: Mapping[str, Market] = field(default_factory=lambda: MappingProxyType({}))
    thresholds: Thresholds = field(default_factory=Thresholds)
    profile: ProductProfile = EMPTY_PROFILE  # the team's products and spec patterns (company_profile.toml)
    own_addresses: frozenset[str] = frozenset()  # the mailbox's own addresses (IMAP_USER, ...)
    authserv_id: str | None = None  # the provider's Authentication-Results id (see risk signals)

    def product_terms_in(self, text: str) -> list[str]:
        """The team's product terms that ``text`` names (from the profile; none configured: [])."""
        found = self.profile.product_in(text)
        return [found] if found else []


@dataclass(frozen=True)
class ThreadHints:
    """What is known from earlier messages of the thread."""

    language: str | None = None
    country: str | None = None


_COMPANY_LINE_RE = re.compile(
    r"^[^\n]{0,60}\b(?:GmbH|AG|Ltd\.?|Limited|LLC|Inc\.?|Corp\.?|S\.A\.(?: de C\.V\.)?|S\.L\.|S\.r\.l\.|"
    r"S\.p\.A\.|B\.V\.|Sp\. z o\.o\.|A\.Ş\.|Sdn\.? Bhd\.?|JSC|Co\.,? ?Ltd\.?|Pty Ltd|SARL|SAS|LLP)(?!\w)"
    r"[^\n]{0,20}$|^(?:PT|CV|Công ty|Cong ty|บริษัท|ООО|شركة)\s[^\n]{2,60}$|"
    r"^[^\n]{2,40}(?:有限公司|株式会社)[^\n]{0,10}$",
    re.MULTILINE,
)


def company_of(email: ParsedEmail, own_domains: frozenset[str] = frozenset()) -> str | None:
    """Company name from a signature line with a legal form, else the sender's company domain."""
    sig = email.signature or "\n".join((email.new_text or "").strip().splitlines()[-8:])
    m = _COMPANY_LINE_RE.search(sig)
    if m:
        return m.group(0).strip(" ,|-")[:80]
    domain = domain_of(email.from_addr or "")
    if domain and not is_free_mail(domain):
        company = registrable_domain(domain)
        if company not in {d.lower() for d in own_domains}:
            return company
    return None


def _sla(config: TriageConfig, market: Market) -> float:
    if market in config.sla_hours:
        return float(config.sla_hours[market])
    return float(DEFAULT_SLA_HOURS[market])


def triage(email: ParsedEmail, config: TriageConfig, hints: ThreadHints | None = None) -> Triage:
    """Decide what ``email`` is: inquiry or not, language, country/market, tier, SLA, reasons."""
    hints = hints or ThreadHints()
    category, reason = classify(email, config.own_domains, config.profile)
    spoof: str | None = None
    if category is Category.INTERNAL:
        spoof = server_says_forged(email, config.authserv_id)
        if spoof is not None:  # our domain in From, but our own server says it is forged
            category, reason = Category.INQUIRY, f"not internal: sender uses our domain but {spoof}"
    is_inquiry = category is Category.INQUIRY

    body = (email.new_text or "").strip() or (email.text or "").strip()
    text = body
    if len(re.findall(r"\w", body)) < 40 and email.subject:
        text = f"{email.subject}\n{body}"

    signals = country_signals(email)
    strong_country, _ = decide_country(signals, None, None) if signals else (None, [])
    tld = cctld_country(email.from_addr or "")
    language, lang_reason = detect_language(
        text,
        thread_language=hints.language,
        country=strong_country or hints.country,
        tld_country=tld,
    )
    country, country_reasons = decide_country(signals, language, email.date_utc_offset_minutes)
    if country is None and hints.country:
        country, country_reasons = hints.country.upper(), [f"thread country {hints.country.upper()}"]
    if language in ("id", "ms") and country and country != strong_country and "words:" not in lang_reason:
        language, lang_reason = malay_or_indonesian(text, country)
    market = market_for(country, config.market_overrides)

    reasons: list[str] = []
    tier = None
    if is_inquiry:  # graded in the review lane too: a rep who says "Real buyer" sees the tier
        tier, tier_reasons = grade(email, language, config.profile)
        reasons.extend(tier_reasons)
    reasons.extend(country_reasons)
    reasons.append(f"market {market.value}" + (f" ({country})" if country else " (country unknown)"))
    reasons.append(
        f"language {language}: {lang_reason}"
        if language != UNDETERMINED
        else f"language unknown: {lang_reason}"
    )

    verdict = Triage(
        is_inquiry=is_inquiry,
        category=category,
        reason=reason,
        language=language,
        country=country,
        market=market,
        tier=tier,
        sla_hours=_sla(config, market),
        reasons=tuple(reasons),
        company=company_of(email, config.own_domains),
    )
    # Lures hide among would-be inquiries, pitches, list-looking and sender-less mail; bounces,
    # auto-replies and our own people's mail carry none worth a warning (skipping saves CPU).
    risk = assess_risk(email, config) if category in _RISK_CATEGORIES else Risk()
    if spoof is not None:
        risk = combine((*risk.signals, RiskSignal(SPOOFED_OWN_DOMAIN, W_SPOOFED_OWN, spoof)))
        verdict = replace(
            verdict, warnings=(Warning(SPOOFED_OWN_DOMAIN, f"{email.from_addr}: {spoof}"), *verdict.warnings)
        )
    return decide(verdict, risk, config.thresholds)


def assess_risk(email: ParsedEmail, config: TriageConfig) -> Risk:
    """Lure/pitch signals of one mail the filter kept (see :mod:`bot.triage.risk`)."""
    from bot.triage.risk import assess

    return assess(email, config)
