"""Message catalogs for the bot's own words: ``t("card.claim", "zh")``.

Catalogs are flat JSON objects in ``bot/core/locales/<lang>.json`` (``en`` and ``zh`` today), values are
``str.format`` templates with named placeholders. A key missing in the requested language falls
back to English; a key missing in English raises ``KeyError`` (a bug, caught by the tests).

The language here is the *team's* interface language, not the buyer's: ``ui_lang("zh-TW")`` is
``"zh"``, anything unknown is ``"en"``.
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources

DEFAULT_LANG = "en"
SUPPORTED = ("en", "zh")


def ui_lang(lang: str | None) -> str:
    """Map any language tag to a catalog we have: ``"zh-CN"`` -> ``"zh"``, ``"de"`` -> ``"en"``."""
    if not lang:
        return DEFAULT_LANG
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    return base if base in SUPPORTED else DEFAULT_LANG


@cache
def catalog(lang: str) -> dict[str, str]:
    """The raw catalog for one supported language (read once)."""
    if lang not in SUPPORTED:
        raise KeyError(f"no catalog for {lang!r}")
    text = resources.files("bot.core").joinpath("locales", f"{lang}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"catalog {lang} must be a flat object of strings")
    return {str(k): str(v) for k, v in data.items()}


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    return key in catalog(ui_lang(lang)) or key in catalog(DEFAULT_LANG)


def t(key: str, lang: str, **kw: object) -> str:
    """Translate ``key`` into ``lang`` and fill its ``{placeholders}`` from ``kw``.

    >>> t("card.claim", "en")
    'Claim'
    """
    template = catalog(ui_lang(lang)).get(key)
    if template is None:
        template = catalog(DEFAULT_LANG).get(key)
    if template is None:
        raise KeyError(f"missing message key {key!r}")
    return template.format(**kw) if kw or "{" in template else template


def plural_category(n: int | float, lang: str) -> str:
    """CLDR plural category of ``n`` in ``lang`` (Babel's rules): ``"one"``/``"other"`` in English,
    always ``"other"`` in Chinese."""
    from babel import Locale

    try:
        return str(Locale.parse(ui_lang(lang)).plural_form(abs(n)))
    except (ValueError, TypeError):
        return "other"


def tn(key: str, lang: str, n: int | float, **kw: object) -> str:
    """Translate a counted message: ``key.<plural category>`` (``.one``, ``.other``…) filled with
    ``n`` and ``kw``; falls back to ``key.other``, then to plain ``key``.

    >>> tn("cmd.list_heading", "en", 1)
    '1 inquiry:'
    >>> tn("cmd.list_heading", "en", 2)
    '2 inquiries:'
    """
    lang = ui_lang(lang)
    for candidate in (f"{key}.{plural_category(n, lang)}", f"{key}.other"):
        if candidate in catalog(lang) or candidate in catalog(DEFAULT_LANG):
            return t(candidate, lang, n=n, **kw)
    return t(key, lang, n=n, **kw)


def placeholders(template: str) -> frozenset[str]:
    """The named fields of a template: ``"{n} new"`` -> ``{"n"}``."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
