"""JSON documents into PostgreSQL ``jsonb`` columns.

``jsonb`` refuses two things Python strings may hold: the NUL character and lone surrogates
(from undecodable mail bytes). Such characters become U+FFFD on the way in; documents without
them (nearly all) pass through after one ``json.dumps``.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean(value: Any) -> Any:
    """``value`` with every string safe for ``jsonb`` (and ``text`` columns)."""
    if isinstance(value, str):
        if "\x00" in value or _has_surrogate(value):
            return "".join("\ufffd" if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
        return value
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def dumps(doc: Any) -> str:
    text = json.dumps(doc, ensure_ascii=False)
    if "\\u0000" in text or _has_surrogate(text):
        text = json.dumps(clean(doc), ensure_ascii=False)
    return text


def jsonb(doc: Any) -> Jsonb:
    """A ``jsonb`` parameter for ``doc`` (see the module docstring)."""
    return Jsonb(doc, dumps=dumps)


def text(value: str) -> str:
    """A string safe for a ``text`` column."""
    cleaned: str = clean(value)
    return cleaned
