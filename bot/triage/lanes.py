"""Lanes: turn a filter category and a risk score into ``inquiry`` / ``review`` / ``filtered``.

Pure. The thresholds come from config (``REVIEW_AT``, ``FILTER_AT``). A mail the filter already
called non-inquiry (bounce, auto-reply, newsletter...) is ``filtered`` whatever its score. A mail
the filter kept is ``inquiry`` below ``review_at``, ``review`` from there, and ``filtered`` only
from ``filter_at`` up: when unsure, review rather than filter.

``lane_for(Category.INQUIRY, 4.5, Thresholds())`` -> ``Lane.REVIEW``.

:func:`with_signals` adds signals computed later (what the store has learnt about a sender, the
desk's text model, a model's second opinion) to a verdict and decides its lane again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.core.models import Category, Lane, Risk, RiskSignal, Triage, Warning

LURE_SUSPECTED = "lure_suspected"

# Signals that decide the lane on their own, whatever the score (a person's earlier verdict).
FORCE_FILTERED = "junked_sender"
FORCE_INQUIRY = "trusted_sender"
# Signals that keep a mail on a card whatever else is learnt (a forgery of our own domain).
FORCE_REVIEW = "spoofed_own_domain"


@dataclass(frozen=True)
class Thresholds:
    """``review_at``: from this score a kept mail goes to review; ``filter_at``: to filtered."""

    review_at: float = 3.0
    filter_at: float = 8.0

    def __post_init__(self) -> None:
        if not self.review_at < self.filter_at:
            raise ValueError(f"REVIEW_AT ({self.review_at}) must be below FILTER_AT ({self.filter_at})")


def combine(signals: Iterable[RiskSignal]) -> Risk:
    """One :class:`Risk` from signals; a signal name counts once (the heaviest wins)."""
    best: dict[str, RiskSignal] = {}
    for s in signals:
        old = best.get(s.name)
        if old is None or abs(s.weight) > abs(old.weight):
            best[s.name] = s
    ordered = tuple(sorted(best.values(), key=lambda s: (-s.weight, s.name)))
    return Risk(score=round(sum(s.weight for s in ordered), 2), signals=ordered)


def lane_for(category: Category, risk: Risk | float, thresholds: Thresholds) -> Lane:
    """The lane of a mail from its filter category and risk."""
    if category is not Category.INQUIRY:
        return Lane.FILTERED
    names = {s.name for s in risk.signals} if isinstance(risk, Risk) else set()
    if FORCE_REVIEW in names:
        return Lane.REVIEW
    if FORCE_FILTERED in names:
        return Lane.FILTERED
    if FORCE_INQUIRY in names:
        return Lane.INQUIRY
    score = risk.score if isinstance(risk, Risk) else float(risk)
    if score >= thresholds.filter_at:
        return Lane.FILTERED
    if score >= thresholds.review_at:
        return Lane.REVIEW
    return Lane.INQUIRY


def lure_warning(risk: Risk, thresholds: Thresholds) -> Warning | None:
    """The ``lure_suspected`` warning when the score reaches review, naming the top evidence."""
    if risk.score < thresholds.review_at:
        return None
    top = [s for s in risk.signals if s.weight > 0][:3]
    detail = "; ".join(f"{s.name}: {s.evidence}" if s.evidence else s.name for s in top)
    return Warning(LURE_SUSPECTED, f"risk {risk.score:g}: {detail}"[:300])


def decide(verdict: Triage, risk: Risk, thresholds: Thresholds) -> Triage:
    """``verdict`` with ``risk``, its lane, ``is_inquiry`` and the lure warning set from them."""
    lane = lane_for(verdict.category, risk, thresholds)
    warnings = tuple(w for w in verdict.warnings if w.code != LURE_SUSPECTED)
    lure = lure_warning(risk, thresholds)
    if lure is not None:
        warnings = (lure, *warnings)
    return replace(verdict, risk=risk, lane=lane, is_inquiry=lane is Lane.INQUIRY, warnings=warnings)


def with_signals(verdict: Triage, extra: Iterable[RiskSignal], thresholds: Thresholds) -> Triage:
    """``verdict`` with more signals (learnt reputation, text model...), lane decided again."""
    return decide(verdict, combine((*verdict.risk.signals, *extra)), thresholds)
