"""Place data for triage, from maintained libraries, each table built once on first use:

- country names: CLDR (Babel) in English and in each country's official languages, plus
  pycountry's English names ("Viet Nam", "Hong Kong");
- city names: CLDR's exemplar cities of the IANA time zones (Babel), in the same languages;
- country <-> language: CLDR's territory-language data (official languages by share of speakers;
  a language's home country from CLDR's likely subtags);
- UTC offset -> countries: the IANA zones of each country (CLDR) through ``zoneinfo``/``tzdata``.

What no library gives stays hand-kept in ``data/`` beside this module: abbreviations and
exonyms ("UK", "KSA", "Allemagne"), cities that are not zone exemplars ("Hamburg", "Shenzhen"),
names too ambiguous to count ("Jordan", "Chad", "Georgia"), and the few countries whose business
mail is not written in their most-spoken official language.
"""

from __future__ import annotations

import functools
import json
import logging
import pickle
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from babel import localedata
from babel.core import get_global

from bot.core.errors import InquiryDeskError

__all__ = [
    "TimeZoneDataError",
    "city_names",
    "country_language",
    "country_names",
    "language_countries",
    "language_country",
    "offset_countries",
]

_OFFICIAL = frozenset({"official", "de_facto_official"})
# Territories that are not a sender's country: Antarctica, unknown, EU/UN/eurozone, pseudo-regions.
_NOT_COUNTRIES = frozenset({"AQ", "ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"})


log = logging.getLogger(__name__)


class TimeZoneDataError(InquiryDeskError):
    """The IANA time zone database is missing, wholly or for a country (install ``tzdata``)."""


@functools.cache
def _data(name: str) -> Any:
    return json.loads(resources.files("bot.triage").joinpath("data", name).read_text("utf-8"))


def _lines(name: str) -> list[str]:
    text = resources.files("bot.triage").joinpath("data", name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def countries() -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes of the countries and territories senders write from."""
    return tuple(
        sorted(
            c.alpha_2
            for c in pycountry.countries
            if c.alpha_2 not in _NOT_COUNTRIES and c.alpha_2 in get_global("territory_zones")
        )
    )


def _official_languages(country: str) -> list[str]:
    """CLDR language tags with official status in ``country``, most speakers first."""
    langs = get_global("territory_languages").get(country, {})
    ranked = sorted(
        ((info.get("population_percent") or 0.0, tag) for tag, info in langs.items()
         if info.get("official_status") in _OFFICIAL),
        key=lambda pair: -pair[0],
    )  # fmt: skip
    return [tag for _, tag in ranked]


def _base(tag: str) -> str:
    """The language code triage uses for a CLDR tag: ``zh_Hant`` -> zh, ``nb`` -> no."""
    base = tag.replace("-", "_").split("_", 1)[0].lower()
    aliases: Mapping[str, str] = _data("business_languages.json")["detector_codes"]
    return aliases.get(base, base)


def _chain(tag: str) -> list[str]:
    """A CLDR locale and the ones it inherits from: ``en_LC`` -> en_LC, en_001, en, root."""
    exceptions: Mapping[str, str] = get_global("parent_exceptions")
    out: list[str] = []
    while tag != "root":
        if localedata.exists(tag):
            out.append(tag)
        tag = exceptions.get(tag) or (tag.rsplit("_", 1)[0] if "_" in tag else "root")
    return [*out, "root"]


def _name_tags(country: str) -> list[str]:
    """CLDR locale files holding the country's names: English and each official language in the
    country's regional variant (``en_LC``, ``fr_CM``), with the locales they inherit from."""
    tags = ["en", *(f"{tag}_{country}" for tag in _official_languages(country))]
    return list(dict.fromkeys(t for tag in tags for t in _chain(tag)))


def _read_locale(tag: str) -> tuple[dict[str, str], dict[str, str]]:
    """(territory -> name, zone -> exemplar city) of one CLDR locale file. Read directly, not
    through ``Locale``: Babel keeps every locale it loads, ~110 MB for the ~450 files here, and a
    mail worker must stay small."""
    with open(localedata.resolve_locale_filename(tag), "rb") as f:
        data = pickle.load(f)  # Babel's own bundled CLDR data, as Babel itself reads it
    territories = {str(k): str(v) for k, v in data.get("territories", {}).items()}
    cities = {
        str(zone): str(info["city"])
        for zone, info in data.get("time_zones", {}).items()
        if isinstance(info, Mapping) and info.get("city")
    }
    return territories, cities


@functools.cache
def _cldr_names() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(country -> its names, zone -> its city names) in English and the country's official
    languages, reading each locale file once."""
    wanted: dict[str, list[str]] = {}
    for code in countries():
        for tag in _name_tags(code):
            wanted.setdefault(tag, []).append(code)
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    names: dict[str, list[str]] = {}
    cities: dict[str, list[str]] = {}
    for tag, codes in wanted.items():
        territories, exemplars = _read_locale(tag)
        for code in codes:
            if territories.get(code):
                names.setdefault(code, []).append(territories[code])
            for zone in zones.get(code, ()):
                if exemplars.get(zone):
                    cities.setdefault(zone, []).append(exemplars[zone])
    return names, cities


def _key(name: str) -> str:
    return " ".join(name.split()).lower()


def _add(table: dict[str, str], names: Iterable[str], code: str, ambiguous: frozenset[str]) -> None:
    for name in names:
        key = _key(name)
        if len(key) < 3 or key in ambiguous or re.search(r"[,()]", key):
            continue
        table.setdefault(key, code)


@functools.cache
def _ambiguous() -> frozenset[str]:
    return frozenset(_key(n) for n in _lines("ambiguous_place_names.txt"))


@functools.cache
def country_names() -> Mapping[str, str]:
    """Lower-case country names (English and native, CLDR and ISO, plus ``data/country_aliases.json``)
    -> alpha-2: ``"deutschland"`` -> ``"DE"``, ``"việt nam"`` -> ``"VN"``."""
    ambiguous = _ambiguous()
    table: dict[str, str] = {}
    aliases: dict[str, str] = _data("country_aliases.json")["names"]
    for name, code in aliases.items():
        table[_key(name)] = code
    cldr, _ = _cldr_names()
    for code in countries():
        _add(table, cldr.get(code, ()), code, ambiguous)
        iso = pycountry.countries.get(alpha_2=code)
        if iso is not None:
            names = [getattr(iso, attr, "") for attr in ("name", "common_name", "official_name")]
            _add(table, [n for n in names if n], code, ambiguous)
    return table


@functools.cache
def caps_only_names() -> frozenset[str]:
    """Names that count only in capitals ("UK", "USA": not "uk" in a word, "usa" in Spanish)."""
    return frozenset(_key(n) for n in _data("country_aliases.json")["caps_only"])


@functools.cache
def city_names() -> Mapping[str, str]:
    """Lower-case city names -> alpha-2: CLDR exemplar cities of each country's time zones in
    English and its official languages, plus ``data/city_names.json``."""
    ambiguous = _ambiguous() | frozenset(country_names())
    table: dict[str, str] = {_key(k): v for k, v in _data("city_names.json").items()}
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    _, cldr = _cldr_names()
    for code in countries():
        for zone in zones.get(code, ()):
            if not zone.startswith("Etc/"):
                _add(table, [zone.rsplit("/", 1)[-1].replace("_", " "), *cldr.get(zone, ())], code, ambiguous)
    return table


@functools.cache
def country_language() -> Mapping[str, str]:
    """Alpha-2 -> the language its business mail is most likely in: the official language most
    of its people speak (CLDR), unless ``data/business_languages.json`` says otherwise."""
    table: dict[str, str] = {}
    for code in countries():
        official = _official_languages(code)
        if official:
            table[code] = _base(official[0])
    table.update(_data("business_languages.json")["country_language"])
    return table


@functools.cache
def language_countries() -> Mapping[str, tuple[str, ...]]:
    """Language -> the countries where it is official (CLDR), its home country (CLDR likely
    subtags: en -> US, pt -> BR) first, then by share of speakers."""
    likely: Mapping[str, str] = get_global("likely_subtags")
    shares: dict[str, list[tuple[float, str]]] = {}
    for code in countries():
        for tag, info in get_global("territory_languages").get(code, {}).items():
            if info.get("official_status") in _OFFICIAL:
                shares.setdefault(_base(tag), []).append((info.get("population_percent") or 0.0, code))
    out: dict[str, tuple[str, ...]] = {}
    for lang, pairs in shares.items():
        home = likely.get(lang, "").rsplit("_", 1)[-1]
        ranked = list(dict.fromkeys(c for _, c in sorted(pairs, key=lambda p: (-p[0], p[1]))))
        out[lang] = tuple(sorted(ranked, key=lambda c: c != home))
    return out


@functools.cache
def language_country() -> Mapping[str, str]:
    """Languages that point at one country (a weak vote): each language listed in
    ``data/business_languages.json`` ["single_country"] -> its home country by CLDR."""
    homes = language_countries()
    return {
        lang: homes[lang][0] for lang in _data("business_languages.json")["single_country"] if homes.get(lang)
    }


@functools.cache
def offset_countries(year: int | None = None) -> Mapping[int, tuple[str, ...]]:
    """UTC offset in minutes -> countries with a zone at that offset in winter or summer of
    ``year`` (this year by default), from each country's IANA zones (CLDR + zoneinfo)."""
    year = year or datetime.now(UTC).year
    probes = [datetime(year, 1, 15, 12, tzinfo=UTC), datetime(year, 7, 15, 12, tzinfo=UTC)]
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    out: dict[int, list[str]] = {}
    for code in countries():
        for name in zones.get(code, ()):
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                # A CLDR zone newer than the installed tzdata: the country keeps its other zones.
                log.warning("time zone %s is not in the IANA database; skipped (update tzdata)", name)
                continue
            for probe in probes:
                offset = probe.astimezone(zone).utcoffset() or timedelta(0)
                minutes = int(offset.total_seconds() // 60)
                if code not in out.setdefault(minutes, []):
                    out[minutes].append(code)
    if not out:
        raise TimeZoneDataError("no IANA time zone could be loaded: install the tzdata package")
    return {k: tuple(v) for k, v in sorted(out.items())}
