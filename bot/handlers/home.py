"""App Home listeners: opened, filter/page clicks, the Preferences modal. Thin: ack + one call
to :class:`bot.desk.home_pages.HomePages`.

Slack redelivers an event it thinks we missed (``X-Slack-Retry-Num``) with the same
``event_id``; Bolt does not deduplicate, so the handler remembers recent event ids and
publishes once per event.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.home import (
    ACTION_PAGE_NEXT,
    ACTION_PAGE_PREV,
    ACTION_PREFS,
    FILTER_ACTIONS,
    PREFS_CALLBACK_ID,
    read_prefs,
)
from bot.core.i18n import t
from bot.handlers.services import Services

log = logging.getLogger(__name__)

SEEN_EVENTS = 2000  # Slack retries within minutes; this covers far more than that


class HomeHandler:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.pages = services.home
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

    # ----------------------------------------------------------- listeners
    def opened(self, event: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        event_id = str((body or {}).get("event_id") or "")
        if not self.first_delivery(event_id):
            log.info("event %s delivered again; already handled", event_id)
            return
        if event.get("tab", "home") == "home":
            self.pages.publish(str(event["user"]))

    def clicked(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        self.pages.change(body["user"]["id"], (body.get("actions") or [{}])[0])

    def open_prefs(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=self.pages.prefs_view(body["user"]["id"]))
        except Exception:
            log.exception("could not open the preferences modal")

    def prefs_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        try:
            prefs = read_prefs((view.get("state") or {}).get("values") or {})
        except ValueError as e:
            ack(response_action="errors", errors={str(e): t("home.prefs.invalid", self.pages.lang_of(user))})
            return
        ack()
        self.pages.save_prefs(user, prefs)


def register(app: App, services: Services) -> HomeHandler:
    h = HomeHandler(services)
    app.event("app_home_opened")(h.opened)
    for action_id in (*FILTER_ACTIONS, ACTION_PAGE_PREV, ACTION_PAGE_NEXT):
        app.action(action_id)(h.clicked)
    app.action(ACTION_PREFS)(h.open_prefs)
    app.view(PREFS_CALLBACK_ID)(h.prefs_submitted)
    return h
