"""``/inquiries`` handler: parse, run, answer ephemerally (the usage for anything odd)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import localize
from bot.blocks.common import esc
from bot.blocks.replies import history_reply, listing_reply
from bot.core.errors import InquiryDeskError, UsageError
from bot.core.i18n import t
from bot.desk.commands import Command, list_inquiries, parse_command
from bot.handlers.actions import explain
from bot.handlers.services import Services

log = logging.getLogger(__name__)


class CommandHandler:
    def __init__(self, services: Services) -> None:
        self.s = services

    def usage(self) -> str:
        return t("cmd.usage", self.s.lang)

    def answer(self, text: str, user: str) -> str:
        """The reply to ``/inquiries TEXT`` from ``user`` (pure of Slack: used by tests too)."""
        try:
            cmd = parse_command(text)
        except UsageError as e:
            return f"{esc(localize.error_text(str(e), self.s.lang), 200)}\n{self.usage()}"
        try:
            return self.run(cmd, user)
        except UsageError as e:
            return f"{explain(e, self.s.lang)}\n{self.usage()}"
        except InquiryDeskError as e:
            return explain(e, self.s.lang)

    def run(self, cmd: Command, user: str) -> str:
        s = self.s
        lang = s.lang
        now = s.clock()
        if cmd.name == "help":
            return self.usage()
        if cmd.name in ("mine", "open", "unclaimed", "overdue", "search"):
            return listing_reply(list_inquiries(s.store, cmd.name, user, now, s.policy, cmd.arg), lang)
        assert cmd.inquiry_id is not None or cmd.name == "stats"
        if cmd.name == "claim":
            s.desk.claim(cmd.inquiry_id or "", user)
        elif cmd.name == "release":
            s.desk.release(cmd.inquiry_id or "", user)
        elif cmd.name == "tier":
            s.desk.set_tier(cmd.inquiry_id or "", user, cmd.arg)
        elif cmd.name == "status":
            s.desk.set_status(cmd.inquiry_id or "", user, cmd.arg)
        elif cmd.name == "note":
            s.desk.note(cmd.inquiry_id or "", user, cmd.arg)
        elif cmd.name == "snooze":
            s.desk.snooze(cmd.inquiry_id or "", user, cmd.arg)
        elif cmd.name == "history":
            return history_reply(s.store.require(cmd.inquiry_id or ""), lang)
        elif cmd.name == "draft":
            s.drafting.request(cmd.inquiry_id or "", user)
        elif cmd.name == "stats":
            return s.stats(cmd.arg, user)
        s.wake_delivery()
        return t("cmd.done", lang, id=cmd.inquiry_id or "")

    def handle(self, ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        text = str(command.get("text", ""))
        user = str(command.get("user_id", ""))
        if text.strip().lower().startswith("stats"):
            ack()  # stats and the chart take longer than Slack's 3 seconds
            respond(text=self.answer(text, user), response_type="ephemeral")
            return
        ack(text=self.answer(text, user))


def register(app: App, services: Services) -> CommandHandler:
    h = CommandHandler(services)
    app.command("/inquiries")(h.handle)
    return h
