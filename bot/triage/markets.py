"""Markets and mail-domain facts for triage, read once from the hand-kept files in ``data/``:

- ``markets.json``: which countries are the EU, US and SEA markets (a business grouping), the
  supplier's own countries, and the countries the desk hears from;
- ``cctld.json``: ccTLD labels that are not an alpha-2 code, ccTLDs sold as generic TLDs;
- ``free_mail.txt``: free-mail providers.

Names, languages, cities and time zones come from libraries: see ``bot/triage/geo.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from bot.core.models import Market

__all__ = [
    "CCTLD_SPECIAL",
    "EU_COUNTRIES",
    "FREE_MAIL_DOMAINS",
    "GENERIC_CCTLDS",
    "HEARD_FROM",
    "SEA_COUNTRIES",
    "SUPPLIER_SIDE",
    "US_COUNTRIES",
    "market_for",
]


def _read(name: str) -> str:
    return resources.files("bot.triage").joinpath("data", name).read_text("utf-8")


def _json(name: str) -> Any:
    return json.loads(_read(name))


_MARKETS = _json("markets.json")
_CCTLD = _json("cctld.json")

EU_COUNTRIES: frozenset[str] = frozenset(_MARKETS["EU"])
US_COUNTRIES: frozenset[str] = frozenset(_MARKETS["US"])
SEA_COUNTRIES: frozenset[str] = frozenset(_MARKETS["SEA"])
# Countries our supplier is in: names/cities of these in the *body* usually mean the supplier side
# ("FOB Shenzhen", "a supplier in China"), so only the signature may use them.
SUPPLIER_SIDE: frozenset[str] = frozenset(_MARKETS["supplier_side"])
# The countries the desk hears from, most often first -> rank: the candidates of the weak
# Date-offset hint, and its order among countries that share a language.
HEARD_FROM: Mapping[str, int] = {code: rank for rank, code in enumerate(_MARKETS["heard_from"])}

# ccTLD labels that do not map 1:1 to an alpha-2 code, and ccTLDs used as generic TLDs.
CCTLD_SPECIAL: Mapping[str, str] = dict(_CCTLD["special"])
GENERIC_CCTLDS: frozenset[str] = frozenset(_CCTLD["generic"])

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    line.strip().lower()
    for line in _read("free_mail.txt").splitlines()
    if line.strip() and not line.startswith("#")
)


def market_for(country: str | None, overrides: Mapping[str, Market] | None = None) -> Market:
    """Market of an ISO 3166-1 alpha-2 country; ``overrides`` (country -> market) win.

    >>> market_for("DE")
    <Market.EU: 'EU'>
    """
    if not country:
        return Market.OTHER
    code = country.upper()
    if overrides and code in overrides:
        return Market(overrides[code])
    if code in EU_COUNTRIES:
        return Market.EU
    if code in US_COUNTRIES:
        return Market.US
    if code in SEA_COUNTRIES:
        return Market.SEA
    return Market.OTHER
