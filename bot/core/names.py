"""Display names of countries, languages and markets in the team's language.

Names come from Babel's CLDR data (``Locale("zh").territories["DE"]`` -> 德国,
``Locale("zh").languages["vi"]`` -> 越南语), with pycountry as the fallback for a code CLDR does
not know. English uses CLDR's common names ("Vietnam", "Taiwan"), not ISO's formal ones
("Viet Nam", "Taiwan, Province of China"), and short forms where CLDR's display name is qualified
("Hong Kong", not "Hong Kong SAR China"). Unknown codes are shown as they are, upper-cased for
countries.
"""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from bot.core.i18n import has, t, ui_lang


@cache
def _locale(lang: str) -> Locale | None:
    try:
        return Locale.parse(ui_lang(lang))
    except (UnknownLocaleError, ValueError):
        return None


# CLDR's short forms of these ("Hong Kong", "香港" for "Hong Kong SAR China", "中国香港特别行政区";
# "Myanmar" for "Myanmar (Burma)") are not in Babel's data; ISO 3166's names, in pycountry's
# translations, are those short forms.
SHORT_FORM_COUNTRIES = frozenset({"HK", "MO", "MM"})


@cache
def _iso_translation(lang: str) -> gettext.NullTranslations:
    tag = str(get_global("likely_subtags").get(ui_lang(lang), ui_lang(lang)))
    parts = tag.split("_")
    wanted = [f"{parts[0]}_{parts[-1]}", parts[0]] if len(parts) > 1 else [parts[0]]
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=wanted, fallback=True)


def _short_form(cc: str, lang: str) -> str | None:
    found = pycountry.countries.get(alpha_2=cc)
    if found is None:
        return None
    name = str(getattr(found, "common_name", None) or found.name)
    return name if ui_lang(lang) == "en" else _iso_translation(lang).gettext(name)


def country_name(code: str | None, lang: str = "en") -> str:
    """``country_name("DE", "zh")`` -> ``"德国"``, ``country_name("HK")`` -> ``"Hong Kong"``;
    ``""`` for no code."""
    if not code:
        return ""
    cc = code.strip().upper()
    if cc in SHORT_FORM_COUNTRIES:
        short = _short_form(cc, lang)
        if short:
            return short
    loc = _locale(lang)
    name = loc.territories.get(cc) if loc is not None and len(cc) == 2 and cc.isalpha() else None
    if name:
        return str(name)
    found = pycountry.countries.get(alpha_2=cc) if len(cc) == 2 else None
    return str(getattr(found, "common_name", None) or getattr(found, "name", cc)) if found else cc


def language_name(code: str | None, lang: str = "en", *, with_code: bool = True) -> str:
    """``language_name("vi", "zh")`` -> ``"越南语 (vi)"``; ``"?"`` for no code or ``und``."""
    if not code or code == "und":
        return "?"
    base = code.replace("_", "-").split("-", 1)[0].lower()
    loc = _locale(lang)
    name = loc.languages.get(base) if loc is not None else None
    if not name:
        found = pycountry.languages.get(alpha_2=base) if len(base) == 2 else None
        name = str(getattr(found, "name", "")) if found is not None else ""
    if not name:
        return code
    return f"{name} ({code})" if with_code else str(name)


# Codes the desk keeps with their region (normalize_language): written differently from the base.
REGIONAL_LANGUAGES: dict[str, str] = {"zh-tw": "zh_Hant", "zh-hk": "zh_Hant"}


def language_display_name(code: str | None, lang: str = "en") -> str | None:
    """CLDR's name of a language code in ``lang``, without the code: ``"sv"`` -> ``"Swedish"``,
    ``"zh-tw"`` -> ``"Chinese (Traditional)"``, ``"tl"`` -> ``"Filipino"`` (CLDR's alias);
    None when neither CLDR nor ISO 639 knows it."""
    if not code or code == "und":
        return None
    key = code.strip().lower().replace("_", "-")
    loc = _locale(lang)
    if key in REGIONAL_LANGUAGES and loc is not None:
        return str(Locale.parse(REGIONAL_LANGUAGES[key]).get_display_name(loc))
    base = key.split("-", 1)[0]
    alias = str(get_global("language_aliases").get(base, base))
    name = loc.languages.get(alias) or loc.languages.get(base) if loc is not None else None
    if not name:
        found = pycountry.languages.get(alpha_2=base) if len(base) == 2 else None
        name = getattr(found, "name", None) if found is not None else None
    return str(name) if name else None


def market_label(market: str | None, lang: str = "en") -> str:
    """A market code as the team reads it: region codes stay (EU, US, SEA), ``OTHER`` is a word."""
    value = (market or "").strip()
    key = f"market.{value}"
    return t(key, lang) if value and has(key) else value
