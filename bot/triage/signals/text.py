"""Shared helpers for the detectors: bounded text views and greeting lines.

Every detector scans at most :data:`SCAN_CHARS` characters of a body and no header beyond
:data:`HEADER_CHARS`, so a hostile mail costs the same as a normal one.
"""

from __future__ import annotations

import re

from bot.core.models import ParsedEmail

SCAN_CHARS = 6000
HEADER_CHARS = 2000


def body_of(email: ParsedEmail) -> str:
    """The sender's new text (or the whole text), cut to what the rules need."""
    return ((email.new_text or "").strip() or (email.text or "").strip())[:SCAN_CHARS]


def whole_of(email: ParsedEmail) -> str:
    """Subject and body together, bounded."""
    return f"{(email.subject or '')[:300]}\n{body_of(email)}"


def header(email: ParsedEmail, name: str) -> str:
    return (email.headers.get(name) or "")[:HEADER_CHARS].strip()


def short(text: str, limit: int = 60) -> str:
    """One line of evidence: collapsed whitespace, cut with an ellipsis."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_GREETING_RE = re.compile(
    r"^[ \t>*|]{0,8}(?:dear|hello|hi|hey|greetings|attn|attention|atenção|atención|estimado|estimada|"
    r"caro|cara|sehr geehrte[rs]?|liebe[rs]?|hallo|bonjour|cher|chère|beste|geachte|szanown[ay]|"
    r"dzień dobry|kính gửi|xin chào|yth|kepada)[ \t,:]{1,4}(?P<name>[^\n,:!]{1,60})",
    re.IGNORECASE | re.MULTILINE,
)


def greeting_name(body: str) -> str | None:
    """The name a mail greets (``"Dear linux-hams,"`` -> ``"linux-hams"``), from its first lines."""
    m = _GREETING_RE.search(body[:400])
    return m.group("name").strip() if m else None


def lowered_pattern(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` for text that is already lower-cased (much faster than re.I on long
    alternations): letters are lower-cased except those of escapes such as ``\\S``, ``\\b``."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        keep = escaped or (ch == "P" and out[-2:] == ["(", "?"])  # (?P<name>...)
        out.append(ch if keep else ch.lower())
        escaped = ch == "\\" and not escaped
    return re.compile("".join(out))
