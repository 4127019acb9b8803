"""The team's products as triage sees them: product terms and spec patterns from the team's profile.

Read from ``company_profile.toml`` under ``PROMPTS_DIR`` (the section the drafter reads too)::

    [products]
    lines = ["LED panel lights", "LED floodlights"]      # what we sell
    keywords = ["downlight", "Leuchte", "投光灯"]          # optional: more words buyers use, any language
    spec_patterns = { CCT = '[2-6][05]00 ?K', CRI = 'CRI ?>? ?[89]\\d' }   # optional: our specs (regexes)

Words of the product lines become keywords ("LED panel lights" gives "LED", "panel", "light"; a plural
matches its singular, an acronym only in capitals). ``spec_patterns`` is a table name -> regex (or a
list of regexes, named "spec"), matched case-insensitively; a regex that does not compile, or that
matches an empty text, stops the load with a :class:`ProfileError` naming it.

    profile = load_profile(Path("prompts/company_profile.toml"))
    profile.product_in("Quote 500 LED-Panels 60x60")   # 'LED'
    profile.spec_in("4000K, CRI>80")                    # ('CCT', '4000K')

Pure and picklable (it travels to the pre-work processes).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.errors import ConfigError

PROFILE_FILE = "company_profile.toml"

# Words of a product line that name no product ("LED lights and accessories", "Other products").
_STOPWORD_TEXT = resources.files("bot.triage").joinpath("data/product_line_stopwords.txt").read_text("utf-8")
_STOPWORDS = frozenset(
    word for line in _STOPWORD_TEXT.splitlines() if not line.startswith("#") for word in line.split()
)
_LETTERS_RE = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
_LATIN_RE = re.compile(r"[A-Za-zÀ-ɏ]")
_ACRONYM_RE = re.compile(r"[A-Z][A-Z0-9]{1,5}")


_WORDY = "\x00"  # marks a word-bounded term pattern (see _compile_terms)
_ALPHA = "[A-Za-zÀ-ɏͰ-ϿЀ-ӿ]"  # letters of scripts that separate words ("LED面板" still names LED)
# Inflections a keyword may carry: "light" finds "lights", "lighting"; "chair" does not find "chairman".
_ENDINGS = "(?:s|es|e|en|n|er|ern|ing|ings|ies|y|ed|a|as|i|o|os)?"


class ProfileError(ConfigError):
    """The products section of the team's profile cannot be used (the message names the field)."""

    def __init__(self, message: str) -> None:
        super().__init__([message])
        self.message = message


def _term_pattern(term: str) -> str:
    """Regex for one keyword: word-bounded for alphabetic scripts (plurals and short endings match:
    "light" finds "lights", "lighting"), a plain substring for CJK/Thai, case-sensitive acronyms."""
    words = [w for w in re.split(r"[\s-]+", term) if w]
    if not words:
        return ""
    if not _LATIN_RE.search(term) and not re.search(r"[Ѐ-ӿͰϿ]", term):
        return re.escape(term)  # CJK, Thai, Arabic...: no word boundaries to rely on
    parts: list[str] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        if _ACRONYM_RE.fullmatch(word):
            parts.append(f"(?-i:{re.escape(word)})s?")
            continue
        w = word.lower()
        if last:
            if len(w) > 4 and w.endswith("ies"):
                w = w[:-3]
            elif w.endswith(("xes", "ches", "shes", "sses", "zes")):
                w = w[:-2]
            elif len(w) > 3 and (w.endswith("y") or (w.endswith("s") and not w.endswith("ss"))):
                w = w[:-1]
            parts.append(re.escape(w) + _ENDINGS)
        else:
            parts.append(re.escape(w))
    return _WORDY + r"[\s-]{1,3}".join(parts)


def derive_keywords(lines: Iterable[str]) -> tuple[str, ...]:
    """Keywords from product lines: every word except filler ("LED panel lights" -> LED, panel, lights)."""
    seen: dict[str, str] = {}
    for line in lines:
        for word in _LETTERS_RE.findall(line):
            if word.lower() in _STOPWORDS:
                continue
            if _LATIN_RE.search(word) and len(word) < 3 and not _ACRONYM_RE.fullmatch(word):
                continue
            seen.setdefault(word.lower(), word)
    return tuple(seen.values())


def _compile_terms(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all terms, longest first; word-bounded terms share one look-behind (faster)."""
    patterns = sorted({p for p in (_term_pattern(t.strip()) for t in terms) if p}, key=len, reverse=True)
    wordy = [p[len(_WORDY) :] for p in patterns if p.startswith(_WORDY)]
    plain = [p for p in patterns if not p.startswith(_WORDY)]
    alternatives = plain + ([rf"(?<!{_ALPHA})(?:{'|'.join(wordy)})(?!{_ALPHA})"] if wordy else [])
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


@dataclass(frozen=True)
class ProductProfile:
    """Product vocabulary and spec regexes of one team (empty: no product words known)."""

    lines: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()  # the profile's keywords and the words derived from the lines
    spec_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    _terms: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_terms", _compile_terms(self.keywords))

    @property
    def empty(self) -> bool:
        return not self.keywords and not self.spec_patterns

    def product_in(self, text: str) -> str | None:
        """The first of our product words in ``text`` (as written there), or None."""
        if self._terms is None:
            return None
        m = self._terms.search(text)
        return m.group(0) if m else None

    def spec_in(self, text: str) -> tuple[str, str] | None:
        """(name, evidence) of the first spec pattern found in ``text``, or None."""
        for name, regex in self.spec_patterns:
            m = regex.search(text)
            if m and m.group(0).strip():
                return name, m.group(0).strip()
        return None

    def specs_in(self, text: str) -> list[str]:
        """Every spec pattern found in ``text`` as "name evidence" strings."""
        found: list[str] = []
        for name, regex in self.spec_patterns:
            m = regex.search(text)
            if m and m.group(0).strip():
                found.append(f"{name} {m.group(0).strip()}")
        return found


EMPTY_PROFILE = ProductProfile()


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def compile_spec_patterns(
    value: Any, where: str = "[products].spec_patterns"
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Validated spec regexes: a table name -> regex, or a list of regexes (each named "spec")."""
    if value is None:
        return ()
    items: list[tuple[str, str]]
    if isinstance(value, Mapping):
        items = []
        for name, pattern in value.items():
            if not isinstance(pattern, str):
                raise ProfileError(f"{where}.{name} must be a regex string, not {type(pattern).__name__}")
            items.append((str(name), pattern))
    else:
        items = [("spec", p) for p in _strings(value, where)]
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in items:
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as e:
            raise ProfileError(f"{where}: bad regex {name} = {pattern!r}: {e}") from e
        if regex.search("") is not None or regex.search(" ") is not None:
            raise ProfileError(
                f"{where}: regex {name} = {pattern!r} matches an empty text (it would match every mail)"
            )
        compiled.append((name, regex))
    return tuple(compiled)


def profile_from_data(data: Mapping[str, Any], where: str = PROFILE_FILE) -> ProductProfile:
    """A ProductProfile from the parsed TOML of a company profile."""
    products = data.get("products") or {}
    if not isinstance(products, Mapping):
        raise ProfileError(f"{where}: [products] must be a table")
    lines = _strings(products.get("lines"), f"{where}: [products].lines")
    extra = _strings(products.get("keywords"), f"{where}: [products].keywords")
    keywords: dict[str, str] = {}
    for word in (*extra, *derive_keywords(lines)):
        keywords.setdefault(word.lower(), word)
    specs = compile_spec_patterns(products.get("spec_patterns"), f"{where}: [products].spec_patterns")
    return ProductProfile(lines=lines, keywords=tuple(keywords.values()), spec_patterns=specs)


_TABLE_RE = re.compile(r"^\s*\[{1,2}\s*([A-Za-z0-9_.\s-]+?)\s*\]{1,2}\s*(?:#.*)?$")
_TRIAGE_KEYS = ("keywords", "spec_patterns")


def without_triage_fields(text: str) -> str:
    """The profile text without the triage-only fields ([products] ``keywords`` and ``spec_patterns``),
    for the drafter: regexes and search words are not facts to state, and the digits of a regex must
    not allow-list a price or a lead time in a draft."""
    out: list[str] = []
    table = ""
    pending: list[str] = []  # the lines of a skipped key whose value spans several lines
    for line in text.splitlines():
        if pending:
            pending.append(line)
            if _parses("\n".join(pending)):
                pending = []
            continue
        header = _TABLE_RE.match(line)
        if header:
            table = header.group(1).replace(" ", "")
        if table == "products.spec_patterns" or (
            table == "products" and re.match(rf"\s*(?:{'|'.join(_TRIAGE_KEYS)})\s*=", line)
        ):
            if not header and not _parses(line):
                pending = [line]
            continue
        out.append(line)
    return "\n".join(out)


def _parses(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


def load_profile(path: Path) -> ProductProfile:
    """The products of the profile at ``path`` (a file, or a prompts directory holding one)."""
    if path.is_dir() or path.suffix != ".toml":
        path = path / PROFILE_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProfileError(f"cannot read the company profile {path} (PROMPTS_DIR): {e.strerror or e}") from e
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path} is not valid TOML: {e}") from e
    return profile_from_data(data, str(path))
