"""Bridges the configuration to the pure triage: its config object and trust warnings."""

from __future__ import annotations

from bot.config import Config
from bot.models import ParsedEmail, Triage, Warning
from bot.triage import TriageConfig


def triage_config(config: Config) -> TriageConfig:
    return TriageConfig(
        own_domains=config.own_domains,
        sla_hours=dict(config.sla_hours),
        market_overrides=dict(config.market_overrides),
    )


def warnings_for(email: ParsedEmail, verdict: Triage, config: Config) -> tuple[Warning, ...]:
    """Trust warnings (issue #9); the triage's own list until the trust checks land."""
    return verdict.warnings
