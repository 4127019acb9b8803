"""The reply draft shown in a card's thread, its placeholder and error states, and the
"Edit & send" modal.

Buttons ``draft_edit_send`` / ``draft_regenerate`` / ``draft_save`` / ``draft_send`` carry the
draft id as ``value``; the ``draft_scenario`` select sits in block ``"draft:<draft_id>"`` (read the
id with ``block_id.partition(":")[2]``). ``draft_retry`` carries the inquiry id.

A long draft is never cut: :func:`draft_messages` gives the first message (with the buttons)
and numbered follow-ups for the thread; body sections carry block ids
``draft-body:<draft_id>:<n>``.

The modal (callback ``draft_edit_modal``, ``private_metadata`` = draft id) has inputs To,
Subject and one or more body boxes (``draft_body``, then ``draft_body:<n>:<separator>`` for a
long draft); read To/Subject as ``view["state"]["values"][BLOCK_TO][ACTION_TO]["value"]`` and
the body with :func:`joined_body`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks.common import (
    MAX_BLOCKS_MESSAGE,
    MAX_MESSAGE_TEXT,
    MAX_SEPARATOR,
    SPLIT_CHUNK,
    Block,
    actions,
    block_id,
    blocks_text_length,
    button,
    confirm_dialog,
    context,
    esc,
    escaped_cost,
    fallback_text,
    mrkdwn_escape,
    pack_blocks,
    plain,
    section,
    split_text,
    static_select,
    truncate,
)
from bot.blocks.localize import draft_flag
from bot.core.i18n import t

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

INPUT_MAX = 3000  # plain_text_input max_length
BODY_INPUT_SPLIT = 2700  # a long body is spread over inputs of this size, leaving room to edit
MAX_BODY_INPUTS = 30  # 81,000 characters; longer drafts are not editable in Slack (said so)
FLAGS_MAX_CHARS = 2800
_SEPARATOR_CODES = {"\n": "n", " ": "s", "\t": "t", "\r": "r"}
_SEPARATOR_CHARS = {v: k for k, v in _SEPARATOR_CODES.items()}


def _quote_cost(ch: str) -> int:
    return escaped_cost(ch) + (1 if ch == "\n" else 0)  # every line gets a ">"


def _quoted(piece: str) -> str:
    return "\n".join(f">{ln}" for ln in mrkdwn_escape(piece).split("\n"))


def body_sections(draft_id: str, body: str) -> list[Block]:
    """The whole body as sections (≤ 2,900 characters each, cut at paragraph or sentence
    boundaries), block ids ``draft-body:<draft_id>:<n>``: unescaped and joined in order they
    give back ``body`` exactly."""
    pieces = split_text(body, SPLIT_CHUNK - 2 * MAX_SEPARATOR, escaped_cost) or [("—", "")]
    return [
        section(mrkdwn_escape(p + sep), bid=block_id("draft-body", draft_id, str(i)))
        for i, (p, sep) in enumerate(pieces, 1)
    ]


def _translation_sections(heading: str, text: str) -> list[Block]:
    """A translation in full, quoted, under its heading (split over sections when long)."""
    room = SPLIT_CHUNK - len(heading) - 3 * MAX_SEPARATOR
    pieces = split_text(text.strip(), room, _quote_cost)
    return [
        section((f"*{heading}*\n" if i == 0 else "") + _quoted(p + sep)) for i, (p, sep) in enumerate(pieces)
    ]


def _flags_section(flags: Sequence[str], lang: str) -> Block:
    lines: list[str] = []
    used = 0
    for f in flags:
        line = f"⚠️ {esc(f, 300)}"
        if used + len(line) > FLAGS_MAX_CHARS - 100:
            break
        lines.append(line)
        used += len(line) + 1
    if len(flags) > len(lines):
        lines.append(t("common.more", lang, n=len(flags) - len(lines)))
    return section(f"*{t('draft.flags', lang)}*\n" + "\n".join(lines))


def scenario_label(scenario: str, lang: str) -> str:
    return t(f"scenario.{scenario}", lang) if scenario in SCENARIOS else esc(scenario, 50)


def draft_messages(
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
) -> list[tuple[str, list[Block]]]:
    """The draft reply in the card's thread, as one message or, when long, several: the first
    holds the title, subject, as much of the body as fits, the flags and the buttons; the rest
    of the body and the translations follow as numbered thread messages ("(2/3)"). Nothing is
    cut. ``body`` and translations are LLM output: escaped.

    ``flags`` are the guard's findings ("new URL …", "price not in list …"), shown above the buttons.
    """
    kind = t("draft.template", lang) if is_template else t("draft.llm", lang)
    title = t("draft.title", lang, scenario=scenario_label(scenario, lang))
    subject_block = section(f"*{t('draft.subject', lang)}:* {esc(subject, 2000)}")
    body_blocks = body_sections(draft_id, body)
    email_tr = (
        _translation_sections(t("draft.translation_of_email", lang), translation_of_email)
        if translation_of_email and translation_of_email.strip()
        else []
    )
    draft_tr = (
        _translation_sections(t("draft.translation_of_draft", lang), translation_of_draft)
        if translation_of_draft and translation_of_draft.strip()
        else []
    )
    tail: list[Block] = [_flags_section(flags, lang)] if flags else []
    tail.append(_draft_actions(draft_id, scenario, lang))
    fallback = fallback_text(f"{title}: {esc(subject, 200)}")

    def head(part: str = "") -> list[Block]:
        return [section(f"✍️ *{title}*{part}"), context(kind, f"`{esc(inquiry_id, 60)}`")]

    single = [*head(), *email_tr, subject_block, *body_blocks, *draft_tr, *tail]
    if len(single) <= MAX_BLOCKS_MESSAGE and blocks_text_length(single) <= MAX_MESSAGE_TEXT:
        return [(fallback, single)]

    # Too long for one message: the first keeps the buttons and as much body as fits.
    label_room = 200
    fixed = [*head(), subject_block, *tail, context(t("draft.continued", lang, total=99))]
    room = MAX_MESSAGE_TEXT - label_room - blocks_text_length(fixed)
    first_body: list[Block] = []
    for b in body_blocks:
        cost = blocks_text_length(b)
        if cost > room or len(fixed) + len(first_body) + 1 > MAX_BLOCKS_MESSAGE:
            break
        first_body.append(b)
        room -= cost
    rest = [*body_blocks[len(first_body) :], *draft_tr, *email_tr]
    later = pack_blocks(rest, reserve=(label_room, 1))
    total = 1 + len(later)
    first = [
        *head(f" (1/{total})"),
        subject_block,
        *first_body,
        *tail[:-1],
        context(t("draft.continued", lang, total=total)),
        tail[-1],
    ]
    messages = [(fallback, first)]
    for n, group in enumerate(later, 2):
        part = t("draft.part", lang, title=title, n=n, total=total)
        messages.append((fallback_text(part), [context(f"✍️ *{part}* · `{esc(inquiry_id, 60)}`"), *group]))
    return messages


def _draft_actions(draft_id: str, scenario: str, lang: str) -> Block:
    send_confirm = confirm_dialog(
        t("draft.confirm_title", lang),
        t("draft.confirm_text", lang),
        t("draft.send", lang),
        t("common.cancel", lang),
    )
    return actions(
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


def _input(
    bid: str,
    action_id: str,
    label: str,
    value: str,
    *,
    multiline: bool = False,
    optional: bool = False,
) -> Block:
    if len(value) > INPUT_MAX:
        raise ValueError("an input's initial value must fit its max_length; split it first")
    element: Block = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": INPUT_MAX,
    }
    if value:
        element["initial_value"] = value
    block: Block = {"type": "input", "block_id": bid, "label": plain(label, 2000), "element": element}
    if optional:
        block["optional"] = True
    return block


def body_parts(body: str) -> list[tuple[str, str]]:
    """The draft body as ``(text, separator_before)`` per input box of the Edit & send modal."""
    pieces = split_text(body, BODY_INPUT_SPLIT)
    seps = ["", *(sep for _, sep in pieces[:-1])]
    return [(p, s) for (p, _), s in zip(pieces, seps, strict=True)] or [("", "")]


def body_block_id(n: int, separator: str) -> str:
    """``draft_body`` for the first box; ``draft_body:<n>:<separator code>`` for the others
    (the whitespace that stood between it and the previous box: ``n`` newline, ``s`` space)."""
    if n == 1:
        return BLOCK_BODY
    return block_id(BLOCK_BODY, str(n), "".join(_SEPARATOR_CODES[c] for c in separator))


def joined_body(values: Mapping[str, Mapping[str, Any]]) -> str:
    """The body a member submitted: the Edit & send boxes in order, each after the whitespace
    that separated it from the previous one (boxes left empty are skipped)."""
    parts: list[tuple[int, str, str]] = []
    for bid, actions_ in values.items():
        head, _, rest = bid.partition(":")
        if head != BLOCK_BODY:
            continue
        n, _, code = rest.partition(":") if rest else ("1", "", "")
        value = (actions_.get(ACTION_BODY) or {}).get("value") or ""
        sep = "".join(_SEPARATOR_CHARS.get(c, "") for c in code)
        parts.append((int(n) if n.isdigit() else 0, sep, str(value)))
    parts.sort(key=lambda p: p[0])
    out = ""
    for _, sep, value in parts:
        if value:
            out += (sep if out else "") + value
    return out


def edit_send_modal(draft_id: str, subject: str, body: str, to: str, lang: str) -> dict[str, Any]:
    """The "Edit & send" modal. Input values are the raw draft (not escaped: they are edited text,
    not rendered mrkdwn). Nothing is cut: a body longer than one box is spread over several
    (joined again by :func:`joined_body`); a draft too long for the modal at all gets a modal
    that says so and points to Save to Drafts / Send as shown."""
    parts = body_parts(body)
    if len(parts) > MAX_BODY_INPUTS or len(to) > INPUT_MAX or len(subject) > INPUT_MAX:
        return _too_long_modal(draft_id, max(len(body), len(to), len(subject)), lang)
    blocks: list[Block] = [
        _input(BLOCK_TO, ACTION_TO, t("modal.to", lang), to),
        _input(BLOCK_SUBJECT, ACTION_SUBJECT, t("modal.subject", lang), subject),
    ]
    if len(parts) > 1:
        blocks.append(context(t("modal.body_split", lang, n=len(parts))))
    for n, (text, sep) in enumerate(parts, 1):
        label = t("modal.body", lang) + (f" ({n}/{len(parts)})" if len(parts) > 1 else "")
        blocks.append(_input(body_block_id(n, sep), ACTION_BODY, label, text, multiline=True, optional=n > 1))
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


def _too_long_modal(draft_id: str, n: int, lang: str) -> dict[str, Any]:
    """No inputs, no Send: the draft is too long to edit in Slack, and what to do instead."""
    limit = MAX_BODY_INPUTS * BODY_INPUT_SPLIT
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID + "_too_long",
        "private_metadata": truncate(draft_id, 3000, ""),
        "title": plain(t("modal.title", lang), 24),
        "close": plain(t("common.close", lang), 24),
        "blocks": [section(t("modal.too_long", lang, n=n, max=limit))],
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
