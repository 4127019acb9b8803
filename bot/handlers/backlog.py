"""Clicks on the backlog summary card (issue #16): *Post the A and B cards*, *Show in App Home*.

Thin: ack, then :class:`bot.desk.backlog.Backlog` owes the cards (once: a second click is told they
were already asked for); *Show in App Home* switches the clicker's Home to the backlog queue
and publishes it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.backlog import ACTION_HOME, ACTION_POST
from bot.core.i18n import t
from bot.desk.backlog import Backlog
from bot.handlers.actions import tell
from bot.handlers.services import Services


class BacklogHandlers:
    def __init__(self, services: Services, backlog: Backlog) -> None:
        self.s = services
        self.backlog = backlog

    def _lang(self, user: str) -> str:
        return self.s.store.member_prefs(user).lang_or(self.s.lang)

    def post(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        batch = str((body.get("actions") or [{}])[0].get("value", ""))
        if self.backlog.release(batch, user):
            self.s.wake_delivery()
            tell(client, body, t("backlog.owed", self._lang(user)))
        else:
            tell(client, body, t("backlog.already_owed", self._lang(user)))

    def home(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        self.backlog.show_in_home(user)
        self.s.home.publish(user)
        tell(client, body, t("backlog.see_home", self._lang(user)))


def register(app: App, services: Services, backlog: Backlog) -> BacklogHandlers:
    """The two buttons (their outbox kinds are :mod:`bot.desk.backlog_delivery`'s)."""
    h = BacklogHandlers(services, backlog)
    app.action(ACTION_POST)(h.post)
    app.action(ACTION_HOME)(h.home)
    return h
