"""The desk's own text model: multinomial naive Bayes over the words of a mail, learnt from clicks.

Pure. Two classes: ``junk`` (the team clicked *Junk* or *Not an inquiry*) and ``buyer`` (*Real
buyer* or *Rescue*). A mail's tokens are the words of its subject and new text (lower-cased,
numbers folded to ``<n>``, addresses and links removed) plus character bigrams of Han, kana and
Hangul runs, which have no spaces between words.

``score(model, tokens(subject, text))`` is the log-odds that the mail is junk, with a uniform
prior (the clicks are not a sample of the mailbox) and add-one smoothing over the tokens the model
has seen; :func:`signal` turns it into a :class:`~bot.core.models.RiskSignal` named ``text_model`` whose
weight is proportional to the log-odds and capped, once the model has seen ``MIN_EXAMPLES`` mails
of each class. It can at most hold a mail for review on its own (``MAX_WEIGHT``), never filter it.

>>> m = update(update(empty(), tokens("NEW PO", "see attached PO"), JUNK), tokens("LED", "600 pcs"), BUYER)
>>> round(score(m, tokens("PO attached", "")).log_odds, 2) > 0
True
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.core.models import RiskSignal

JUNK = "junk"
BUYER = "buyer"
CLASSES = (JUNK, BUYER)
SIGNAL = "text_model"

MIN_EXAMPLES = 5  # mails of each class before the model has an opinion
MIN_KNOWN_TOKENS = 3  # tokens of the mail the model has seen before
SCALE = 0.25  # signal weight per unit of log-odds
MAX_WEIGHT = 3.0  # alone it can reach review (REVIEW_AT's default), never filtered
MIN_WEIGHT = -2.0
MAX_TOKENS_PER_MAIL = 400
MAX_COUNT_PER_MAIL = 3  # one word repeated forty times counts three times
MAX_VOCABULARY = 20000

_DROP = re.compile(r"\S+@\S+|(?:https?://|www\.)\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_DIGITS = re.compile(r"\d")


def tokens(subject: str, text: str) -> tuple[str, ...]:
    """The model's tokens of one mail (subject words marked ``s:``, they weigh apart)."""
    out: list[str] = []
    for prefix, part in (("s:", subject or ""), ("", text or "")):
        clean = _DROP.sub(" ", part[:20000])
        for word in _WORD.findall(clean):
            word = word.casefold()
            if _CJK.search(word):
                for run in _CJK.findall(word):
                    out.extend(prefix + run[i : i + 2] for i in range(max(1, len(run) - 1)))
                continue
            if _DIGITS.search(word):
                word = "<n>" if word.isdigit() else _DIGITS.sub("0", word)
            if 2 <= len(word) <= 30 or word == "<n>":
                out.append(prefix + word)
            if len(out) >= MAX_TOKENS_PER_MAIL:
                return tuple(out)
    return tuple(out)


@dataclass(frozen=True)
class TextModel:
    """Token counts per class (``counts[token] = (junk, buyer)``) and mails seen per class."""

    counts: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))
    docs: tuple[int, int] = (0, 0)
    totals: tuple[int, int] = (0, 0)  # token occurrences per class

    @property
    def ready(self) -> bool:
        return min(self.docs) >= MIN_EXAMPLES


def empty() -> TextModel:
    return TextModel()


def _index(label: str) -> int:
    if label not in CLASSES:
        raise ValueError(f"label must be {JUNK!r} or {BUYER!r}, not {label!r}")
    return CLASSES.index(label)


def _bag(toks: Iterable[str]) -> Counter[str]:
    bag = Counter(toks)
    return Counter({t: min(n, MAX_COUNT_PER_MAIL) for t, n in bag.items()})


def update(model: TextModel, toks: Sequence[str], label: str, *, times: int = 1) -> TextModel:
    """The model after one more mail of class ``label`` (``times=-1`` forgets one)."""
    k = _index(label)
    bag = _bag(toks)
    counts = dict(model.counts)
    added = 0
    for tok, n in bag.items():
        pair = list(counts.get(tok, (0, 0)))
        pair[k] = max(0, pair[k] + n * times)
        added += n * times
        if pair[0] or pair[1]:
            counts[tok] = (pair[0], pair[1])
        else:
            counts.pop(tok, None)
    docs = list(model.docs)
    docs[k] = max(0, docs[k] + times)
    totals = list(model.totals)
    totals[k] = max(0, totals[k] + added)
    if len(counts) > MAX_VOCABULARY:
        counts = _prune(counts)
        totals = [sum(c[i] for c in counts.values()) for i in range(2)]
    return TextModel(MappingProxyType(counts), (docs[0], docs[1]), (totals[0], totals[1]))


def _prune(counts: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Keep the ``MAX_VOCABULARY`` most frequent tokens (the rare ones carry little)."""
    ranked = sorted(counts.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    return dict(ranked[: MAX_VOCABULARY * 9 // 10])


def train(examples: Iterable[tuple[Sequence[str], str]]) -> TextModel:
    """A model from ``(tokens, label)`` pairs."""
    model = empty()
    for toks, label in examples:
        model = update(model, toks, label)
    return model


@dataclass(frozen=True)
class Score:
    log_odds: float  # > 0: junk-like
    known: int  # how many of the mail's tokens the model has seen
    top: tuple[str, ...]  # the tokens that pushed most in the winning direction


def score(model: TextModel, toks: Sequence[str]) -> Score:
    """Log-odds (junk vs buyer) of a mail, uniform prior, add-one smoothing over seen tokens."""
    vocab = max(1, len(model.counts))
    denom_j = math.log(model.totals[0] + vocab)
    denom_b = math.log(model.totals[1] + vocab)
    total = 0.0
    known = 0
    contrib: dict[str, float] = {}
    for tok, n in _bag(toks).items():
        pair = model.counts.get(tok)
        if pair is None:
            continue
        known += n
        delta = n * ((math.log(pair[0] + 1) - denom_j) - (math.log(pair[1] + 1) - denom_b))
        total += delta
        contrib[tok] = delta
    sign = 1.0 if total >= 0 else -1.0
    top = sorted((t for t in contrib if contrib[t] * sign > 0), key=lambda t: -contrib[t] * sign)[:3]
    return Score(round(total, 3), known, tuple(top))


def signal(model: TextModel, toks: Sequence[str]) -> RiskSignal | None:
    """The ``text_model`` signal, or None while the model is too young or the mail too unknown."""
    if not model.ready:
        return None
    s = score(model, toks)
    if s.known < MIN_KNOWN_TOKENS:
        return None
    weight = round(max(MIN_WEIGHT, min(MAX_WEIGHT, SCALE * s.log_odds)), 2)
    if abs(weight) < 0.1:
        return None
    words = ", ".join(t.removeprefix("s:") for t in s.top)
    side = "junk" if weight > 0 else "buyer"
    evidence = (
        f"reads like the {model.docs[0] if weight > 0 else model.docs[1]} mails the team called {side}"
        f" (log-odds {s.log_odds:+.1f}{'; ' + words if words else ''})"
    )
    return RiskSignal(SIGNAL, weight, evidence[:200])


def to_doc(model: TextModel) -> dict[str, Any]:
    return {
        "docs": list(model.docs),
        "totals": list(model.totals),
        "counts": {t: [c[0], c[1]] for t, c in model.counts.items()},
    }


def from_doc(doc: Mapping[str, Any] | None) -> TextModel:
    if not doc:
        return empty()
    counts = {str(t): (int(c[0]), int(c[1])) for t, c in dict(doc.get("counts", {})).items()}
    docs = doc.get("docs") or (0, 0)
    totals = doc.get("totals") or (0, 0)
    return TextModel(MappingProxyType(counts), (int(docs[0]), int(docs[1])), (int(totals[0]), int(totals[1])))
