"""Long drafts end to end (issue #16): never cut, never sent unseen.

The real composition root against the loopback fake Slack, the real ``openai`` client against
the loopback chat-completions server, and aiosmtpd on loopback recording what was sent:

- an 8,000-character draft with its translations is shown whole: the draft message and its
  numbered follow-ups in the card's thread, concatenated, give back the whole draft, and every
  one of them is within Slack's limits;
- *Edit & send* of that draft spreads it over several boxes, and what SMTP receives is exactly
  the boxes' text as the rep left them (edit included);
- To and Subject are never cut: a 300-character subject and a long quoted name go out whole,
  and a broken address is refused in the modal with nothing sent.
"""

from __future__ import annotations

import email
import json
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import Desktop
from bot.blocks import draft as draft_blocks
from tests.factories import make_email
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import Call, FakeSlack
from tests.fakes.smtp_server import Recorder
from tests.integration.test_message_sizes import assert_message_fits, assert_view_fits, unescape
from tests.slack_helpers import (
    FORM,
    block_actions,
    click,
    deliver_until,
    dispatch,
    drain,
    form_body,
    make_desktop,
    thread_posts,
    wait_until,
)
from tests.slack_helpers import event_actions as _events

BUYER = "an@dienquang.com.vn"
DRAFT_8000 = "\n\n".join(
    f"Kính gửi anh An, đoạn {i}: cảm ơn anh đã quan tâm đến đèn pha LED 100W & bộ nguồn. "
    + "Chúng tôi báo giá CIF Hải Phòng, thời gian giao hàng 30 ngày, MOQ 500 cái. " * 2
    for i in range(45)
)[:8000].rstrip()
TRANSLATION_OF_DRAFT = "\n\n".join(
    f"Dear An, paragraph {i}: thank you for your interest in the 100W LED floodlights & drivers. "
    + "We quote CIF Hai Phong, 30 days lead time, MOQ 500 pcs. " * 2
    for i in range(40)
)[:7000].rstrip()
TRANSLATION_OF_EMAIL = (
    "Dear sirs, we need 1,000 LED floodlights 100W, IP65. Please quote CIF Hai Phong. " * 30
)
SUBJECT_300 = ("Re: Báo giá đèn pha LED 100W IP65 cho dự án cảng Hải Phòng, giao CIF " * 6)[:299] + "!"
LONG_NAME = "Nguyễn Văn An, Phòng Mua Hàng Công ty Cổ phần Bóng đèn Điện Quang, Chi nhánh Hải Phòng"
LONG_TO = f'"{LONG_NAME}" <{BUYER}>, procurement.department.haiphong.branch@dienquang.com.vn'


def _desktop(slack: FakeSlack, llm: FakeLlmServer, smtp: Recorder, tmp: Path) -> Desktop:
    return make_desktop(
        slack,
        tmp,
        OWN_DOMAINS="brightway-led.com",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="test-model",
        OPENAI_TIMEOUT_SECONDS="5",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_SECURITY="none",
        SMTP_FROM="sales@brightway-led.com",
    )


@pytest.fixture
def desk(slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path) -> Any:
    llm_server.reply(
        json.dumps(
            {
                "draft": DRAFT_8000,
                "translation_of_email": TRANSLATION_OF_EMAIL,
                "translation_of_draft": TRANSLATION_OF_DRAFT,
            },
            ensure_ascii=False,
        )
    )
    d = _desktop(slack_server, llm_server, smtp, tmp_path)
    try:
        yield d
    finally:
        d.store.close()


def _inquiry(desk: Desktop) -> str:
    text = "Kính gửi, chúng tôi cần 1.000 cái đèn pha LED 100W, IP65. Vui lòng báo giá CIF Hải Phòng."
    mail = make_email(
        subject="Báo giá đèn pha",
        from_addr=BUYER,
        new_text=text,
        text=text,
        message_id="<vn1@dienquang.com.vn>",
    )
    result = desk.ingestor.ingest(mail, datetime.now(UTC) - timedelta(minutes=5))
    drain(desk.worker)
    assert result.inquiry_id
    return result.inquiry_id


def _draft_shown(desk: Desktop, slack: FakeSlack, inq_id: str) -> tuple[Call, list[Call]]:
    """Click *Draft* on the card; wait for the draft and all its follow-ups in the thread."""
    card = [c for c in slack.calls("chat.postMessage") if not c.params.get("thread_ts")][-1]
    assert (
        dispatch(desk.app, form_body(block_actions("UREP", click(card.blocks, "inquiry_draft"))), FORM).status
        == 200
    )
    wait_until(lambda: "drafted" in _events(desk, inq_id), 20, "the draft stored")
    deliver_until(
        desk.worker,
        lambda: any("draft_send" in json.dumps(c.blocks) for c in slack.calls("chat.update")),
        10,
        "the draft shown",
    )
    update = next(c for c in slack.calls("chat.update") if "draft_send" in json.dumps(c.blocks))
    title = update.blocks[0]["text"]["text"]
    total = int(title.rsplit("/", 1)[1].rstrip(")"))
    card_ts = str(card.response["ts"])
    # the placeholder, then the follow-ups "(2/N)" … "(N/N)"
    deliver_until(
        desk.worker,
        lambda: len(thread_posts(slack, card_ts)) >= total,
        20,
        "every part of the draft in the thread",
    )
    posts = [p for p in thread_posts(slack, card_ts) if p.response["ts"] != update.params["ts"]]
    assert len(posts) == total - 1
    return update, posts


def _body_shown(messages: list[list[dict[str, Any]]]) -> str:
    parts: list[tuple[int, str]] = []
    for blocks in messages:
        for b in blocks:
            bid = str(b.get("block_id", ""))
            if bid.startswith("draft-body:"):
                parts.append((int(bid.rsplit(":", 1)[1]), unescape(b["text"]["text"])))
    return "".join(text for _, text in sorted(parts))


def _sent(smtp: Recorder) -> EmailMessage:
    assert len(smtp.messages) == 1
    parsed = email.message_from_bytes(smtp.messages[0].as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _submission(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "UREP"},
        "team": {"id": "T1"},
        "view": {**view, "id": "V1", "state": {"values": values}},
    }


def _open_modal(desk: Desktop, slack: FakeSlack, update: Call) -> dict[str, Any]:
    payload = block_actions("UREP", click(update.params["blocks"], "draft_edit_send"))
    dispatch(desk.app, form_body(payload), FORM)
    view: dict[str, Any] = slack.wait_for("views.open")[-1].params["view"]
    assert_view_fits(view)
    return view


def _values_as_shown(view: dict[str, Any], **edits: str) -> dict[str, Any]:
    """The modal's state when the rep changes nothing (or only ``edits``, by block id)."""
    values: dict[str, Any] = {}
    for b in view["blocks"]:
        if b["type"] != "input" or b["element"]["type"] != "plain_text_input":
            continue
        value = edits.get(b["block_id"], b["element"].get("initial_value"))
        values[b["block_id"]] = {b["element"]["action_id"]: {"type": "plain_text_input", "value": value}}
    return values


def test_an_8000_char_draft_is_shown_whole_over_the_thread(desk: Desktop, slack_server: FakeSlack) -> None:
    inq_id = _inquiry(desk)
    update, posts = _draft_shown(desk, slack_server, inq_id)
    messages = [update.params["blocks"], *(p.blocks for p in posts)]
    for call in (update, *posts):
        assert_message_fits(str(call.params["text"]), call.blocks)
    stored = desk.services.sending.get_draft("d1")["body"]
    assert stored == DRAFT_8000
    assert _body_shown(messages) == DRAFT_8000  # concatenating what was posted gives the whole draft
    translations = "".join(  # the quoted sections, without their ">" marks
        re.sub(r"(^|\n)>", r"\1", unescape(b["text"]["text"]))
        for blocks in messages
        for b in blocks
        if b["type"] == "section" and not str(b.get("block_id", "")).startswith("draft-body:")
    )
    assert TRANSLATION_OF_DRAFT in translations and TRANSLATION_OF_EMAIL.strip() in translations


def test_edit_and_send_of_an_8000_char_draft_sends_exactly_what_the_rep_saw_and_edited(
    desk: Desktop, slack_server: FakeSlack, smtp: Recorder
) -> None:
    inq_id = _inquiry(desk)
    update, _ = _draft_shown(desk, slack_server, inq_id)
    view = _open_modal(desk, slack_server, update)
    boxes = [b for b in view["blocks"] if b.get("block_id", "").startswith(draft_blocks.BLOCK_BODY)]
    assert len(boxes) >= 3 and all(len(b["element"]["initial_value"]) <= 3000 for b in boxes)
    last = boxes[-1]
    edited = last["element"]["initial_value"] + "\n\nEdited by the rep: samples ship on Monday."
    values = _values_as_shown(view, **{last["block_id"]: edited})
    response = dispatch(desk.app, form_body(_submission(view, values)), FORM)
    assert response.status == 200 and "errors" not in (response.body or "")
    wait_until(lambda: "sent" in _events(desk, inq_id), 10, "the sent event stored")
    sent = _sent(smtp)
    body = sent.get_content().replace("\r\n", "\n").rstrip("\n")
    assert body == DRAFT_8000 + "\n\nEdited by the rep: samples ship on Monday."
    assert sent["To"] == BUYER


def test_to_and_subject_are_never_cut_and_a_bad_address_is_refused_in_the_modal(
    desk: Desktop, slack_server: FakeSlack, smtp: Recorder
) -> None:
    inq_id = _inquiry(desk)
    update, _ = _draft_shown(desk, slack_server, inq_id)
    view = _open_modal(desk, slack_server, update)
    half = BUYER[: len(BUYER) // 2]  # an address cut in half
    bad = _values_as_shown(view, draft_to=half, draft_subject=SUBJECT_300)
    response = dispatch(desk.app, form_body(_submission(view, bad)), FORM)
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors" and half in answer["errors"]["draft_to"]
    assert smtp.messages == [] and "sent" not in _events(desk, inq_id)

    good = _values_as_shown(view, draft_to=LONG_TO, draft_subject=SUBJECT_300)
    response = dispatch(desk.app, form_body(_submission(view, good)), FORM)
    assert response.status == 200 and "errors" not in (response.body or "")
    wait_until(lambda: "sent" in _events(desk, inq_id), 10, "the sent event stored")
    sent = _sent(smtp)
    assert sent["Subject"] == SUBJECT_300
    to = [addr for _, addr in email.utils.getaddresses([str(sent["To"])])]
    assert to == [BUYER, "procurement.department.haiphong.branch@dienquang.com.vn"]
    # RFC 2047 decoding of the header as it arrived (whitespace between encoded words ignored)
    raw_to = str(make_header(decode_header(str(smtp.messages[0]["To"]))))
    assert f"{LONG_NAME} <{BUYER}>" in raw_to.replace('"', "")
    assert sent.get_content().replace("\r\n", "\n").rstrip("\n") == DRAFT_8000
