"""Language detection: script rules first, then keyword votes and a seeded langdetect for Latin text,
then hints (thread language, country, sender ccTLD) when the text is too short or ambiguous.

``detect_language("pls send catalog")`` -> ``("en", "English keywords: pls, send, catalog")``.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Mapping
from importlib import resources

from bot.triage.geo import country_language

UNDETERMINED = "und"

# Linear on any input: each alternative starts only where its run starts (look-behinds), and
# repeats are capped; the text is also cut to MAX_SCAN_CHARS before it is scanned.
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S{1,2000}|(?<!\S)[^\s@]{1,2000}@\S{1,2000}|(?<![\w.-])[\w.-]{1,2000}\.(?:com|net|org)\b",
    re.IGNORECASE,
)
MAX_SCAN_CHARS = 16_000  # the language is decided from the first 4,000 characters after URLs go
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Vietnamese-specific letters: Latin Extended Additional (ạ ả ấ ... ỹ) plus ơ ư (and capitals).
_VI_SPECIFIC = re.compile(r"[\u1ea0-\u1ef9ơưƠƯ]")

# Short-text keyword votes for Latin-script languages (distinctive words only), and the words
# that lean Malaysian or Indonesian: hand-kept in data/language_keywords.json.
_WORDS = json.loads(
    resources.files("bot.triage").joinpath("data", "language_keywords.json").read_text("utf-8")
)
_KEYWORDS: Mapping[str, frozenset[str]] = {
    lang: frozenset(words) for lang, words in _WORDS["keywords"].items()
}
_MALAY_MARKERS = frozenset(_WORDS["malay_markers"])
_INDONESIAN_MARKERS = frozenset(_WORDS["indonesian_markers"])

_CYRILLIC_LANGS = frozenset({"ru", "uk", "bg", "mk", "sr", "be", "kk"})
# Languages the desk sees; langdetect gets a prior that favours them.
_PRIOR_LANGS = [
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "pl",
    "tr",
    "id",
    "vi",
    "ru",
    "uk",
    "ar",
    "th",
    "zh-cn",
    "zh-tw",
    "ja",
    "ko",
    "ro",
    "cs",
    "sv",
    "da",
    "fi",
    "hu",
    "el",
    "bg",
    "hr",
    "sk",
    "sl",
]

_lock = threading.Lock()
_factory: object | None = None


def _get_factory() -> object:
    """Load langdetect's profiles once, under a lock (its global factory races; langdetect #30)."""
    global _factory
    if _factory is None:
        with _lock:
            if _factory is None:
                from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                factory.set_seed(0)
                _factory = factory
    return _factory


def warm_up() -> None:
    """Load the langdetect profiles now (call from the main thread before workers start)."""
    _get_factory()


def _langdetect(text: str) -> list[tuple[str, float]]:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _get_factory()
    detector = factory.create()  # type: ignore[attr-defined]
    detector.set_max_text_length(2000)
    # 3 random-restart trials instead of langdetect's 7: the same verdicts on the labelled set and
    # the language tests, ~2 ms less a mail (the trials are most of triage's CPU).
    detector.n_trial = 3
    langlist: list[str] = factory.get_lang_list()  # type: ignore[attr-defined]
    detector.set_prior_map({lang: (1.0 if lang in _PRIOR_LANGS else 0.1) for lang in langlist})
    detector.append(text)
    try:
        probs = detector.get_probabilities()
    except LangDetectException:
        return []
    out: list[tuple[str, float]] = []
    for p in probs:
        code = str(p.lang).split("-")[0]
        out.append((code, float(p.prob)))
    return out


def _script_counts(text: str) -> dict[str, int]:
    counts = {
        "han": 0,
        "kana": 0,
        "hangul": 0,
        "thai": 0,
        "arabic": 0,
        "hebrew": 0,
        "cyrillic": 0,
        "greek": 0,
        "devanagari": 0,
        "latin": 0,
    }
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            if ch.isalpha():
                counts["latin"] += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            counts["han"] += 1
        elif 0x3040 <= o <= 0x30FF:
            counts["kana"] += 1
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            counts["hangul"] += 1
        elif 0x0E00 <= o <= 0x0E7F:
            counts["thai"] += 1
        elif 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
            counts["arabic"] += 1
        elif 0x0590 <= o <= 0x05FF:
            counts["hebrew"] += 1
        elif 0x0400 <= o <= 0x04FF:
            counts["cyrillic"] += 1
        elif 0x0370 <= o <= 0x03FF:
            counts["greek"] += 1
        elif 0x0900 <= o <= 0x097F:
            counts["devanagari"] += 1
        elif ch.isalpha():
            counts["latin"] += 1
    return counts


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text)]


def malay_or_indonesian(text: str, country: str | None) -> tuple[str, str]:
    """Decide ``ms`` vs ``id``: marker words first, then the country."""
    words = set(_words(text))
    ms = sorted(words & _MALAY_MARKERS)
    idn = sorted(words & _INDONESIAN_MARKERS)
    if len(ms) > len(idn):
        return "ms", "Malay words: " + ", ".join(ms[:3])
    if len(idn) > len(ms):
        return "id", "Indonesian words: " + ", ".join(idn[:3])
    if country in ("MY", "BN", "SG"):
        return "ms", f"Malay/Indonesian decided by country {country}"
    return "id", (
        f"Malay/Indonesian decided by country {country}" if country == "ID" else "Indonesian (default)"
    )


def _keyword_vote(words: list[str]) -> tuple[str | None, int, list[str]]:
    """Which language's distinctive words cover the text best; (lang, hits, hit words)."""
    best: tuple[str | None, int, list[str]] = (None, 0, [])
    second = 0
    for lang, vocab in _KEYWORDS.items():
        hits = [w for w in words if w in vocab]
        if len(hits) > best[1]:
            second = best[1]
            best = (lang, len(hits), hits)
        elif len(hits) > second:
            second = len(hits)
    if best[1] == second:
        return None, 0, []
    return best


def _hinted(
    thread_language: str | None, country: str | None, tld_country: str | None
) -> tuple[str, str] | None:
    if thread_language and thread_language != UNDETERMINED:
        return thread_language, f"thread language {thread_language}"
    for label, code in (("country", country), ("ccTLD", tld_country)):
        lang = country_language().get(code.upper()) if code else None
        if code and lang:
            return lang, f"short text; {label} {code.upper()} -> {lang}"
    return None


def detect_language(
    text: str,
    *,
    thread_language: str | None = None,
    country: str | None = None,
    tld_country: str | None = None,
) -> tuple[str, str]:
    """ISO 639-1 code of ``text`` and a short reason. ``und`` only when nothing is known.

    Hints are used when the text is short or ambiguous: the thread's language first, then the
    country (e.g. from the signature) and the sender's ccTLD country.
    """
    clean = unicodedata.normalize("NFC", _URL_RE.sub(" ", (text or "")[:MAX_SCAN_CHARS]))[:4000]
    counts = _script_counts(clean)
    if counts["kana"] >= 2 or (counts["kana"] >= 1 and counts["han"] >= 1 and counts["hangul"] == 0):
        return "ja", "script: kana"
    if counts["hangul"] >= 2:
        return "ko", "script: hangul"
    weighted = {
        "zh": counts["han"] * 3,
        "th": counts["thai"],
        "ar": counts["arabic"],
        "he": counts["hebrew"],
        "cyrillic": counts["cyrillic"],
        "el": counts["greek"],
        "hi": counts["devanagari"],
    }
    script, score = max(weighted.items(), key=lambda kv: kv[1])
    if score >= 2 and score >= counts["latin"] * 0.5:
        if script == "zh":
            return "zh", "script: Han without kana/hangul"
        if script == "ar":
            if len(re.findall(r"[ٹڈڑںے]", clean)) >= 2:
                return "ur", "script: Arabic with Urdu letters"
            if len(re.findall(r"[پچژگ]", clean)) >= 2:
                return "fa", "script: Arabic with Persian letters"
            return "ar", "script: Arabic"
        if script == "cyrillic":
            if re.search(r"[іїєґІЇЄҐ]", clean):
                return "uk", "script: Cyrillic with Ukrainian letters"
            if re.search(r"[ыэЫЭ]", clean):
                return "ru", "script: Cyrillic with Russian letters"
            for lang, prob in _langdetect(clean):
                if lang in _CYRILLIC_LANGS and prob >= 0.95 and counts["cyrillic"] >= 60:
                    return lang, f"script: Cyrillic; langdetect {lang} {prob:.2f}"
            return "ru", "script: Cyrillic (Russian by default)"
        names = {"th": "Thai", "he": "Hebrew", "el": "Greek", "hi": "Devanagari"}
        return script, f"script: {names[script]}"
    vi_hits = len(_VI_SPECIFIC.findall(clean))
    if vi_hits >= 2 or (vi_hits == 1 and counts["latin"] < 40):
        return "vi", "script: Vietnamese diacritics"

    words = _words(clean)
    letters = counts["latin"]
    if letters == 0:
        hinted = _hinted(thread_language, country, tld_country)
        return hinted if hinted else (UNDETERMINED, "no text")

    kw_lang, kw_hits, kw_words = _keyword_vote(words)
    short = letters < 20 or len(words) <= 4
    if short:
        if kw_lang and kw_hits * 2 >= len(words):
            return _finish(kw_lang, f"keywords: {', '.join(kw_words[:3])}", clean, country, tld_country)
        hinted = _hinted(thread_language, country, tld_country)
        if hinted:
            return hinted
        if kw_lang:
            return _finish(kw_lang, f"keywords: {', '.join(kw_words[:3])}", clean, country, tld_country)

    probs = _langdetect(clean)
    if probs:
        lang, prob = probs[0]
        if prob >= 0.9 and not short:
            return _finish(lang, f"langdetect {lang} {prob:.2f}", clean, country, tld_country)
        if kw_lang and kw_hits >= 2:
            return _finish(kw_lang, f"keywords: {', '.join(kw_words[:3])}", clean, country, tld_country)
        hinted = _hinted(thread_language, country, tld_country)
        if hinted:
            return hinted
        if letters >= 8:
            return _finish(
                lang, f"langdetect {lang} {prob:.2f} (low confidence)", clean, country, tld_country
            )
    if kw_lang:
        return _finish(kw_lang, f"keywords: {', '.join(kw_words[:3])}", clean, country, tld_country)
    hinted = _hinted(thread_language, country, tld_country)
    return hinted if hinted else (UNDETERMINED, "too little text")


def _finish(
    lang: str, reason: str, text: str, country: str | None, tld_country: str | None
) -> tuple[str, str]:
    if lang in ("id", "ms"):
        return malay_or_indonesian(text, country or tld_country)
    return lang, reason
