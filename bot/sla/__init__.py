"""The pure SLA engine: deadlines, warning ladder, follow-up cadence, digests and statistics.

Nothing in this package talks to Slack, the store or the scheduler: every function takes ``now``
and inquiries and returns data. The scheduler tick calls :func:`due_pings` and records
``TickResult.keys_to_record``; digest jobs call :func:`is_digest_due`, :func:`owner_digest` and
:func:`team_digest`; ``/inquiry-stats`` uses :func:`compute_stats` and :func:`weekly_chart_png`
(import that one from :mod:`bot.blocks.chart`; it pulls in matplotlib lazily).
"""

from bot.sla.calendar import BusinessCalendar, add_business_time, parse_calendar
from bot.sla.digest import (
    DigestItem,
    OwnerDigest,
    TeamDigest,
    is_digest_due,
    local_day_bounds,
    owner_digest,
    team_digest,
)
from bot.sla.engine import (
    DEFAULT_HOURS,
    LadderEntry,
    Ping,
    PingKind,
    Rung,
    SlaPolicy,
    SlaState,
    Target,
    TickResult,
    deadline,
    due_pings,
    first_response_deadline,
    ladder,
    parse_sla_hours,
    parse_warn_at,
    sla_state,
)
from bot.sla.followup import FollowupPolicy, FollowupStep, parse_steps
from bot.sla.stats import Compliance, Stats, WeekPoint, compute_stats, parse_stats_period, weekly_series

__all__ = [
    "DEFAULT_HOURS",
    "BusinessCalendar",
    "Compliance",
    "DigestItem",
    "FollowupPolicy",
    "FollowupStep",
    "LadderEntry",
    "OwnerDigest",
    "Ping",
    "PingKind",
    "Rung",
    "SlaPolicy",
    "SlaState",
    "Stats",
    "Target",
    "TeamDigest",
    "TickResult",
    "WeekPoint",
    "add_business_time",
    "compute_stats",
    "deadline",
    "due_pings",
    "first_response_deadline",
    "is_digest_due",
    "ladder",
    "local_day_bounds",
    "owner_digest",
    "parse_calendar",
    "parse_sla_hours",
    "parse_stats_period",
    "parse_steps",
    "parse_warn_at",
    "sla_state",
    "team_digest",
    "weekly_series",
]
