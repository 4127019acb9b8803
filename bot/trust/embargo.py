"""Embargoed destinations: the buyer's country against ``EMBARGOED_COUNTRIES`` and sanctioned
regions (Crimea, Sevastopol, the so-called DNR/LNR) named in the text or signature, whatever
country the triage decided (these regions are usually filed under UA or RU).

``embargo_reason("IR", "", DEFAULT_EMBARGOED)`` -> ``"buyer country IR is embargoed"``;
``embargo_reason("UA", "ул. Ленина 5, Симферополь", DEFAULT_EMBARGOED)`` -> ``"... Crimea ..."``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_EMBARGOED", "SANCTIONED_REGIONS", "embargo_reason", "sanctioned_region"]

DEFAULT_EMBARGOED: frozenset[str] = frozenset({"CU", "IR", "KP", "SY"})

# Region -> words that place an address there (Latin spellings, Ukrainian, Russian, Crimean Tatar).
SANCTIONED_REGIONS: dict[str, tuple[str, ...]] = {
    "Crimea": (
        r"crimea\w*", r"krym\w*", r"qırım", r"qirim", r"crimée", r"krim\b",
        r"крым\w*", r"крим\b", r"криму\b", r"кримськ\w*", r"sevastopol\w*", r"севастопол\w*",
        r"simferopol\w*", r"сімферопол\w*", r"симферопол\w*", r"kerch\b", r"керч\w*", r"yalta\b", r"ялт\w*",
        r"yevpatori\w*", r"evpatori\w*", r"евпатори\w*", r"feodosi\w*", r"феодоси\w*",
    ),
    "Donetsk (DNR)": (r"donetsk\w*", r"донецк\w*", r"донецьк\w*", r"\bdnr\b", r"\bднр\b"),
    "Luhansk (LNR)": (r"luhansk\w*", r"lugansk\w*", r"луганск\w*", r"луганськ\w*", r"\blnr\b", r"\bлнр\b"),
}  # fmt: skip

_REGION_RE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (region, re.compile(r"(?<!\w)(?:" + "|".join(words) + ")", re.IGNORECASE))
    for region, words in SANCTIONED_REGIONS.items()
)


def sanctioned_region(text: str) -> tuple[str, str] | None:
    """``(region, word found)`` for the first sanctioned region the text names."""
    if not text:
        return None
    for region, pattern in _REGION_RE:
        match = pattern.search(text)
        if match:
            return region, match.group(0)
    return None


def embargo_reason(
    country: str | None, text: str, embargoed: Iterable[str] = DEFAULT_EMBARGOED
) -> str | None:
    """Why this buyer is in an embargoed destination, or None."""
    codes = {c.strip().upper() for c in embargoed if c.strip()}
    if country and country.upper() in codes:
        return f"buyer country {country.upper()} is embargoed"
    found = sanctioned_region(text)
    if found:
        region, word = found
        return f"address mentions {word!r}: sanctioned region {region}"
    return None
