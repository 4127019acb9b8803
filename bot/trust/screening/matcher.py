"""Fuzzy-match buyers' names, emails and domains against loaded screening lists.

Names are folded before matching (Cyrillic transliteration, accents, punctuation, case, legal
forms such as LLC/GmbH/ООО/有限公司 dropped, a few spelling variants such as ks/x, w/v unified) and
compared order-insensitively with rapidfuzz. A candidate needs a score of at least ``threshold``
and, when only part of a name matched, token coverage on both sides, so that "Ali Hassan Trading"
does not match every "Ali". An inverted index (tokens, 4-letter prefixes and suffixes) keeps a
query against 50,000 entries to a few milliseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.triage.region import is_free_mail, registrable_domain
from bot.trust.screening.lists import Entry, ScreeningList


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
