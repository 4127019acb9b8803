"""Authentication-Results (RFC 8601): extract every instance from a raw message and decide,
from the one header our own server added, whether DMARC failed (or SPF and DKIM both did).

Headers below ours were written by whoever sent the message and can say anything, so only the
header whose authserv-id is ``AUTHSERV_ID`` counts when that is configured, else the topmost one.

``dmarc_failure(["mx.example.com; spf=fail smtp.mailfrom=a.com; dkim=none; dmarc=fail header.from=a.com"])``
-> ``"DMARC fail for header.from=a.com (checked by mx.example.com)"``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass

import authres

__all__ = ["AuthVerdict", "authentication_results", "dmarc_failure", "trusted_verdict"]

_SPF_FAILED = frozenset({"fail", "softfail", "permerror"})
_DKIM_FAILED = frozenset({"fail", "permerror", "neutral", "policy", "none"})


@dataclass(frozen=True)
class AuthVerdict:
    """What one Authentication-Results header says; each field lists the results of that method."""

    authserv_id: str
    dmarc: tuple[str, ...]
    spf: tuple[str, ...]
    dkim: tuple[str, ...]
    header_from: str = ""


def authentication_results(raw: bytes) -> list[str]:
    """Every ``Authentication-Results`` value of ``raw``, top to bottom, unfolded. Never raises."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        values = msg.get_all("Authentication-Results") or []
        return [" ".join(str(v).split()) for v in values]
    except Exception:
        return []


def _parse(value: str) -> AuthVerdict | None:
    try:
        header = authres.AuthenticationResultsHeader.parse_value(value)
    except Exception:
        return None
    by_method: dict[str, list[str]] = {"dmarc": [], "spf": [], "dkim": []}
    header_from = ""
    for result in header.results:
        method = str(result.method).lower()
        if method in by_method:
            by_method[method].append(str(result.result).lower())
        if method == "dmarc" and not header_from:
            for prop in getattr(result, "properties", []) or []:
                if f"{prop.type}.{prop.name}".lower() == "header.from":
                    header_from = str(prop.value)
    return AuthVerdict(
        authserv_id=str(header.authserv_id or "").lower(),
        dmarc=tuple(by_method["dmarc"]),
        spf=tuple(by_method["spf"]),
        dkim=tuple(by_method["dkim"]),
        header_from=header_from,
    )


def trusted_verdict(values: Sequence[str], authserv_id: str | None = None) -> AuthVerdict | None:
    """The verdict of the header our server added: the topmost with ``authserv_id`` when it is
    given, else the topmost header of all. ``None`` when there is none (or it cannot be parsed)."""
    if authserv_id:
        wanted = authserv_id.strip().lower()
        for value in values:
            verdict = _parse(value)
            if verdict is not None and verdict.authserv_id == wanted:
                return verdict
        return None
    return _parse(values[0]) if values else None


def dmarc_failure(values: Sequence[str], authserv_id: str | None = None) -> str | None:
    """A one-line reason when the trusted header says DMARC failed or SPF and DKIM both failed."""
    verdict = trusted_verdict(values, authserv_id)
    if verdict is None:
        return None
    where = f"checked by {verdict.authserv_id}" if verdict.authserv_id else "checked by our server"
    subject = f" for header.from={verdict.header_from}" if verdict.header_from else ""
    if "fail" in verdict.dmarc:
        return f"DMARC fail{subject} ({where})"
    if "pass" in verdict.dmarc:
        return None
    spf_failed = bool(verdict.spf) and all(r in _SPF_FAILED for r in verdict.spf)
    dkim_failed = not any(r == "pass" for r in verdict.dkim) and all(r in _DKIM_FAILED for r in verdict.dkim)
    if spf_failed and dkim_failed:
        spf = "/".join(verdict.spf)
        dkim = "/".join(verdict.dkim) or "absent"
        return f"SPF {spf} and DKIM {dkim} ({where})"
    return None
