"""Look-alike domains: a sender domain that imitates one of ours or a known buyer's.

Three tricks are recognised, each against the registrable domain (``mail.acme.co.uk`` ->
label ``acme``, suffix ``co.uk``):

- an edit of the label: ``brightway-1ed.com``, ``brightwayled.com``, ``brightway-led.com``;
- Unicode homoglyphs and punycode: ``brightwаy-led.com`` with a Cyrillic ``а``, ``xn--...``;
- a changed or extra suffix: ``brightway-led.net``, ``brightway-led.co``, ``brightway-led.com.cn``.

A domain identical to a known one (or a subdomain of it) is never a look-alike, free-mail
domains are never compared, and labels shorter than ``MIN_LABEL`` only match by homoglyph.

``lookalike_of("brightway-1ed.com", {"brightway-led.com"})`` -> ``("brightway-led.com", "edit")``.
"""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

from bot.triage.region import is_free_mail, registrable_domain

__all__ = ["MIN_LABEL", "decode_domain", "lookalike_of", "skeleton", "split_registrable"]

MIN_LABEL = 5

# Letters that render like ASCII ones (a small slice of Unicode's confusables.txt).
_CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ь": "b", "п": "n", "г": "r",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "γ": "y", "μ": "u",
    # Latin look-alikes outside ASCII
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "ɑ": "a", "ɩ": "i", "ǀ": "l",
}  # fmt: skip

# ASCII swaps that read the same at a glance; applied after the Unicode skeleton.
_ASCII_SWAPS: tuple[tuple[str, str], ...] = (("rn", "m"), ("vv", "w"), ("1", "l"), ("0", "o"), ("5", "s"))


def decode_domain(domain: str) -> str:
    """Lower-cased domain with each ``xn--`` label decoded to Unicode (left as is when invalid)."""
    labels = []
    for label in domain.strip().strip(".").lower().split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    """ASCII skeleton: homoglyphs mapped, accents stripped (``brіghtwаy`` -> ``brightway``)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    mapped = "".join(_CONFUSABLES.get(ch, ch) for ch in folded)
    decomposed = unicodedata.normalize("NFKD", mapped)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _visual(label: str) -> str:
    out = label.replace("-", "").replace("_", "")
    for old, new in _ASCII_SWAPS:
        out = out.replace(old, new)
    return out.replace("i", "l")


def split_registrable(domain: str) -> tuple[str, str]:
    """``("acme", "co.uk")`` for ``mail.acme.co.uk``."""
    reg = registrable_domain(domain)
    label, _, suffix = reg.partition(".")
    return label, suffix


def _max_edits(length: int) -> int:
    return 2 if length >= 10 else 1


class _Known(NamedTuple):
    """A known domain taken apart once (decoding and the public-suffix look-up are most of a
    comparison's cost, and the same known domains come back with every mail)."""

    decoded: str
    reg: str
    label: str
    suffix: str
    skel_label: str
    skel_suffix: str
    free: bool


@functools.lru_cache(maxsize=65536)
def _known(domain: str) -> _Known:
    decoded = decode_domain(domain)
    label, suffix = split_registrable(decoded)
    return _Known(
        decoded,
        registrable_domain(decoded),
        label,
        suffix,
        skeleton(label),
        skeleton(suffix),
        is_free_mail(decoded),
    )


def lookalike_of(domain: str, known: Iterable[str], min_label: int = MIN_LABEL) -> tuple[str, str] | None:
    """The known domain that ``domain`` imitates and how (``edit``, ``homoglyph``, ``tld``), or None."""
    decoded = decode_domain(domain)
    if not decoded or "." not in decoded:
        return None
    prepared = sorted((_known(k) for k in {k for k in known if k and "." in k}), key=lambda p: p.decoded)
    reg = registrable_domain(decoded)
    if any(decoded == p.decoded or reg == p.reg for p in prepared):
        return None
    if is_free_mail(decoded) and decoded.isascii():
        return None
    label, suffix = split_registrable(decoded)
    skel_label, skel_suffix = skeleton(label), skeleton(suffix)
    non_ascii = not decoded.isascii()
    for p in prepared:
        if p.free:
            continue
        k, k_label, k_suffix = p.decoded, p.label, p.suffix
        k_reg = f"{k_label}.{k_suffix}"
        if not k_label:
            continue
        if non_ascii and skel_label == p.skel_label and skel_suffix == p.skel_suffix:
            return k, "homoglyph"
        if len(k_label) < min_label:
            continue
        if decoded.startswith(k_reg + ".") or f".{k_reg}." in f".{decoded}":
            return k, "tld"
        if skel_label == k_label and skel_suffix != k_suffix:
            return k, ("homoglyph" if non_ascii else "tld")
        if len(skel_label) < min_label:
            continue
        a, b = _visual(skel_label), _visual(k_label)
        if a == b or Levenshtein.distance(skel_label, k_label, score_cutoff=_max_edits(len(k_label))) <= (
            _max_edits(len(k_label))
        ):
            return k, ("homoglyph" if non_ascii else "edit")
    return None
