"""App Home: the member's queue (theirs, at risk, unclaimed), published on open and after clicks."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.services import Services
from bot.sla.engine import SlaState, deadline, sla_state

log = logging.getLogger(__name__)


class HomeHandler:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.s = services
        self.client = client

    def view(self, user: str) -> dict[str, Any]:
        s = self.s
        now = s.clock()
        open_ = s.store.open_inquiries()
        states = {i.id: sla_state(i, now, s.policy) for i in open_}
        deadlines = {i.id: d for i in open_ if (d := deadline(i, s.policy)) is not None}
        newest = sorted(open_, key=lambda i: i.created_at, reverse=True)
        mine = [i for i in newest if i.owner == user]
        at_risk = [i for i in newest if states[i.id] in (SlaState.AT_RISK, SlaState.BREACHED)]
        unclaimed = [i for i in newest if i.owner is None]
        return home_view(user, mine, unclaimed, at_risk, now, s.lang, deadlines)

    def publish(self, user: str) -> None:
        try:
            self.client.views_publish(user_id=user, view=self.view(user))
        except Exception:
            log.exception("could not publish the App Home of %s", user)

    def opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            self.publish(str(event["user"]))


def register(app: App, services: Services) -> HomeHandler:
    h = HomeHandler(services, app.client)
    app.event("app_home_opened")(h.opened)
    services.extras["refresh_home"] = h.publish
    return h
