"""Export-control screening: load published sanctions lists and fuzzy-match buyers against them.

Formats, detected from the file itself:

- OpenSanctions ``targets.simple.csv`` (header ``id,schema,name,aliases,…,countries,…,emails,…``;
  lists inside a cell are ``;``-separated);
- OFAC ``sdn.csv`` (no header: ``ent_num,SDN_Name,SDN_Type,Program,…,Remarks``; ``-0-`` is null),
  with the ``alt.csv`` aliases beside it (``ent_num,alt_num,alt_type,alt_name,alt_remarks``);
- the US Consolidated Screening List CSV (header ``_id,source,entity_number,type,programs,name,…,
  alt_names,…``).

Names are folded before matching (Cyrillic transliteration, accents, punctuation, case, legal
forms such as LLC/GmbH/ООО/有限公司 dropped, a few spelling variants such as ks/x, w/v unified) and
compared order-insensitively with rapidfuzz. A candidate needs a score of at least ``threshold``
and, when only part of a name matched, token coverage on both sides, so that "Ali Hassan Trading"
does not match every "Ali". An inverted index (tokens, 4-letter prefixes and suffixes) keeps a
query against 50,000 entries to a few milliseconds. Vessels and aircraft are not loaded.

``Screener([load_list(path)]).screen(["Ivan Petrov"], ["x@y.ru"], ["y.ru"])`` ->
``[Match("PETROV, Ivan", "sdn.csv (OFAC SDN)", 100.0, "name 'Ivan Petrov'", "12345")]``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.core.errors import InquiryDeskError
from bot.triage.region import is_free_mail, registrable_domain

__all__ = [
    "Entry",
    "Match",
    "Screener",
    "ScreeningError",
    "ScreeningList",
    "detect_format",
    "fetch_list",
    "load_list",
    "name_tokens",
    "normalize_name",
]

csv.field_size_limit(16 * 1024 * 1024)


class ScreeningError(InquiryDeskError):
    """A screening list could not be fetched, recognised or read."""


@dataclass(frozen=True)
class Entry:
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    schema: str = ""
    countries: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    programs: str = ""
    source: str = ""  # the CSL's source list, e.g. "Entity List (EL) - Bureau of Industry and Security"


@dataclass(frozen=True)
class ScreeningList:
    name: str  # shown in warnings, e.g. "sdn.csv (OFAC SDN)"
    format: str  # "opensanctions" | "ofac_sdn" | "csl"
    path: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Match:
    entry_name: str
    list_name: str
    score: float
    matched_on: str  # "name 'Ivan Petrov'", "email a@b.ru", "domain b.ru"
    entry_id: str = ""


# --- name folding -------------------------------------------------------------------------------

_CYRILLIC: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye", "ж": "zh",
    "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ў": "u", "ј": "j", "љ": "lj",
    "њ": "nj", "ћ": "c", "ђ": "dj", "џ": "dz",
}  # fmt: skip

_CJK_LEGAL = ("股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "株式会社", "有限会社", "公司")

_LEGAL: frozenset[str] = frozenset(
    {
        "llc", "ltd", "limited", "co", "company", "corp", "corporation", "inc", "incorporated", "gmbh",
        "mbh", "ag", "kg", "ohg", "ug", "jsc", "ojsc", "cjsc", "pjsc", "ooo", "oao", "zao", "pao", "ao",
        "tov", "pat", "sa", "sarl", "sas", "sl", "srl", "spa", "bv", "nv", "plc", "fze", "fzco", "fzc",
        "fz", "llp", "lp", "pte", "pty", "sdn", "bhd", "tbk", "pt", "cv", "ab", "oy", "oyj", "asa", "aps",
        "kft", "sro", "doo", "ltda", "sac", "sae", "wll", "est", "the", "and", "of",
    }
)  # fmt: skip

_SPELLING: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("kh", "h"), ("ph", "f"), ("x", "ks"), ("w", "v"), ("ck", "k"), ("q", "k"),
    ("dzh", "j"), ("dj", "j"), ("y", "i"), ("ou", "u"), ("ee", "i"), ("oo", "u"),
)  # fmt: skip

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DOUBLE = re.compile(r"(.)\1+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    for suffix in _CJK_LEGAL:
        text = text.replace(suffix, " ")
    text = "".join(_CYRILLIC.get(ch, ch) for ch in text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = text.replace(".", "").replace("'", "").replace("’", "")
    return _NON_WORD.sub(" ", text)


def _spell(token: str) -> str:
    for old, new in _SPELLING:
        token = token.replace(old, new)
    return _DOUBLE.sub(r"\1", token)


def name_tokens(name: str) -> tuple[str, ...]:
    """Folded, spelling-normalised tokens without legal forms: ``"OOO Ромашка"`` -> ``("romashka",)``."""
    return tuple(_spell(t) for t in _fold(name).split() if t not in _LEGAL)


def normalize_name(name: str) -> str:
    """The order-insensitive comparison key: sorted unique tokens joined by spaces."""
    return " ".join(sorted(set(name_tokens(name))))


# --- loading ------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SKIP_SCHEMAS = frozenset({"vessel", "aircraft", "airplane"})


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScreeningError(f"cannot read screening list {path}: {e}") from e
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _first_row(text: str) -> list[str]:
    for row in csv.reader(io.StringIO(text[:65536])):
        if row:
            return row
    return []


def detect_format(text: str) -> str:
    """``opensanctions``, ``csl``, ``ofac_sdn`` or ``ofac_alt``; raises ScreeningError otherwise."""
    head = [c.strip().lower() for c in _first_row(text)]
    if {"id", "schema", "name"} <= set(head):
        return "opensanctions"
    if {"source", "name"} <= set(head) and ("entity_number" in head or "_id" in head):
        return "csl"
    if head and head[0].strip().isdigit():
        if len(head) >= 10:
            return "ofac_sdn"
        if len(head) in (4, 5):
            return "ofac_alt"
    raise ScreeningError("unrecognised screening list format (expected OpenSanctions, OFAC SDN or CSL CSV)")


def _null(value: str) -> str:
    value = value.strip()
    return "" if value in ("-0-", "-0- ") else value


def _split(value: str, sep: str = ";") -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(sep) if v.strip())


def _dict_rows(text: str) -> Iterable[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [f.strip().lower() for f in (reader.fieldnames or [])]
    for row in reader:
        yield {k: (v or "") for k, v in row.items() if isinstance(k, str)}


def _load_opensanctions(text: str) -> list[Entry]:
    entries = []
    for row in _dict_rows(text):
        schema = row.get("schema", "").strip()
        if schema.lower() in _SKIP_SCHEMAS or not row.get("name", "").strip():
            continue
        entries.append(
            Entry(
                entry_id=row.get("id", "").strip(),
                name=row["name"].strip(),
                aliases=_split(row.get("aliases", "")),
                schema=schema,
                countries=_split(row.get("countries", "")),
                emails=tuple(e.lower() for e in _split(row.get("emails", ""))),
                programs=row.get("sanctions", "").strip(),
                source=row.get("dataset", "").strip(),
            )
        )
    return entries


def _load_csl(text: str) -> list[Entry]:
    entries = []
    for row in _dict_rows(text):
        kind = row.get("type", "").strip()
        if kind.lower() in _SKIP_SCHEMAS or not row.get("name", "").strip():
            continue
        extra = " ".join(row.get(k, "") for k in ("remarks", "ids", "addresses"))
        entries.append(
            Entry(
                entry_id=(row.get("entity_number") or row.get("_id") or "").strip(),
                name=row["name"].strip(),
                aliases=_split(row.get("alt_names", "")),
                schema=kind,
                countries=_split(row.get("nationalities", "") or row.get("citizenships", ""), ","),
                emails=tuple(sorted({e.lower() for e in _EMAIL_RE.findall(extra)})),
                programs=row.get("programs", "").strip(),
                source=row.get("source", "").strip(),
            )
        )
    return entries


def _find_alt(path: Path) -> Path | None:
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return None
    for sibling in siblings:
        if sibling.name.lower() == "alt.csv":
            return sibling
    return None


def _load_ofac(text: str, alt_text: str | None) -> list[Entry]:
    aliases: dict[str, list[str]] = {}
    if alt_text:
        for row in csv.reader(io.StringIO(alt_text)):
            if len(row) >= 4 and row[0].strip().isdigit() and _null(row[3]):
                aliases.setdefault(row[0].strip(), []).append(_null(row[3]))
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 4 or not row[0].strip().isdigit():
            continue  # the trailing \x1a control row, blank lines
        kind = _null(row[2])
        if kind.lower() in _SKIP_SCHEMAS or not _null(row[1]):
            continue
        remarks = _null(row[11]) if len(row) > 11 else ""
        entries.append(
            Entry(
                entry_id=row[0].strip(),
                name=_null(row[1]),
                aliases=tuple(aliases.get(row[0].strip(), ())),
                schema=kind or "entity",
                emails=tuple(sorted({e.lower().rstrip(".") for e in _EMAIL_RE.findall(remarks)})),
                programs=_null(row[3]),
                source="OFAC SDN",
            )
        )
    return entries


_FORMAT_LABEL = {
    "opensanctions": "OpenSanctions",
    "ofac_sdn": "OFAC SDN",
    "csl": "Consolidated Screening List",
}


def load_list(path: str | Path) -> ScreeningList:
    """Read one list file, detecting its format; ``alt.csv`` beside an OFAC ``sdn.csv`` is merged."""
    path = Path(path)
    text = _read_text(path)
    fmt = detect_format(text)
    if fmt == "opensanctions":
        entries = _load_opensanctions(text)
    elif fmt == "csl":
        entries = _load_csl(text)
    elif fmt == "ofac_sdn":
        alt = _find_alt(path)
        entries = _load_ofac(text, _read_text(alt) if alt else None)
    else:
        raise ScreeningError(f"{path.name} is an OFAC alias file; load the sdn.csv beside it instead")
    return ScreeningList(
        name=f"{path.name} ({_FORMAT_LABEL[fmt]})", format=fmt, path=str(path), entries=tuple(entries)
    )


def fetch_list(url: str, dest_dir: str | Path, timeout: float = 60.0) -> Path:
    """Download ``url`` into ``dest_dir`` (atomically: a failed or unrecognised download keeps the
    previous file) and return the file's path. Only http(s) URLs are accepted."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ScreeningError(f"screening list URL must be http(s): {url}")
    name = Path(urllib.parse.unquote(parsed.path)).name or "screening-list.csv"
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    part = dest / f".{name}.part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out)
        detect_format(_read_text(part))
    except (OSError, urllib.error.URLError, ScreeningError) as e:
        part.unlink(missing_ok=True)
        if isinstance(e, ScreeningError):
            raise ScreeningError(f"{url}: {e}") from e
        raise ScreeningError(f"could not fetch screening list {url}: {e}") from e
    target = dest / name
    os.replace(part, target)
    return target


# --- matching -----------------------------------------------------------------------------------

_MAX_POSTINGS = 2500  # keys more common than this are not used for blocking
_MIN_SINGLE = 5  # a one-token name must be this long to match anything


def _keys(tokens: Iterable[str]) -> set[str]:
    keys: set[str] = set()
    for t in tokens:
        keys.add(t)
        if len(t) >= 6:
            keys.add("<" + t[:4])
            keys.add(">" + t[-4:])
    return keys


# Words too common in company names to make a partial match on their own.
_GENERIC: frozenset[str] = frozenset(
    name_tokens(
        "trading general group international industrial industries industry technology technologies tech "
        "electronic electronics engineering import export services service holding holdings global "
        "enterprise enterprises investment investments development construction logistics shipping "
        "petroleum energy machinery equipment supply supplies solutions systems manufacturing commercial "
        "new star golden united national east west north south middle china shenzhen dubai lighting led"
    )
)


def _similar(a: str, b: str) -> bool:
    """Two tokens are the same word, allowing a typo or a transliteration variant."""
    if a == b:
        return True
    longest = max(len(a), len(b))
    allowed = 0 if longest <= 3 else 1 if longest <= 6 else 2
    return allowed > 0 and Levenshtein.distance(a, b, score_cutoff=allowed) <= allowed


def _aligned(q: Sequence[str], e: Sequence[str]) -> bool:
    """Every token of the shorter side has its own counterpart on the other side; when the sides
    differ in length, at least two tokens and half of the longer side are covered and one covered
    token is distinctive (so "Carlos Rossi" may match "Alejandro Carlos Rossi", but "Global
    Trading" does not match every "... Global Trading ...")."""
    short, long_ = (q, e) if len(q) <= len(e) else (e, q)
    used: set[int] = set()
    distinctive = False
    for t in short:
        for i, u in enumerate(long_):
            if i not in used and _similar(t, u):
                used.add(i)
                distinctive = distinctive or (len(t) >= 4 and t not in _GENERIC)
                break
        else:
            return False
    if len(short) == len(long_):
        return True
    return len(used) >= 2 and len(used) * 2 >= len(long_) and distinctive


class Screener:
    """Screens names, email addresses and domains against loaded lists."""

    def __init__(self, lists: Sequence[ScreeningList], threshold: float = 88.0) -> None:
        self.lists = tuple(lists)
        self.threshold = float(threshold)
        self._entries: list[tuple[Entry, str]] = []
        self._variant_key: list[str] = []
        self._variant_tokens: list[tuple[str, ...]] = []
        self._variant_entry: list[int] = []
        self._postings: dict[str, list[int]] = {}
        self._emails: dict[str, list[int]] = {}
        self._domains: dict[str, list[int]] = {}
        for screening_list in self.lists:
            for entry in screening_list.entries:
                self._add(entry, screening_list.name)

    @property
    def size(self) -> int:
        return len(self._entries)

    def _add(self, entry: Entry, list_name: str) -> None:
        idx = len(self._entries)
        label = (
            f"{list_name} / {entry.source}" if entry.source and entry.source not in list_name else list_name
        )
        self._entries.append((entry, label))
        seen: set[str] = set()
        for variant in (entry.name, *entry.aliases):
            tokens = tuple(sorted(set(name_tokens(variant))))
            key = " ".join(tokens)
            if len(key) < 3 or key in seen:
                continue
            seen.add(key)
            vid = len(self._variant_key)
            self._variant_key.append(key)
            self._variant_tokens.append(tokens)
            self._variant_entry.append(idx)
            for k in _keys(tokens):
                self._postings.setdefault(k, []).append(vid)
        for address in entry.emails:
            self._emails.setdefault(address, []).append(idx)
            domain = address.rpartition("@")[2]
            if domain and not is_free_mail(domain):
                self._domains.setdefault(registrable_domain(domain), []).append(idx)

    def _candidates(self, tokens: Sequence[str]) -> list[int]:
        keys = sorted(_keys(tokens), key=lambda k: len(self._postings.get(k, ())))
        found: set[int] = set()
        for k in keys:
            postings = self._postings.get(k)
            if postings and len(postings) <= _MAX_POSTINGS:
                found.update(postings)
        if found:
            return sorted(found)
        common = [set(self._postings[t]) for t in tokens if t in self._postings]
        if len(common) < 2:
            return []
        return sorted(set.intersection(*common))

    def screen_name(self, name: str) -> list[Match]:
        """Possible matches for one name, best first."""
        return sorted(self._screen_name(name, "").values(), key=lambda m: (-m.score, m.entry_name))

    def _screen_name(self, name: str, matched_on: str) -> dict[int, Match]:
        tokens = tuple(sorted(set(name_tokens(name))))
        key = " ".join(tokens)
        if not tokens or (len(tokens) == 1 and len(tokens[0]) < _MIN_SINGLE):
            return {}
        candidates = self._candidates(tokens)
        if not candidates:
            return {}
        choices = [self._variant_key[v] for v in candidates]
        hits = process.extract(
            key, choices, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, limit=None
        )
        best: dict[int, Match] = {}
        label = matched_on or f"name {name.strip()!r}"
        for _choice, _set_score, pos in hits:
            vid = candidates[pos]
            e_tokens = self._variant_tokens[vid]
            score = fuzz.ratio(key, self._variant_key[vid])
            if len(tokens) == 1 or len(e_tokens) == 1:
                if len(tokens) != len(e_tokens) or len(e_tokens[0]) < _MIN_SINGLE:
                    continue
            elif not _aligned(tokens, e_tokens):
                continue
            elif len(tokens) != len(e_tokens):
                score = max(score, float(_set_score))
            if score < self.threshold:
                continue
            idx = self._variant_entry[vid]
            if idx not in best or best[idx].score < score:
                entry, list_name = self._entries[idx]
                best[idx] = Match(entry.name, list_name, round(float(score), 1), label, entry.entry_id)
        return best

    def screen(self, names: Sequence[str], emails: Sequence[str], domains: Sequence[str]) -> list[Match]:
        """Possible matches, best first, at most one per list entry."""
        found: dict[int, Match] = {}

        def keep(idx: int, match: Match) -> None:
            if idx not in found or found[idx].score < match.score:
                found[idx] = match

        for address in {e.strip().lower() for e in emails if e and "@" in e}:
            for idx in self._emails.get(address, ()):
                entry, list_name = self._entries[idx]
                keep(idx, Match(entry.name, list_name, 100.0, f"email {address}", entry.entry_id))
        for domain in {d.strip().lower().strip(".") for d in domains if d and "." in d}:
            if is_free_mail(domain):
                continue
            reg = registrable_domain(domain)
            for idx in self._domains.get(reg, ()):
                entry, list_name = self._entries[idx]
                keep(idx, Match(entry.name, list_name, 100.0, f"domain {reg}", entry.entry_id))
            label = reg.partition(".")[0].replace("-", " ")
            for idx, match in self._screen_name(label, f"domain {reg}").items():
                keep(idx, match)
        for name in {n.strip() for n in names if n and n.strip()}:
            for idx, match in self._screen_name(name, "").items():
                keep(idx, match)
        return sorted(found.values(), key=lambda m: (-m.score, m.entry_name))
