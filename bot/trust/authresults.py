"""Authentication-Results (RFC 8601): extract every instance from a raw message and decide,
from the one header our own server added, whether DMARC failed (or SPF and DKIM both did).

Headers below ours were written by whoever sent the message and can say anything, so only the
header whose authserv-id is ``AUTHSERV_ID`` counts when that is configured, else the topmost one.

``dmarc_failure(["mx.example.com; spf=fail smtp.mailfrom=a.com; dkim=none; dmarc=fail header.from=a.com"])``
-> ``"DMARC fail for header.from=a.com (checked by mx.example.com)"``.
"""

from __future__ import annotations

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


MAX_VALUES = 20  # Authentication-Results headers read, top down
MAX_VALUE_CHARS = 4000  # of each (real ones are under 2 kB); authres parses in quadratic time
MAX_HEAD_BYTES = 256 * 1024  # of the raw message searched for the header block


def authentication_results(raw: bytes) -> list[str]:
    """Every ``Authentication-Results`` value of ``raw``, top to bottom, unfolded (at most
    ``MAX_VALUES``, each cut to ``MAX_VALUE_CHARS`` at a ``;``). Only the top header block is
    read. Never raises."""
    try:
        head = raw[:MAX_HEAD_BYTES].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = head.find(b"\n\n")
        if end >= 0:
            head = head[:end]
        text = head.decode("ascii", errors="surrogateescape")
        values: list[str] = []
        current: list[str] | None = None
        for line in text.split("\n"):
            if line[:1] in (" ", "\t"):
                if current is not None and sum(map(len, current)) <= MAX_VALUE_CHARS:
                    current.append(line)
                continue
            if current is not None:
                values.append(_cap(" ".join(" ".join(current).split())))
                current = None
            if len(values) >= MAX_VALUES:
                break
            name, colon, value = line.partition(":")
            if colon and name.strip().lower() == "authentication-results":
                current = [value[: MAX_VALUE_CHARS + 1]]
        if current is not None and len(values) < MAX_VALUES:
            values.append(_cap(" ".join(" ".join(current).split())))
        return values
    except Exception:
        return []


def _cap(value: str) -> str:
    if len(value) <= MAX_VALUE_CHARS:
        return value
    cut = value[:MAX_VALUE_CHARS]
    return cut[: cut.rfind(";")] if ";" in cut else cut


def _parse(value: str) -> AuthVerdict | None:
    try:
        header = authres.AuthenticationResultsHeader.parse_value(_cap(value))
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
        for value in values[:MAX_VALUES]:
            if not value.strip().lower().startswith(wanted):
                continue  # the authserv-id comes first: no need to parse the rest
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
