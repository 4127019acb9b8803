"""Optional routing rules: who owns a new inquiry by market, language or country.

``ROUTING_RULES`` is a semicolon-separated list of ``field:value=U1|U2`` rules, e.g.
``market:SEA=U01ANNA;language:es=U02BEN|U03CARLA;country:DE=U04DIRK``. The first rule
that matches wins; several users form a round-robin group (the turn is kept in the store
so it survives restarts).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.config.routing_rules import Rule
from bot.core.models import Event, Inquiry
from bot.desk.ports import Store


class Router:
    def __init__(self, rules: tuple[Rule, ...], store: Store) -> None:
        self.rules = rules
        self.store = store

    def route(self, inq: Inquiry) -> str | None:
        for i, rule in enumerate(self.rules):
            if rule.matches(inq):
                if len(rule.users) == 1:
                    return rule.users[0]
                with self.store.transaction():
                    turn = int(self.store.get_meta(f"route_turn:{i}", 0))
                    self.store.set_meta(f"route_turn:{i}", turn + 1)
                return rule.users[turn % len(rule.users)]
        return None


def routed(inq: Inquiry, router: Router | None, now: datetime) -> Inquiry:
    """``inq`` with the owner the routing rules pick (and a ``routed`` event), when it has none."""
    if router is None or inq.owner is not None:
        return inq
    owner = router.route(inq)
    if not owner:
        return inq
    return replace(
        inq, owner=owner, routed_to=owner, events=(*inq.events, Event(now, "bot", "routed", owner))
    )
