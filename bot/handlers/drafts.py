"""Draft buttons and the Edit & send modal. Thin: ack, read ids, hand over to drafting jobs
(:mod:`bot.desk.drafting_jobs`) or draft sending (:mod:`bot.desk.draft_sending`).

Save and Send run after the ack on the drafting pool (IMAP and SMTP may be slow);
their outcome comes back as a note in the card's thread, or an ephemeral refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.draft import (
    ACTION_CONFIRM,
    ACTION_EDIT_SEND,
    ACTION_INSTRUCTION,
    ACTION_REGENERATE,
    ACTION_RETRY,
    ACTION_SAVE,
    ACTION_SCENARIO,
    ACTION_SEND,
    ACTION_SEND_ANYWAY,
    ACTION_SEND_MORNING,
    ACTION_SUBJECT,
    ACTION_TO,
    BLOCK_BODY,
    BLOCK_CONFIRM,
    BLOCK_INSTRUCTION,
    BLOCK_SUBJECT,
    BLOCK_TO,
    MODAL_CALLBACK_ID,
    REGENERATE_CALLBACK_ID,
    edit_send_modal,
    joined_body,
    quote_risk_blocks,
    regenerate_modal,
)
from bot.blocks.localize import flag_label
from bot.core.errors import InquiryDeskError
from bot.core.i18n import t
from bot.desk.draft_sending import BadRecipient, QuoteRisk, parse_recipients
from bot.handlers.actions import explain, tell
from bot.handlers.services import Services

log = logging.getLogger(__name__)


class DraftHandlers:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.jobs = services.drafting
        self.sending = services.sending

    def _tell(self, client: WebClient, body: dict[str, Any], text: str) -> None:
        tell(client, body, text)

    def _later(self, client: WebClient, body: dict[str, Any], job: Callable[[], object]) -> None:
        def run() -> None:
            try:
                job()
                self.s.wake_delivery()
            except InquiryDeskError as e:
                self._tell(client, body, explain(e, self.s.lang))
            except Exception:
                log.exception("draft action failed")
                self._tell(client, body, explain(InquiryDeskError(), self.s.lang))

        self.jobs.submit(run)

    @staticmethod
    def _value(body: dict[str, Any]) -> tuple[str, str | None]:
        action = (body.get("actions") or [{}])[0]
        selected = (action.get("selected_option") or {}).get("value")
        if selected is not None:
            block = str(action.get("block_id", ""))
            return block.split(":", 1)[1] if ":" in block else "", str(selected)
        return str(action.get("value", "")), None

    def retry(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        inq_id, _ = self._value(body)
        self._later(client, body, lambda: self.jobs.request(inq_id, body["user"]["id"]))

    def regenerate(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Opens a small modal for an optional instruction ("shorter", "offer samples")."""
        ack()
        draft_id, _ = self._value(body)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=regenerate_modal(draft_id, self.s.lang))
        except Exception:
            log.exception("could not open the regenerate modal; regenerating without an instruction")
            self._later(client, body, lambda: self.jobs.regenerate(draft_id, body["user"]["id"]))

    def regenerate_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        block = view["state"]["values"].get(BLOCK_INSTRUCTION, {})
        instruction = str((block.get(ACTION_INSTRUCTION) or {}).get("value") or "")
        draft_id = str(view.get("private_metadata", ""))
        self._later(
            client, body, lambda: self.jobs.regenerate(draft_id, body["user"]["id"], instruction=instruction)
        )

    def send_morning(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, _ = self._value(body)
        self._later(client, body, lambda: self.sending.schedule_send(draft_id, body["user"]["id"]))

    def scenario(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, scenario = self._value(body)
        self._later(
            client, body, lambda: self.jobs.regenerate(draft_id, body["user"]["id"], scenario=scenario)
        )

    def save(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, _ = self._value(body)
        self._later(client, body, lambda: self.sending.save_to_drafts(draft_id, body["user"]["id"]))

    def _send(self, client: WebClient, body: dict[str, Any], draft_id: str, confirm: bool) -> None:
        def job() -> None:
            try:
                self.sending.send(draft_id, body["user"]["id"], confirm_risks=confirm)
            except QuoteRisk as risk:
                text, blocks = quote_risk_blocks(
                    draft_id, [f"{f.code}: {f.detail}" for f in risk.findings], self.s.lang
                )
                tell(client, body, text, blocks)

        self._later(client, body, job)

    def send(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, _ = self._value(body)
        self._send(client, body, draft_id, confirm=False)

    def send_anyway(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """The second, explicit confirmation after quote risks were shown (recorded)."""
        ack()
        draft_id, _ = self._value(body)
        self._send(client, body, draft_id, confirm=True)

    def edit_send(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, _ = self._value(body)
        try:
            d = self.sending.get_draft(draft_id)
        except InquiryDeskError as e:
            self._tell(client, body, explain(e, self.s.lang))
            return
        view = edit_send_modal(draft_id, str(d["subject"]), str(d["body"]), str(d["to"]), self.s.lang)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:
            log.exception("could not open the Edit & send modal")
            self._tell(client, body, explain(InquiryDeskError(), self.s.lang))

    def modal_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        values = view["state"]["values"]
        to = values[BLOCK_TO][ACTION_TO].get("value") or ""
        subject = values[BLOCK_SUBJECT][ACTION_SUBJECT].get("value") or ""
        text = joined_body(values)  # every box, in order: exactly what the member saw and edited
        try:
            parse_recipients(to)
        except BadRecipient as e:
            error = t("modal.bad_to", self.s.lang, addr=e.address[:80])
            ack(response_action="errors", errors={BLOCK_TO: error})
            return
        except InquiryDeskError:
            ack(response_action="errors", errors={BLOCK_TO: t("modal.no_to", self.s.lang)})
            return
        picked = (values.get(BLOCK_CONFIRM, {}).get(ACTION_CONFIRM) or {}).get("selected_options") or []
        confirmed = any(o.get("value") == "send_anyway" for o in picked)
        risks = self.sending.quote_risks(text)
        if risks and not confirmed:
            listed = "; ".join(sorted({flag_label(f.code, self.s.lang) for f in risks}))
            ack(
                response_action="errors",
                errors={BLOCK_BODY: t("risk.modal_error", self.s.lang, risks=listed)[:150]},
            )
            return
        ack()
        draft_id = str(view.get("private_metadata", ""))
        self._later(
            client,
            body,
            lambda: self.sending.send(
                draft_id, body["user"]["id"], subject=subject, body=text, to=to, confirm_risks=confirmed
            ),
        )


def register(app: App, services: Services) -> DraftHandlers:
    h = DraftHandlers(services)
    app.action(ACTION_RETRY)(h.retry)
    app.action(ACTION_REGENERATE)(h.regenerate)
    app.action(ACTION_SCENARIO)(h.scenario)
    app.action(ACTION_SAVE)(h.save)
    app.action(ACTION_SEND)(h.send)
    app.action(ACTION_SEND_MORNING)(h.send_morning)
    app.action(ACTION_SEND_ANYWAY)(h.send_anyway)
    app.view(REGENERATE_CALLBACK_ID)(h.regenerate_submitted)
    app.action(ACTION_EDIT_SEND)(h.edit_send)
    app.view(MODAL_CALLBACK_ID)(h.modal_submitted)
    return h
