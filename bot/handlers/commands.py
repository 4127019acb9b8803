"""``/inquiries`` handler: parse, run, answer ephemerally (the usage for anything odd)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import localize
from bot.blocks.common import esc, slack_date
from bot.core.errors import InquiryDeskError, UsageError
from bot.core.i18n import t, tn
from bot.desk.commands import Command, list_inquiries, parse_command
from bot.handlers.actions import explain
from bot.handlers.services import Services
from bot.sla.engine import SlaState, sla_state

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
            overdue: set[str] = set()
            if cmd.name == "overdue":
                overdue = {
                    i.id for i in s.store.open_inquiries() if sla_state(i, now, s.policy) is SlaState.BREACHED
                }
            rows = list_inquiries(s.store, cmd.name, user, now, overdue, cmd.arg)
            if not rows:
                return t("cmd.none", lang)
            lines = [
                f"• #{r.id} [{r.tier or '-'}] {esc(r.subject, 120)} — {esc(r.buyer_addr, 120)}"
                + (f" <@{r.owner}>" if r.owner else "")
                for r in rows
            ]
            return tn("cmd.list_heading", lang, len(rows)) + "\n" + "\n".join(lines)
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
            inq = s.store.require(cmd.inquiry_id or "")
            ev = localize
            lines = [
                f"{slack_date(e.at)} {ev.event_actor(e.actor, lang)} {ev.event_action(e.action, lang)} "
                f"{esc(ev.event_detail(e.action, e.detail, lang), 200)}"
                for e in inq.events[-40:]
            ]
            return f"#{inq.id} {esc(inq.subject, 150)}\n" + "\n".join(lines)
        elif cmd.name == "draft":
            if s.drafting is None:
                return t("refuse.failed", lang)
            s.drafting.request(cmd.inquiry_id or "", user)
        elif cmd.name == "stats":
            stats = s.extras.get("stats")
            if stats is None:
                return t("refuse.failed", lang)
            result: str = stats(cmd.arg, user)
            return result
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
