"""Button and select handlers on cards and the App Home. Thin: ack, read ids, call the desk.

Refusals and conflicts go back to the clicking member only (ephemeral); the card itself
is refreshed through the outbox, like every other change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks import localize
from bot.blocks.card import (
    ACTION_CLAIM,
    ACTION_CLEAR_REASON,
    ACTION_CLEAR_WARNING,
    ACTION_DRAFT,
    ACTION_FILTERED_RESCUE,
    ACTION_REASSIGN,
    ACTION_RELEASE,
    ACTION_REPLIED,
    ACTION_SNOOZE,
    ACTION_STATUS,
    ACTION_TIER,
    BLOCK_CLEAR_REASON,
    CLEAR_WARNING_CALLBACK_ID,
    blocking_warnings,
    clear_warning_modal,
    decode_action,
)
from bot.blocks.common import esc, user_mention
from bot.blocks.review import ACTION_JUNK, ACTION_REAL_BUYER
from bot.core.errors import Conflict, InquiryDeskError, NotFound, PermissionDenied, UsageError
from bot.core.i18n import t
from bot.handlers.services import Services

log = logging.getLogger(__name__)


def explain(e: InquiryDeskError, lang: str) -> str:
    """A member-facing sentence for a refused action."""
    if isinstance(e, Conflict):
        return t("refuse.already_claimed", lang, owner=user_mention(str(e)))
    if isinstance(e, PermissionDenied):
        return t("refuse.not_owner", lang, action=localize.action_text(str(e), lang))
    if isinstance(e, NotFound):
        return t("refuse.not_found", lang)
    if isinstance(e, UsageError):
        # may quote the member's input
        return t("refuse.usage", lang, detail=esc(localize.error_text(str(e), lang), 300))
    return t("refuse.failed", lang)


def tell(
    client: WebClient, body: dict[str, Any], text: str, blocks: list[dict[str, Any]] | None = None
) -> None:
    """Answer the member who clicked, only them: ephemeral in the channel, else a DM."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        else:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except Exception:  # a failed courtesy message must not fail the click
        log.exception("could not tell %s the outcome", user)


class ActionHandlers:
    def __init__(self, services: Services) -> None:
        self.s = services

    def _tell(self, client: WebClient, body: dict[str, Any], text: str) -> None:
        tell(client, body, text)

    def _run(
        self, body: dict[str, Any], client: WebClient, do: Callable[[str, str, str | None], object]
    ) -> None:
        user = body["user"]["id"]
        action = (body.get("actions") or [{}])[0]
        inq_id, choice = decode_action(action)
        try:
            do(inq_id, user, choice)
        except InquiryDeskError as e:
            self._tell(client, body, explain(e, self.s.lang))
            return
        self.s.wake_delivery()
        if (body.get("view") or {}).get("type") == "home":
            self.s.home.publish(user)

    def claim(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.claim(i, u))

    def release(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.release(i, u))

    def reassign(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, c: self.s.desk.reassign(i, u, c or ""))

    def tier(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, c: self.s.desk.set_tier(i, u, c or ""))

    def status(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, c: self.s.desk.set_status(i, u, c or ""))

    def snooze(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, c: self.s.desk.snooze(i, u, c or "1d"))

    def replied(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.mark_replied(i, u))

    def rescue(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.rescue(i, u))

    def real_buyer(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.real_buyer(i, u))

    def junk(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.desk.junk(i, u))

    def clear_warning(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Admins get a modal asking for the reason; anyone else a polite refusal."""
        ack()
        user = body["user"]["id"]
        inq_id, _ = decode_action((body.get("actions") or [{}])[0])
        if user not in self.s.admins:
            self._tell(client, body, t("refuse.admin_only", self.s.lang))
            return
        inq = self.s.store.get(inq_id)
        if inq is None:
            self._tell(client, body, t("refuse.not_found", self.s.lang))
            return
        view = clear_warning_modal(inq_id, blocking_warnings(inq), self.s.lang)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:
            log.exception("could not open the clear-warning modal")
            self._tell(client, body, t("refuse.failed", self.s.lang))

    def clear_warning_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        reason = str((values.get(BLOCK_CLEAR_REASON, {}).get(ACTION_CLEAR_REASON) or {}).get("value") or "")
        try:
            self.s.desk.clear_warnings(str(view.get("private_metadata", "")), body["user"]["id"], reason)
        except InquiryDeskError as e:
            ack(response_action="errors", errors={BLOCK_CLEAR_REASON: explain(e, self.s.lang)[:150]})
            return
        ack()
        self.s.wake_delivery()

    def draft(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._run(body, client, lambda i, u, _c: self.s.drafting.request(i, u))


def register(app: App, services: Services) -> ActionHandlers:
    h = ActionHandlers(services)
    app.action(ACTION_CLAIM)(h.claim)
    app.action(ACTION_RELEASE)(h.release)
    app.action(ACTION_REASSIGN)(h.reassign)
    app.action(ACTION_TIER)(h.tier)
    app.action(ACTION_STATUS)(h.status)
    app.action(ACTION_SNOOZE)(h.snooze)
    app.action(ACTION_REPLIED)(h.replied)
    app.action(ACTION_DRAFT)(h.draft)
    app.action(ACTION_FILTERED_RESCUE)(h.rescue)
    app.action(ACTION_REAL_BUYER)(h.real_buyer)
    app.action(ACTION_JUNK)(h.junk)
    app.action(ACTION_CLEAR_WARNING)(h.clear_warning)
    app.view(CLEAR_WARNING_CALLBACK_ID)(h.clear_warning_submitted)
    return h
