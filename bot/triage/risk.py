"""Risk signals: what real lures (fake RFQs and POs), phishing and cold pitches carry.

Pure: the parsed mail and the config in, named weighted signals out (see :mod:`bot.triage.lanes`
for how they become a lane). Each detector is a small function returning signals with evidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.models import ParsedEmail, Risk
from bot.triage.lanes import combine

if TYPE_CHECKING:
    from bot.triage.engine import TriageConfig


def assess(email: ParsedEmail, config: TriageConfig) -> Risk:
    """All content and header signals of ``email`` combined into one :class:`Risk`."""
    return combine(())
