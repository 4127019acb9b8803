"""Bank details that are not our own: account ids (IBAN, SWIFT, account number) and beneficiary
names in an outgoing text compared with ``[bank]`` of the company profile."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from bot.trust.payment import extract_bank_ids
from bot.trust.quote_risk.findings import BANK_DETAILS_MISMATCH, Finding
from bot.trust.quote_risk.policy import QuotePolicy
from bot.trust.quote_risk.text import words

_BENEFICIARY = words(
    r"(?:beneficiary(?:'s)?(?:\s+name)?|account\s+(?:name|holder)|受益人|收款人|收款单位|收款單位|"
    r"beneficiario|Begünstigte[rn]?|Kontoinhaber|Empfänger|bénéficiaire|titulaire\s+du\s+compte|"
    r"beneficiário|titular|người\s+thụ\s+hưởng|tên\s+tài\s+khoản|chủ\s+tài\s+khoản)"
    r"[^\S\n]*[:：][^\S\n]*(?P<name>[^\n;]+)"
)
_LEGAL_NOISE = words(r"\b(?:co|company|ltd|limited|inc|llc|gmbh|corp|corporation)\b\.?|有限公司|公司")


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


def bank_findings(text: str, policy: QuotePolicy) -> list[Finding]:
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
