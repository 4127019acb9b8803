"""Charset names and tolerant decoding for real-world mail.

Mail in the wild lies about its charset: GBK text labelled ``gb2312``, Big5-HKSCS labelled
``big5``, Thai labelled ``windows-874`` (unknown to Python), typos such as ``uft-8``, and 8-bit
bytes in parts that claim ``us-ascii`` or nothing at all. This module maps such labels to the
Python codec that actually reads them, and decodes bytes without ever raising.

Example::

    >>> codec_for("GB2312")
    'gb18030'
    >>> decode_bytes("\u738b\u5148\u751f".encode("gbk"), "gb2312")
    ('\u738b\u5148\u751f', ())
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterable

# Labels whose declared codec is too narrow or missing in Python -> the codec that reads them.
CHARSET_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "gb-2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "hz-gb-2312": "hz",
    "big5": "big5hkscs",
    "big-5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "cp950": "big5hkscs",
    "ms950": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "korean": "cp949",
    "windows-949": "cp949",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "tis-620": "cp874",
    "tis620": "cp874",
    "iso-8859-11": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-2022-jp-2": "iso2022_jp_2",
    "csiso2022jp": "iso2022_jp_ext",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-8-e": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-user-defined": "cp1252",
    "iso-8859-1": "cp1252",  # what every mailer means by latin-1 (WHATWG)
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "ascii": "ascii",
    "utf8": "utf-8",
    "uft-8": "utf-8",
    "utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-utf-8": "utf-8",
    "unicode": "utf-16",
    "utf-7": "utf-7",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "default": "utf-8",
    "_autodetect_all": "utf-8",
}

# Encoded words whose declared charset Python reads too narrowly: decode them ourselves.
CHARSET_ALIAS_HINT = re.compile(
    r"=\?(?:gb2312|gbk|x-gbk|big5|ks_c_5601-1987|euc-kr|windows-874|shift_jis|iso-8859-1|uft-8)\?", re.I
)

# Codecs we will trust for an unlabelled or mislabelled 8-bit part, tried after utf-8.
_FALLBACK_GUESS = "cp1252"

_MAX_GUESS_BYTES = 64 * 1024
_MIN_GUESS_BYTES = 24


def codec_for(label: str | None) -> str | None:
    """Return the Python codec name for a MIME charset label, or None when unknown/empty."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name:
        return None
    if name in CHARSET_ALIASES:
        return CHARSET_ALIASES[name]
    # windows-125x, cp125x, x-cp1251 ...
    match = re.fullmatch(r"(?:x-)?(?:windows|cp|win)[-_]?(\d{3,4})", name)
    if match:
        name = "cp" + match.group(1)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # Python's latin-1 and gb2312 are narrower than what mailers mean.
    return CHARSET_ALIASES.get(info.name.replace("_", "-"), info.name)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def guess_codec(data: bytes) -> str | None:
    """Best guess of the charset of some 8-bit bytes (charset-normalizer when available)."""
    sample = data[:_MAX_GUESS_BYTES]
    if sum(1 for byte in sample if byte > 0x7F) < _MIN_GUESS_BYTES:
        return None  # detectors are unreliable on a few bytes; cp1252 is the safer reading
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - the package is a declared dependency
        return None
    try:
        best = from_bytes(sample).best()
    except Exception:  # defensive: a detector bug must not break parsing
        return None
    if best is None:
        return None
    return codec_for(best.encoding) or best.encoding


def decode_bytes(data: bytes, label: str | None) -> tuple[str, tuple[str, ...]]:
    """Decode ``data`` declared as charset ``label``; never raises.

    Returns the text and a tuple of human-readable defects (empty when the declared charset
    read the bytes cleanly). Order: declared charset (via the alias map), then utf-8, then a
    detector guess, then cp1252 with replacement characters.
    """
    defects: list[str] = []
    codec = codec_for(label)
    if label and codec is None:
        defects.append(f"unknown charset {label[:40]!r}")
    if codec is not None and codec != "ascii":
        text = _strict(data, codec)
        if text is not None:
            return text, tuple(defects)
        defects.append(f"bytes are not valid {label!s:.40}")
    elif data.isascii():
        return data.decode("ascii"), tuple(defects)
    elif codec == "ascii":
        defects.append("8-bit bytes in a part labelled us-ascii")
    text = _strict(data, "utf-8")
    if text is not None:
        if codec not in (None, "ascii"):
            repaired = _repair_double_encoding(text, codec)
            if repaired is not None:
                defects.append(f"repaired {label!s:.40} text that had been re-encoded as utf-8")
                return repaired, tuple(defects)
            defects.append("decoded as utf-8 (mislabelled)")
        return text, tuple(defects)
    if codec == "cp1252":
        return data.decode("latin-1"), tuple(defects)
    if codec not in (None, "ascii"):
        assert codec is not None
        text = _replace(data, codec)
        if text is not None and text.count("\ufffd") <= max(2, len(text) // 50):
            defects.append(f"decoded as {codec} with replacement characters")
            return text, tuple(defects)
    guessed = guess_codec(data)
    if guessed:
        text = _strict(data, guessed)
        if text is not None:
            defects.append(f"decoded as {guessed} (guessed)")
            return text, tuple(defects)
    fallback = codec if codec not in (None, "ascii") else _FALLBACK_GUESS
    assert fallback is not None
    text = _replace(data, fallback)
    if text is None:
        text = data.decode("utf-8", errors="replace")
    defects.append(f"decoded as {fallback} with replacement characters")
    return text, tuple(defects)


def _repair_double_encoding(text: str, codec: str | None) -> str | None:
    """Text in ``codec`` that a gateway read as latin-1 and re-encoded as utf-8 ("Â¤j¸É")."""
    if codec is None or codec in ("utf-8", "cp1252") or not any("\x80" <= ch <= "\xff" for ch in text):
        return None
    if any(ord(ch) > 0xFF for ch in text):
        return None
    try:
        return text.encode("latin-1").decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None


def _replace(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec, errors="replace")
    except (LookupError, ValueError, UnicodeError):
        return None


def decode_first(data: bytes, labels: Iterable[str | None]) -> str:
    """Decode with the first label that reads ``data`` cleanly, else :func:`decode_bytes`."""
    for label in labels:
        codec = codec_for(label)
        if codec:
            text = _strict(data, codec)
            if text is not None:
                return text
    return decode_bytes(data, None)[0]


_ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?*\s]{1,60})(?:\*[^?\s]{1,20})?\?(?P<enc>[bBqQ])\?(?P<text>[^?\s]*?)\?=",
)
_BETWEEN_WORDS = re.compile(r"\?=\s+=\?")


def _decode_b(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _decode_q(text: str) -> bytes:
    out = bytearray()
    raw = text.replace("_", " ").encode("latin-1", errors="replace")
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x3D and i + 2 < len(raw) and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(ch)
        i += 1
    return bytes(out)


def unsurrogate(value: str, hint: str | None = None) -> str:
    """Turn surrogate-escaped raw bytes (how ``email`` keeps 8-bit headers) back into text:
    utf-8 first, then ``hint`` (the part's charset), then a guess."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeError:
        return value.encode("utf-8", errors="replace").decode("utf-8")
    text = _strict(data, "utf-8")
    if text is None and hint:
        codec = codec_for(hint)
        text = _strict(data, codec) if codec and codec != "ascii" else None
    return text if text is not None else decode_bytes(data, None)[0]


def decode_header_value(value: str, max_len: int = 2000) -> str:
    """Decode RFC 2047 encoded words (any charset label, broken padding, adjacent words
    with different charsets) and raw 8-bit bytes in a header value; never raises."""
    value = value[: max_len * 4]
    value = unsurrogate(value)
    value = re.sub(r"\r?\n[ \t]*", " ", value)
    if "=?" not in value:
        return value[:max_len]
    # Whitespace between two encoded words is not part of the text (RFC 2047 6.2).
    value = _BETWEEN_WORDS.sub("?==?", value)
    pieces: list[str] = []
    pending: bytes = b""
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(pending, pending_charset)[0])
        pending = b""
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        if match.start() > pos:
            flush()
            pieces.append(value[pos : match.start()])
        charset = match.group("charset")
        enc = match.group("enc").lower()
        data = _decode_b(match.group("text")) if enc == "b" else _decode_q(match.group("text"))
        # Multi-byte characters are often split across adjacent words: join bytes of one charset.
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            flush()
        pending += data
        pending_charset = charset
        pos = match.end()
    flush()
    pieces.append(value[pos:])
    return "".join(pieces)[:max_len]
