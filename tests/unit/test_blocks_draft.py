"""The draft message, its placeholder/error states and the edit modal."""

from __future__ import annotations

import json

from slack_sdk.models.views import View

from bot.blocks import draft
from tests.unit.test_blocks_card import HOSTILE, assert_valid_blocks, elements, untrusted_markup


def _draft(**kw: object) -> tuple[str, list[dict[str, object]]]:
    args: dict[str, object] = dict(
        inquiry_id="inq-1",
        draft_id="d-1",
        subject="Re: Quotation",
        body="Dear Hans,\n\nThank you for your inquiry.",
        translation_of_email="请报价 2000 件",
        translation_of_draft="亲爱的 Hans，感谢您的询盘。",
        is_template=False,
        flags=["New URL: https://evil.example"],
        scenario="quotation_followup",
        lang="en",
    )
    args.update(kw)
    return draft.draft_messages(**args)[0]  # type: ignore[arg-type]


def test_draft_blocks_validate_and_carry_draft_id() -> None:
    text, blocks = _draft()
    assert_valid_blocks(blocks)  # type: ignore[arg-type]
    els = elements(blocks)  # type: ignore[arg-type]
    for action_id in ("draft_edit_send", "draft_regenerate", "draft_save", "draft_send"):
        assert els[action_id]["value"] == "d-1"
    sel = els["draft_scenario"]
    assert [o["value"] for o in sel["options"]] == list(draft.SCENARIOS)
    assert sel["initial_option"]["value"] == "quotation_followup"
    assert sel["_block_id"].partition(":")[2] == "d-1"
    assert "confirm" in els["draft_send"]
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "Quotation follow-up" in dump and "请报价 2000 件" in dump and "New URL" in dump
    assert text.startswith("Draft reply")


def test_hostile_llm_output_is_escaped_and_long_body_split() -> None:
    text, blocks = _draft(subject=HOSTILE, body=HOSTILE * 3, translation_of_email=HOSTILE, flags=[HOSTILE])
    assert_valid_blocks(blocks)  # type: ignore[arg-type]
    assert untrusted_markup(text, blocks) == []  # type: ignore[arg-type]
    body_sections = [b for b in blocks if b["type"] == "section" and "xxxx" in json.dumps(b)]
    assert len(body_sections) >= 3


def test_template_draft_is_labelled_and_zh_renders() -> None:
    _, blocks = _draft(is_template=True, lang="zh", flags=[])
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "模板草稿" in dump and "编辑并发送" in dump and "报价跟进" in dump


def test_placeholder_and_error_blocks() -> None:
    text, blocks = draft.drafting_placeholder("en")
    assert text == "Drafting a reply…"
    assert_valid_blocks(blocks)
    text, blocks = draft.draft_error_blocks("inq-9", "LLM timeout <!channel>", "en")
    assert_valid_blocks(blocks)
    assert elements(blocks)["draft_retry"]["value"] == "inq-9"
    assert untrusted_markup(text, blocks) == []


def test_edit_send_modal_has_named_inputs_with_raw_values() -> None:
    view = draft.edit_send_modal("d-1", "Re: <Quote>", "Body & more", "hans@example.de", "en")
    View(**view).validate_json()
    assert view["callback_id"] == draft.MODAL_CALLBACK_ID == "draft_edit_modal"
    assert view["private_metadata"] == "d-1"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs[draft.BLOCK_TO]["action_id"] == draft.ACTION_TO
    assert inputs[draft.BLOCK_TO]["initial_value"] == "hans@example.de"
    assert inputs[draft.BLOCK_SUBJECT]["initial_value"] == "Re: <Quote>"
    assert inputs[draft.BLOCK_BODY]["initial_value"] == "Body & more"
    assert inputs[draft.BLOCK_BODY]["multiline"] is True


def test_edit_modal_spreads_a_long_body_over_boxes_and_joins_it_back_whole() -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "y" * 900 + "." for i in range(6))  # ~5,500 characters
    view = draft.edit_send_modal("d-1", "s", body, "a@b.c", "zh")
    View(**view).validate_json()
    boxes = [b for b in view["blocks"] if b.get("block_id", "").startswith(draft.BLOCK_BODY)]
    assert len(boxes) >= 2 and boxes[0]["block_id"] == draft.BLOCK_BODY
    assert all(len(b["element"]["initial_value"]) <= draft.INPUT_MAX for b in boxes)
    assert "截断" not in json.dumps(view, ensure_ascii=False)  # nothing is cut any more
    assert "分成下面" in json.dumps(view, ensure_ascii=False)
    assert view["title"]["text"] == "编辑并发送"
    values = {
        b["block_id"]: {
            draft.ACTION_BODY: {"type": "plain_text_input", "value": b["element"]["initial_value"]}
        }
        for b in boxes
    }
    assert draft.joined_body(values) == body
