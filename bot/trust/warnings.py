"""Trust warnings for one email: the six codes of issue #9 computed from the parsed email, the
triage verdict and what the store knows (``TrustContext``). Pure: no I/O, no clock.

``compute_warnings(email, verdict, TrustContext(own_domains=frozenset({"brightway-led.com"})),
auth_results=authentication_results(raw))`` -> ``(Warning("reply_to_mismatch", "..."),)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.models import ParsedEmail, Triage, Warning
from bot.triage.region import domain_of, is_free_mail, registrable_domain
from bot.trust.authresults import dmarc_failure
from bot.trust.embargo import DEFAULT_EMBARGOED, embargo_reason
from bot.trust.lookalike import lookalike_of
from bot.trust.payment import bank_id_change, payment_change_phrase
from bot.trust.screening import Screener

__all__ = [
    "DMARC_FAIL",
    "EMBARGOED_COUNTRY",
    "LOOKALIKE_DOMAIN",
    "PAYMENT_CHANGE",
    "REPLY_TO_MISMATCH",
    "SANCTIONS_POSSIBLE_MATCH",
    "TrustContext",
    "compute_warnings",
]

DMARC_FAIL = "dmarc_fail"
LOOKALIKE_DOMAIN = "lookalike_domain"
REPLY_TO_MISMATCH = "reply_to_mismatch"
PAYMENT_CHANGE = "payment_change"
EMBARGOED_COUNTRY = "embargoed_country"
SANCTIONS_POSSIBLE_MATCH = "sanctions_possible_match"

MAX_SANCTION_WARNINGS = 3


@dataclass(frozen=True)
class TrustContext:
    """What the checks need beyond the email. ``known_domains``: buyer domains from the store;
    ``known_bank_ids``: ids from ``extract_bank_ids`` seen earlier from this buyer."""

    own_domains: frozenset[str] = frozenset()
    known_domains: frozenset[str] = frozenset()
    authserv_id: str | None = None
    embargoed_countries: frozenset[str] = DEFAULT_EMBARGOED
    known_bank_ids: frozenset[str] = frozenset()
    screener: Screener | None = field(default=None, compare=False)


def _lookalike(email: ParsedEmail, ctx: TrustContext) -> Warning | None:
    known = ctx.own_domains | ctx.known_domains
    if not known:
        return None
    for role, addr in (("sender", email.from_addr), *(("Reply-To", r) for r in email.reply_to)):
        domain = domain_of(addr)
        if not domain:
            continue
        found = lookalike_of(domain, known)
        if found:
            target, how = found
            kind = {"edit": "a small edit", "homoglyph": "look-alike characters", "tld": "another suffix"}[
                how
            ]
            return Warning(LOOKALIKE_DOMAIN, f"{role} domain {domain} imitates {target} ({kind})")
    return None


def _reply_to(email: ParsedEmail, ctx: TrustContext) -> Warning | None:
    from_domain = domain_of(email.from_addr)
    if not from_domain or not email.reply_to:
        return None
    from_reg = registrable_domain(from_domain)
    own = {registrable_domain(d) for d in ctx.own_domains}
    for addr in email.reply_to:
        domain = domain_of(addr)
        if not domain:
            continue
        reg = registrable_domain(domain)
        if reg == from_reg or reg in own:
            continue
        free = " (free mail)" if is_free_mail(domain) and not is_free_mail(from_domain) else ""
        return Warning(
            REPLY_TO_MISMATCH, f"Reply-To goes to {domain}{free}, not the sender's domain {from_reg}"
        )
    return None


def _payment(email: ParsedEmail, ctx: TrustContext) -> Warning | None:
    phrase = payment_change_phrase(f"{email.subject}\n{email.new_text}")
    if phrase:
        lang, words = phrase
        return Warning(PAYMENT_CHANGE, f"asks to pay into changed bank details ({lang}: “{words}”)")
    changed = bank_id_change(f"{email.new_text}\n{email.signature}", ctx.known_bank_ids)
    if changed:
        return Warning(PAYMENT_CHANGE, changed)
    return None


def _sanctions(email: ParsedEmail, verdict: Triage, ctx: TrustContext) -> list[Warning]:
    if ctx.screener is None:
        return []
    addresses = [a for a in (email.from_addr, *email.reply_to) if a]
    names = [n for n in (email.from_name, verdict.company or "") if n]
    domains = [d for d in (domain_of(a) for a in addresses) if d and d not in ctx.own_domains]
    matches = ctx.screener.screen(names, addresses, domains)
    return [
        Warning(
            SANCTIONS_POSSIBLE_MATCH, f"{m.entry_name} on {m.list_name}, score {m.score:.0f} ({m.matched_on})"
        )
        for m in matches[:MAX_SANCTION_WARNINGS]
    ]


def compute_warnings(
    email: ParsedEmail,
    verdict: Triage,
    ctx: TrustContext,
    auth_results: Sequence[str] = (),
) -> tuple[Warning, ...]:
    """Every trust warning for this email, in a fixed order, at most one per code except
    ``sanctions_possible_match`` (one per matching list entry, at most three)."""
    out: list[Warning] = []
    dmarc = dmarc_failure(auth_results, ctx.authserv_id)
    if dmarc:
        out.append(Warning(DMARC_FAIL, dmarc))
    for check in (_lookalike(email, ctx), _reply_to(email, ctx), _payment(email, ctx)):
        if check is not None:
            out.append(check)
    embargo = embargo_reason(verdict.country, f"{email.new_text}\n{email.signature}", ctx.embargoed_countries)
    if embargo:
        out.append(Warning(EMBARGOED_COUNTRY, embargo))
    out.extend(_sanctions(email, verdict, ctx))
    return tuple(out)
