"""Rendering owed messages: the card (with its SLA state) and the thread/DM notes.

Pure given its inputs: the delivery worker calls it at delivery time so a card always
shows the store's current state. All text comes from the catalogs; all email text is
escaped by the block builders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks.card import ACTION_DRAFT, inquiry_card
from bot.blocks.common import actions, block_id, button, esc, section, slack_date, user_mention
from bot.blocks.localize import answered_how, followup_step, localized_warnings, warning_detail
from bot.blocks.review import review_card
from bot.core.i18n import has, t
from bot.core.models import Inquiry, Lane
from bot.sla.engine import SlaPolicy, deadline, sla_state

Blocks = list[dict[str, Any]]


class Renderer:
    def __init__(self, policy: SlaPolicy, lang: str, team_mention: str = "<!here>") -> None:
        self.policy = policy
        self.lang = lang
        self.team_mention = team_mention  # who "the team" is in an unclaimed card's thread

    def card(self, inq: Inquiry, now: datetime) -> tuple[str, Blocks]:
        inq = localized_warnings(inq, self.lang)
        if inq.triage.lane is not Lane.INQUIRY:  # a "check first" card (issue #12)
            return review_card(inq, lang=self.lang)
        state = sla_state(inq, now, self.policy)
        return inquiry_card(
            inq, now=now, lang=self.lang, sla_deadline=deadline(inq, self.policy), sla_state=state.value
        )

    def review(self, inq: Inquiry, now: datetime) -> tuple[str, Blocks]:
        """The review card of ``inq`` whatever its lane (a moved one says where it went)."""
        return review_card(localized_warnings(inq, self.lang), lang=self.lang)

    def note(self, inq: Inquiry, payload: dict[str, Any]) -> tuple[str, Blocks | None]:
        key = str(payload.get("key", ""))
        lang = str(payload.get("lang") or self.lang)  # a DM in the member's chosen language
        subject = esc(inq.subject or "", 200)
        common: dict[str, Any] = {"id": inq.id, "subject": subject}
        if key == "note.followup":
            msg = next((m for m in inq.messages if m.message_id == payload.get("message_id")), None)
            snippet = esc((msg.new_text if msg else "")[:800], 900)
            text = t("note.followup", lang, buyer=esc(inq.buyer_name or inq.buyer_addr, 200), snippet=snippet)
            return text, None
        if key.startswith("ping."):
            dl = payload.get("deadline")
            when = slack_date(datetime.fromtimestamp(int(dl)).astimezone()) if dl else "—"
            admins = " ".join(user_mention(a) for a in payload.get("admins", []))
            owner = user_mention(payload["owner"]) if payload.get("owner") else t("card.unclaimed", lang)
            text = t(
                key,
                lang,
                **common,
                deadline=when,
                owner=owner,
                admins=admins or "",
                rung=str(payload.get("rung", "")),
                step=followup_step(str(payload.get("step") or ""), lang),
            )
            unclaimed = key.endswith(".thread_owner_admins") and not payload.get("owner")
            if (key.endswith(".thread_team") or unclaimed) and self.team_mention:
                text = f"{self.team_mention} {text}"
            if key.startswith("ping.followup"):
                # One click from the reminder to a drafted follow-up in the buyer's language.
                blocks: Blocks = [
                    section(text),
                    actions(
                        [button(t("ping.draft_followup", lang), ACTION_DRAFT, inq.id, style="primary")],
                        block_id("followup", inq.id),
                    ),
                ]
                return text, blocks
            return text, None
        kwargs = {k: v for k, v in payload.items() if k not in ("key", "lang")}
        if "user" in kwargs:
            kwargs["user"] = user_mention(str(kwargs["user"]))
        if "owner" in kwargs:
            kwargs["owner"] = user_mention(str(kwargs["owner"]))
        if "until" in kwargs:
            kwargs["until"] = slack_date(datetime.fromtimestamp(int(kwargs["until"])).astimezone())
        if key == "note.warning":  # a follow-up's new warning: its label and detail in ``lang``
            code = str(kwargs.get("code", ""))
            kwargs["text"] = warning_detail(code, str(kwargs.get("text", "")), lang)
            kwargs["code"] = t(f"warning.{code}", lang) if has(f"warning.{code}") else esc(code, 80)
        if "text" in kwargs:
            kwargs["text"] = esc(str(kwargs["text"]), 2000)
        if "how" in kwargs:
            kwargs["how"] = esc(answered_how(str(kwargs["how"]), lang), 200)
        return t(key, lang, **common, **kwargs), None
