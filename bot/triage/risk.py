"""Risk signals: what real lures (fake RFQs and POs), phishing and cold pitches carry.

Pure: the parsed mail and the config in, named weighted signals out (see :mod:`bot.triage.lanes`
for how they become a lane). The detectors live in :mod:`bot.triage.signals`, one module per kind
of evidence: headers (server verdict, recipients, threading, identity), attachments and links,
content (vagueness, pressure, offers, scams). What the store has learnt about a sender is added
later by the ingest step (:func:`bot.triage.lanes.with_signals`).

``assess(email, TriageConfig())`` -> ``Risk(score=9.5, signals=(RiskSignal("risky_attachment",
6.0, "PO#198945.html"), ...))``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.core.models import ParsedEmail, Risk, RiskSignal
from bot.triage.lanes import combine
from bot.triage.signals.attachments import attachment_signals
from bot.triage.signals.content import content_signals
from bot.triage.signals.headers import (
    HeaderContext,
    auth_signals,
    identity_signals,
    recipient_signals,
    thread_signals,
)
from bot.triage.signals.text import whole_of
from bot.triage.tier import find_quantity, grade_text

if TYPE_CHECKING:
    from bot.triage.engine import TriageConfig

_SPEC_RE = re.compile(
    r"(?<![\w-])(?=[A-Z0-9-]{0,20}\d)[A-Z]{1,6}-?\d{2,8}[A-Z0-9-]{0,8}(?![\w-])|"
    r"(?<![\d.])\d{1,5}(?:[.,]\d{1,2})?\s?[x×*]\s?\d{1,5}(?:[.,]\d{1,2})?(?:\s?[x×*]\s?\d{1,5})?\s?(?:mm|cm|m|in)\b"
)


def _spec(text: str) -> str | None:
    m = _SPEC_RE.search(text)
    return m.group(0) if m else None


def assess(email: ParsedEmail, config: TriageConfig) -> Risk:
    """All content and header signals of ``email`` combined into one :class:`Risk`."""
    ctx = HeaderContext(
        own_addresses=config.own_addresses,
        own_domains=config.own_domains,
        authserv_id=config.authserv_id,
    )
    text = whole_of(email)
    signals: list[RiskSignal] = []
    signals += auth_signals(email, ctx)
    signals += recipient_signals(email, ctx)
    signals += thread_signals(email)
    signals += identity_signals(email, ctx)
    signals += attachment_signals(email)
    profile_spec = config.profile.spec_in(text)
    signals += content_signals(
        email,
        quantity=find_quantity(grade_text(email), config.profile),
        spec=_spec(text) or (profile_spec[1] if profile_spec else None),
        products=config.product_terms_in(text),
    )
    return combine(signals)
