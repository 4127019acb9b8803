"""App Home: the member's queue (theirs, at risk, unclaimed), published on open and after clicks.

Slack redelivers an event it thinks we missed (``X-Slack-Retry-Num``) with the same
``event_id``; Bolt does not deduplicate, so the handler remembers recent event ids and
publishes once per event.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.services import Services
from bot.sla.engine import SlaState, deadline, sla_state

log = logging.getLogger(__name__)

SEEN_EVENTS = 2000  # Slack retries within minutes; this covers far more than that


class HomeHandler:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.s = services
        self.client = client
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()

    def first_delivery(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen ("" always counts as new)."""
        if not event_id:
            return True
        with self._seen_lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
            return True

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

    def opened(self, event: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        event_id = str((body or {}).get("event_id") or "")
        if not self.first_delivery(event_id):
            log.info("event %s delivered again; already handled", event_id)
            return
        if event.get("tab", "home") == "home":
            self.publish(str(event["user"]))


def register(app: App, services: Services) -> HomeHandler:
    h = HomeHandler(services, app.client)
    app.event("app_home_opened")(h.opened)
    services.extras["refresh_home"] = h.publish
    return h
