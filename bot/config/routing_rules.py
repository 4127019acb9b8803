"""``ROUTING_RULES``: who owns a new inquiry by market, language or country, parsed and checked.

A semicolon-separated list of ``field:value=U1|U2`` rules, e.g.
``market:SEA=U01ANNA;language:es=U02BEN|U03CARLA;country:DE=U04DIRK``. The desk applies them
(:mod:`bot.desk.routing`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import ConfigError
from bot.core.models import Inquiry, Market, Tier

FIELDS = ("market", "language", "country", "tier")


@dataclass(frozen=True)
class Rule:
    field: str
    value: str
    users: tuple[str, ...]

    def matches(self, inq: Inquiry) -> bool:
        t = inq.triage
        actual = {
            "market": t.market.value,
            "language": t.language,
            "country": t.country or "",
            "tier": inq.tier.value if inq.tier else "",
        }[self.field]
        return actual.lower() == self.value.lower()


USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,4})?$", re.IGNORECASE)


def user_id_problem(value: str) -> str | None:
    """Why ``value`` is not a Slack member id (``U…``/``W…``), or None when it is one."""
    if USER_ID.match(value):
        return None
    if CHANNEL_ID.match(value):
        return f"{value!r} is a channel id; a member's user id (U…) belongs here"
    return f"{value!r} is not a user id (U…; Slack profile → ⋮ → Copy member ID)"


def _value_problem(field: str, value: str) -> str | None:
    if field == "market" and value.upper() not in {m.value for m in Market}:
        return f"unknown market {value!r} (markets: {', '.join(m.value for m in Market)})"
    if field == "tier" and value.upper() not in {t.value for t in Tier}:
        return f"unknown tier {value!r} (tiers: {', '.join(t.value for t in Tier)})"
    if field == "country" and not (len(value) == 2 and value.isalpha()):
        return f"country {value!r} is not a two-letter code such as DE"
    if field == "language" and not _LANGUAGE.match(value):
        return f"language {value!r} is not a code such as es or zh"
    return None


def parse_rules(text: str | None) -> tuple[Rule, ...]:
    """Parse ``ROUTING_RULES``; raise ConfigError listing every bad rule and why."""
    rules: list[Rule] = []
    problems: list[str] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        lhs, sep, rhs = part.partition("=")
        field, colon, value = lhs.partition(":")
        field, value = field.strip().lower(), value.strip()
        users = tuple(u.strip().lstrip("@") for u in rhs.split("|") if u.strip())
        if not sep or not colon or field not in FIELDS or not value or not users:
            problems.append(f"ROUTING_RULES: {part!r} is not field:value=U1|U2 (fields: {', '.join(FIELDS)})")
            continue
        wrong = [_value_problem(field, value), *(user_id_problem(u) for u in users)]
        found = [w for w in wrong if w]
        if found:
            problems.append(f"ROUTING_RULES: {part!r}: {'; '.join(found)}")
            continue
        rules.append(Rule(field, value, users))
    if problems:
        raise ConfigError(problems)
    return tuple(rules)
