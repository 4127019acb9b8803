"""Subject normalisation for matching a buyer's follow-up to an existing inquiry.

Example::

    >>> normalize_subject("RE: Fwd: [ext]  回复：Quotation for  Model [X-200]")
    'quotation for model [x-200]'
"""

from __future__ import annotations

import re

# Reply / forward prefixes in the languages our buyers write in (Outlook localises them).
_PREFIXES = (
    "re",
    "fwd",
    "fw",
    "aw",
    "wg",
    "sv",
    "vs",
    "antw",
    "antwort",
    "res",
    "enc",
    "rv",
    "r",
    "tr",
    "rif",
    "odp",
    "pd",
    "ynt",
    "ilt",
    "rép",
    "ref",
    "fs",
    "doorst",
    "trả lời",
    "tl",
    "chuyển tiếp",
    "回复",
    "回覆",
    "答复",
    "答覆",
    "转发",
    "轉寄",
    "轉發",
    "回信",
    "返信",
    "転送",
    "전달",
    "회신",
    "답장",
    "ответ",
    "отв",
    "пересл",
    "ΑΠ",
    "ΣΧΕΤ",
    "balas",
    "ตอบกลับ",
    "رد",
)
_PREFIX_RE = re.compile(
    r"^\s*(?:"
    + "|".join(sorted((re.escape(p) for p in _PREFIXES), key=len, reverse=True))
    + r")\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*",
    re.IGNORECASE,
)
# A list / gateway tag at the start: "[ext]", "[EXTERNAL]", "[sales-list]", "[SPAM]".
_TAG_RE = re.compile(r"^\s*\[[^\[\]]{0,40}\]\s*")
_STARS_TAG_RE = re.compile(r"^\s*\*{2,}\s*[^*]{1,30}\s*\*{2,}\s*")


def normalize_subject(subject: str) -> str:
    """Strip any number of reply/forward prefixes and leading list tags, collapse
    whitespace and casefold. Bracketed text after the real subject starts is kept."""
    text = " ".join(subject.split())
    for _ in range(100):  # bounded: every round removes at least one character
        stripped = _PREFIX_RE.sub("", text, count=1)
        stripped = _STARS_TAG_RE.sub("", stripped, count=1)
        tagged = _TAG_RE.sub("", stripped, count=1)
        # A subject that is nothing but a tag keeps its tag.
        if tagged.strip():
            stripped = tagged
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split()).casefold()
