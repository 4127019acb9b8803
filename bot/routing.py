"""Optional routing rules: who owns a new inquiry by market, language or country.

``ROUTING_RULES`` is a semicolon-separated list of ``field:value=U1|U2`` rules, e.g.
``market:SEA=U01ANNA;language:es=U02BEN|U03CARLA;country:DE=U04DIRK``. The first rule
that matches wins; several users form a round-robin group (the turn is kept in the store
so it survives restarts).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import ConfigError
from bot.models import Inquiry
from bot.store.repo import Store

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


def parse_rules(text: str | None) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    problems: list[str] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        lhs, sep, rhs = part.partition("=")
        field, colon, value = lhs.partition(":")
        users = tuple(u.strip() for u in rhs.split("|") if u.strip())
        if not sep or not colon or field.strip() not in FIELDS or not value.strip() or not users:
            problems.append(f"ROUTING_RULES: {part!r} is not field:value=U1|U2 (fields: {', '.join(FIELDS)})")
            continue
        rules.append(Rule(field.strip(), value.strip(), users))
    if problems:
        raise ConfigError(problems)
    return tuple(rules)


class Router:
    def __init__(self, rules: tuple[Rule, ...], store: Store) -> None:
        self.rules = rules
        self.store = store

    def route(self, inq: Inquiry) -> str | None:
        for i, rule in enumerate(self.rules):
            if rule.matches(inq):
                if len(rule.users) == 1:
                    return rule.users[0]
                with self.store.locked():
                    turn = int(self.store.get_meta(f"route_turn:{i}", 0))
                    self.store.set_meta(f"route_turn:{i}", turn + 1)
                return rule.users[turn % len(rule.users)]
        return None
