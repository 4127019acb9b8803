"""App Home: the member's page of the queue, its filters and paging, and their preferences.

The Home is published (``views.publish`` through the chat adapter) on open, after every filter
or page click, after a claim/release clicked on the Home, and after the Preferences modal is
saved. The member's filter and page live in the store (``Store.home_state``), so a refresh
after a claim keeps them where they were; their preferences too (``Store.member_prefs``).

Slack redelivers an event it thinks we missed (``X-Slack-Retry-Num``) with the same
``event_id``; Bolt does not deduplicate, so the handler remembers recent event ids and
publishes once per event.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import time
from typing import Any, Protocol

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.blocks.home import (
    ACTION_PAGE_NEXT,
    ACTION_PAGE_PREV,
    ACTION_PREFS,
    FILTER_ACTIONS,
    PREFS_CALLBACK_ID,
    home_view,
    prefs_modal,
    read_prefs,
)
from bot.blocks.home_queue import HomeFilter, queue_page
from bot.core.i18n import t
from bot.core.prefs import MemberPrefs
from bot.desk.chat import ChatError
from bot.handlers.services import Services

log = logging.getLogger(__name__)

SEEN_EVENTS = 2000  # Slack retries within minutes; this covers far more than that


class HomePublisher(Protocol):
    def publish_home(self, user: str, view: dict[str, Any]) -> None: ...


class HomeHandler:
    def __init__(
        self, services: Services, publisher: HomePublisher, *, digest_time: time = time(9, 0)
    ) -> None:
        self.s = services
        self.publisher = publisher
        self.digest_time = digest_time  # the team's default (DIGEST_TIME)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()

    # ------------------------------------------------------------ service
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

    def lang_of(self, user: str) -> str:
        return self.s.store.member_prefs(user).lang_or(self.s.lang)

    def view(self, user: str) -> dict[str, Any]:
        s = self.s
        now = s.clock()
        prefs = s.store.member_prefs(user)
        flt = HomeFilter.from_doc(s.store.home_state(user))
        page = queue_page(s.store.open_inquiries(), now, s.policy, user, flt)
        return home_view(
            user,
            page,
            now,
            prefs.lang_or(s.lang),
            prefs=prefs,
            default_digest_time=self.digest_time,
            default_lang=s.lang,
        )

    def publish(self, user: str) -> None:
        try:
            self.publisher.publish_home(user, self.view(user))
        except ChatError as e:
            log.error("could not publish the App Home of %s: %s", user, e)
        except Exception:
            log.exception("could not build the App Home of %s", user)

    def change(self, user: str, action: dict[str, Any]) -> None:
        """Apply one filter or paging click to the member's stored Home state, then publish."""
        flt = HomeFilter.from_doc(self.s.store.home_state(user))
        action_id = str(action.get("action_id", ""))
        if action_id in FILTER_ACTIONS:
            value = str((action.get("selected_option") or {}).get("value", ""))
            flt = flt.with_choice(FILTER_ACTIONS[action_id], value)
        elif action_id in (ACTION_PAGE_PREV, ACTION_PAGE_NEXT):
            value = str(action.get("value", ""))
            if value.isdigit():
                flt = replace(flt, page=int(value))
        self.s.store.set_home_state(user, flt.to_doc())
        self.publish(user)

    def prefs_view(self, user: str) -> dict[str, Any]:
        prefs = self.s.store.member_prefs(user)
        return prefs_modal(prefs, self.digest_time, self.s.lang, prefs.lang_or(self.s.lang))

    def save_prefs(self, user: str, prefs: MemberPrefs) -> None:
        """Store the member's choices; a choice equal to the team's default is stored as "the
        team's default", so a later change of ``DIGEST_TIME`` or ``TEAM_LANGUAGE`` reaches them."""
        prefs = replace(
            prefs,
            digest_time=None if prefs.digest_time == self.digest_time else prefs.digest_time,
            lang=None if prefs.lang == self.s.lang else prefs.lang,
        )
        self.s.store.set_member_prefs(user, prefs)
        log.info("preferences saved for %s", user)
        self.publish(user)

    # ----------------------------------------------------------- listeners
    def opened(self, event: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        event_id = str((body or {}).get("event_id") or "")
        if not self.first_delivery(event_id):
            log.info("event %s delivered again; already handled", event_id)
            return
        if event.get("tab", "home") == "home":
            self.publish(str(event["user"]))

    def clicked(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        self.change(body["user"]["id"], (body.get("actions") or [{}])[0])

    def open_prefs(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=self.prefs_view(body["user"]["id"]))
        except Exception:
            log.exception("could not open the preferences modal")

    def prefs_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        try:
            prefs = read_prefs((view.get("state") or {}).get("values") or {})
        except ValueError as e:
            ack(response_action="errors", errors={str(e): t("home.prefs.invalid", self.lang_of(user))})
            return
        ack()
        self.save_prefs(user, prefs)


def register(app: App, services: Services, *, digest_time: time = time(9, 0)) -> HomeHandler:
    h = HomeHandler(services, SlackChat(app.client), digest_time=digest_time)
    app.event("app_home_opened")(h.opened)
    for action_id in (*FILTER_ACTIONS, ACTION_PAGE_PREV, ACTION_PAGE_NEXT):
        app.action(action_id)(h.clicked)
    app.action(ACTION_PREFS)(h.open_prefs)
    app.view(PREFS_CALLBACK_ID)(h.prefs_submitted)
    services.extras["refresh_home"] = h.publish
    return h
