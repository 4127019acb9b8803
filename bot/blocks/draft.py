"""The reply draft shown in a card's thread, its placeholder and error states, and the
"Edit & send" modal.

Buttons ``draft_edit_send`` / ``draft_regenerate`` / ``draft_save`` / ``draft_send`` carry the
draft id as ``value``; the ``draft_scenario`` select sits in block ``"draft:<draft_id>"`` (read the
id with ``block_id.partition(":")[2]``). ``draft_retry`` carries the inquiry id.

The modal (callback ``draft_edit_modal``, ``private_metadata`` = draft id) has three inputs; read
them as ``view["state"]["values"][BLOCK_TO][ACTION_TO]["value"]`` etc.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.card import quote
from bot.blocks.common import (
    Block,
    actions,
    block_id,
    button,
    confirm_dialog,
    context,
    esc,
    fallback_text,
    plain,
    section,
    static_select,
    truncate,
)
from bot.i18n import t
from bot.localize import draft_flag

ACTION_EDIT_SEND = "draft_edit_send"
ACTION_REGENERATE = "draft_regenerate"
ACTION_SAVE = "draft_save"
ACTION_SEND = "draft_send"
ACTION_SCENARIO = "draft_scenario"
ACTION_RETRY = "draft_retry"
ACTION_SEND_MORNING = "draft_send_morning"
ACTION_SEND_ANYWAY = "draft_send_anyway"
BLOCK_CONFIRM = "draft_confirm"
ACTION_CONFIRM = "confirm"
REGENERATE_CALLBACK_ID = "draft_regenerate_modal"
BLOCK_INSTRUCTION = "draft_instruction"
ACTION_INSTRUCTION = "instruction"

SCENARIOS = (
    "first_reply",
    "quotation_followup",
    "samples",
    "order_confirmation",
    "after_sales",
    "silence_followup",
)

MODAL_CALLBACK_ID = "draft_edit_modal"
BLOCK_TO = "draft_to"
ACTION_TO = "to"
BLOCK_SUBJECT = "draft_subject"
ACTION_SUBJECT = "subject"
BLOCK_BODY = "draft_body"
ACTION_BODY = "body"

BODY_CHUNK = 2900  # per section (limit 3000)
BODY_MAX_SECTIONS = 5
INPUT_MAX = 3000  # plain_text_input max_length


def _body_sections(body: str) -> list[Block]:
    escaped = esc(body, BODY_CHUNK * BODY_MAX_SECTIONS)
    chunks: list[str] = []
    while escaped:
        if len(escaped) <= BODY_CHUNK:
            chunks.append(escaped)
            break
        cut = escaped.rfind("\n", 0, BODY_CHUNK)
        if cut < BODY_CHUNK // 2:
            cut = escaped.rfind(" ", 0, BODY_CHUNK)
        if cut < BODY_CHUNK // 2:
            cut = BODY_CHUNK
            amp = escaped.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in escaped[amp:cut]:
                cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:].lstrip("\n")
    return [section(c) for c in chunks[:BODY_MAX_SECTIONS]] or [section("—")]


def scenario_label(scenario: str, lang: str) -> str:
    return t(f"scenario.{scenario}", lang) if scenario in SCENARIOS else esc(scenario, 50)


def draft_blocks(
    inquiry_id: str,
    draft_id: str,
    subject: str,
    body: str,
    translation_of_email: str | None,
    translation_of_draft: str | None,
    is_template: bool,
    flags: Sequence[str],
    scenario: str,
    lang: str,
) -> tuple[str, list[Block]]:
    """The draft reply in the card's thread. ``body`` and translations are LLM output: escaped.

    ``flags`` are the guard's findings ("new URL …", "price not in list …"), shown above the buttons.
    """
    kind = t("draft.template", lang) if is_template else t("draft.llm", lang)
    title = t("draft.title", lang, scenario=scenario_label(scenario, lang))
    blocks: list[Block] = [
        section(f"✍️ *{title}*"),
        context(kind, f"`{esc(inquiry_id, 60)}`"),
    ]
    if translation_of_email:
        blocks.append(
            section(f"*{t('draft.translation_of_email', lang)}*\n{quote(translation_of_email, 1500)}")
        )
    blocks.append(section(f"*{t('draft.subject', lang)}:* {esc(subject, 500)}"))
    blocks.extend(_body_sections(body))
    if translation_of_draft:
        blocks.append(
            section(f"*{t('draft.translation_of_draft', lang)}*\n{quote(translation_of_draft, 2500)}")
        )
    if flags:
        lines = "\n".join(f"⚠️ {esc(f, 300)}" for f in flags[:15])
        blocks.append(section(f"*{t('draft.flags', lang)}*\n{lines}"))
    send_confirm = confirm_dialog(
        t("draft.confirm_title", lang),
        t("draft.confirm_text", lang),
        t("draft.send", lang),
        t("common.cancel", lang),
    )
    blocks.append(
        actions(
            [
                button(t("draft.edit_send", lang), ACTION_EDIT_SEND, draft_id, style="primary"),
                button(t("draft.send", lang), ACTION_SEND, draft_id, confirm=send_confirm),
                button(t("draft.send_morning", lang), ACTION_SEND_MORNING, draft_id),
                button(t("draft.save", lang), ACTION_SAVE, draft_id),
                button(t("draft.regenerate", lang), ACTION_REGENERATE, draft_id),
                static_select(
                    ACTION_SCENARIO,
                    t("draft.scenario", lang),
                    [(s, scenario_label(s, lang)) for s in SCENARIOS],
                    scenario,
                ),
            ],
            block_id("draft", draft_id),
        )
    )
    return fallback_text(f"{title}: {esc(subject, 200)}"), blocks


def drafting_placeholder(lang: str) -> tuple[str, list[Block]]:
    text = t("draft.placeholder", lang)
    return fallback_text(text), [context(f"⏳ {text}")]


def draft_error_blocks(inquiry_id: str, message: str, lang: str) -> tuple[str, list[Block]]:
    head = t("draft.error", lang)
    blocks = [
        section(f"⚠️ *{head}*\n{esc(message, 1000)}"),
        actions(
            [button(t("draft.retry", lang), ACTION_RETRY, inquiry_id)], block_id("draft-error", inquiry_id)
        ),
    ]
    return fallback_text(head), blocks


def _input(bid: str, action_id: str, label: str, value: str, *, multiline: bool = False) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": INPUT_MAX,
    }
    if value:
        element["initial_value"] = value[:INPUT_MAX]
    return {"type": "input", "block_id": bid, "label": plain(label, 2000), "element": element}


def edit_send_modal(draft_id: str, subject: str, body: str, to: str, lang: str) -> dict[str, Any]:
    """The "Edit & send" modal. Input values are the raw draft (not escaped: they are edited text,
    not rendered mrkdwn). A body longer than the input allows is cut and a warning shown."""
    blocks: list[Block] = [
        _input(BLOCK_TO, ACTION_TO, t("modal.to", lang), to),
        _input(BLOCK_SUBJECT, ACTION_SUBJECT, t("modal.subject", lang), subject),
        _input(BLOCK_BODY, ACTION_BODY, t("modal.body", lang), body, multiline=True),
    ]
    if len(body) > INPUT_MAX:
        blocks.append(context(t("modal.body_truncated", lang, n=INPUT_MAX)))
    blocks.append(
        {
            "type": "input",
            "block_id": BLOCK_CONFIRM,
            "optional": True,
            "label": plain(t("risk.confirm_label", lang), 2000),
            "element": {
                "type": "checkboxes",
                "action_id": ACTION_CONFIRM,
                "options": [{"text": plain(t("risk.confirm_option", lang), 75), "value": "send_anyway"}],
            },
        }
    )
    blocks.append(context(t("modal.hint", lang)))
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": truncate(draft_id, 3000, ""),
        "title": plain(t("modal.title", lang), 24),
        "submit": plain(t("modal.submit", lang), 24),
        "close": plain(t("common.cancel", lang), 24),
        "blocks": blocks,
    }


def regenerate_modal(draft_id: str, lang: str) -> dict[str, Any]:
    """Regenerate with an optional instruction ("shorter", "offer samples")."""
    element: Block = {"type": "plain_text_input", "action_id": ACTION_INSTRUCTION, "max_length": 300}
    return {
        "type": "modal",
        "callback_id": REGENERATE_CALLBACK_ID,
        "private_metadata": truncate(draft_id, 3000, ""),
        "title": plain(t("draft.regenerate", lang), 24),
        "submit": plain(t("draft.regenerate", lang), 24),
        "close": plain(t("common.cancel", lang), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK_INSTRUCTION,
                "optional": True,
                "label": plain(t("draft.instruction_label", lang), 2000),
                "hint": plain(t("draft.instruction_hint", lang), 2000),
                "element": element,
            }
        ],
    }


def quote_risk_blocks(draft_id: str, findings: Sequence[str], lang: str) -> tuple[str, list[Block]]:
    """What the member sees when Send stops on quote risks: the findings and Send anyway."""
    lines = "\n".join(f"⚠️ {esc(draft_flag(f, lang), 300)}" for f in findings[:10])
    confirm = confirm_dialog(
        t("risk.confirm_title", lang),
        t("risk.confirm_text", lang),
        t("risk.send_anyway", lang),
        t("common.cancel", lang),
    )
    blocks = [
        section(f"*{t('risk.title', lang)}*\n{lines}"),
        actions(
            [
                button(
                    t("risk.send_anyway", lang), ACTION_SEND_ANYWAY, draft_id, style="danger", confirm=confirm
                )
            ],
            block_id("risk", draft_id),
        ),
    ]
    return fallback_text(t("risk.title", lang)), blocks
