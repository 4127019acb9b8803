"""Drafting through the desk: the button, the thread, regenerate, errors, sending, scheduling.

The real ``openai`` client talks to the loopback chat-completions server; SMTP is aiosmtpd
on loopback; Save to Drafts goes to the real Dovecot.
"""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import Desktop
from bot.intake.parse import parse_email
from tests.factories import make_email
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import Recorder
from tests.slack_helpers import (
    block_actions,
    click,
    deliver_until,
    dispatch,
    drain,
    form_body,
    make_desktop,
    wait_until,
)
from tests.slack_helpers import event_actions as _events

VI_TEXT = "Kính gửi, chúng tôi cần 1.000 cái đèn pha LED 100W, IP65. Vui lòng báo giá CIF Hải Phòng."
MODEL_JSON = json.dumps(
    {
        "draft": "Kính gửi anh An,\n\nCảm ơn anh đã quan tâm. Chúng tôi sẽ gửi báo giá CIF Hải Phòng "
        "cho 1.000 cái đèn pha 100W trong hôm nay.\n\nTrân trọng,\nLi Wei",
        "translation_of_email": "Dear sirs, we need 1,000 LED floodlights 100W, IP65. "
        "Please quote CIF Hai Phong.",
        "translation_of_draft": "Dear An, thank you. We will send the CIF Hai Phong quotation today.",
    },
    ensure_ascii=False,
)


def _desktop(
    slack: FakeSlack, llm: FakeLlmServer | None, smtp: Recorder | None, tmp: Path, **extra: str
) -> Desktop:
    env = {"OWN_DOMAINS": "brightway-led.com", **extra}
    if llm is not None:
        env |= {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "OPENAI_MODEL": "test-model",
            "OPENAI_TIMEOUT_SECONDS": "1.5",
        }
    if smtp is not None:
        env |= {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_SECURITY": "none",  # type: ignore[attr-defined]
            "SMTP_FROM": "sales@brightway-led.com",
        }
    return make_desktop(slack, tmp, **env)


def _inquiry(desk: Desktop) -> str:
    mail = make_email(
        subject="Báo giá đèn pha",
        from_addr="an@dienquang.com.vn",
        new_text=VI_TEXT,
        text=VI_TEXT + "\n\nVào 20/11, Brightway đã viết:\n> old quoted history XYZZY",
        message_id="<vn1@dienquang.com.vn>",
    )
    result = desk.ingestor.ingest(mail, datetime.now(UTC) - timedelta(minutes=5))
    drain(desk.worker)
    assert result.inquiry_id
    return result.inquiry_id


def _draft_message(slack: FakeSlack) -> dict[str, Any]:
    updates = [
        c
        for c in slack.calls("chat.update")
        if any((a.get("action_id") == "draft_send") for b in c.blocks for a in b.get("elements", []) or [])
    ]
    assert updates, "no draft posted"
    return updates[-1].params


def _click_draft(desk: Desktop, slack: FakeSlack) -> None:
    card = [c for c in slack.calls("chat.postMessage") if not c.params.get("thread_ts")][-1]
    body = form_body(block_actions("UREP", click(card.blocks, "inquiry_draft")))
    assert dispatch(desk.app, body, "application/x-www-form-urlencoded").status == 200


def test_draft_button_posts_placeholder_then_vietnamese_draft_with_translation(
    slack_server: FakeSlack, llm_server: FakeLlmServer, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    slack_server.set_user_tz("UREP", "Asia/Shanghai")
    desk = _desktop(slack_server, llm_server, None, tmp_path)
    inq_id = _inquiry(desk)
    _click_draft(desk, slack_server)
    deliver_until(
        desk.worker,
        lambda: any(c.params.get("thread_ts") for c in slack_server.calls("chat.postMessage")),
        10,
        "the placeholder in the card's thread",
    )
    placeholder = next(c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts"))
    assert "⏳" in json.dumps(placeholder.blocks, ensure_ascii=False)
    deliver_until(
        desk.worker,
        lambda: any("draft_send" in json.dumps(c.blocks) for c in slack_server.calls("chat.update")),
        10,
        "the draft replacing the placeholder",
    )
    wait_until(lambda: "drafted" in _events(desk, inq_id), 10, "the drafted event stored")
    draft = _draft_message(slack_server)
    assert draft["ts"] == placeholder.response["ts"]  # the placeholder is replaced in the card's thread
    shown = json.dumps(draft["blocks"], ensure_ascii=False)
    assert "Cảm ơn anh" in shown and "Dear An, thank you" in shown
    body = llm_server.last_body
    sent = json.dumps(body["messages"], ensure_ascii=False)
    assert VI_TEXT in sent and "XYZZY" not in sent  # new text only, no quoted history
    assert "Vietnamese" in sent  # the target language is named
    assert body["model"] == "test-model"


def test_llm_timeout_leaves_a_retry_button_and_the_card_keeps_working(
    slack_server: FakeSlack, llm_server: FakeLlmServer, tmp_path: Path
) -> None:
    llm_server.delay(5)
    desk = _desktop(slack_server, llm_server, None, tmp_path)
    inq_id = _inquiry(desk)
    _click_draft(desk, slack_server)
    deliver_until(
        desk.worker,
        lambda: any("draft_retry" in json.dumps(c.blocks) for c in slack_server.calls("chat.update")),
        20,
        "the retry button",
    )
    card = [c for c in slack_server.calls("chat.postMessage") if not c.params.get("thread_ts")][-1]
    dispatch(
        desk.app,
        form_body(block_actions("UREP", click(card.blocks, "inquiry_claim"))),
        "application/x-www-form-urlencoded",
    )
    # Bolt acks first and runs the claim after: wait for the stored owner
    wait_until(lambda: desk.store.require(inq_id).owner == "UREP", 10, "the claim stored")


def test_offline_template_in_the_buyer_language_when_no_llm(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = _desktop(slack_server, None, None, tmp_path)
    inq_id = _inquiry(desk)
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    drain(desk.worker)  # the draft is shown through the outbox
    d = desk.services.sending.get_draft(draft_id)
    assert d["is_template"] and d["language"] == "vi"
    shown = json.dumps(_draft_message(slack_server)["blocks"], ensure_ascii=False)
    assert "template" in shown.lower()


def test_regenerate_with_instruction_sends_it_to_the_model(
    slack_server: FakeSlack, llm_server: FakeLlmServer, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    desk = _desktop(slack_server, llm_server, None, tmp_path)
    inq_id = _inquiry(desk)
    jobs = desk.services.drafting
    draft_id = jobs.run_draft(inq_id, "UREP")
    assert draft_id
    jobs.regenerate(draft_id, "UREP", instruction="offer samples")
    wait_until(lambda: len(llm_server.chat_requests) >= 2, 10, "the second model call")
    assert "offer samples" in json.dumps(llm_server.last_body["messages"])
    # The job ends with the new draft shown in the thread: wait for that, its last step.
    deliver_until(
        desk.worker,
        lambda: sum("draft_send" in json.dumps(c.blocks) for c in slack_server.calls("chat.update")) == 2,
        10,
        "the regenerated draft shown",
    )
    assert _events(desk, inq_id).count("drafted") == 2


def test_send_uses_smtp_with_threading_headers_and_stops_the_clock(
    slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    slack_server.set_user_tz("UREP", "Asia/Shanghai")
    desk = _desktop(slack_server, llm_server, smtp, tmp_path)
    inq_id = _inquiry(desk)
    flow = desk.services.sending
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    flow.send(draft_id, "UREP")
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg["In-Reply-To"] == "<vn1@dienquang.com.vn>"
    assert "<vn1@dienquang.com.vn>" in msg["References"]
    assert msg["To"] == "an@dienquang.com.vn"
    assert "sales@brightway-led.com" in msg["From"]
    assert msg["Subject"].startswith("Re:") or msg["Subject"].startswith("RE:")
    inq = desk.store.require(inq_id)
    assert inq.sla_started_at is None and inq.first_response_at is not None
    assert any(e.action == "sent" and e.actor == "UREP" for e in inq.events)
    with pytest.raises(Exception, match="already sent"):
        flow.send(draft_id, "UREP")
    assert len(smtp.messages) == 1


def test_send_at_buyer_morning_is_stored_and_sent_once_when_due(
    slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    desk = _desktop(slack_server, llm_server, smtp, tmp_path)
    inq_id = _inquiry(desk)
    flow = desk.services.sending
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    at = flow.schedule_send(draft_id, "UREP")
    local = at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh"))
    assert 9 <= local.hour < 10 and local.weekday() < 5
    assert flow.send_due(at - timedelta(minutes=1)) == 0
    # The schedule survives a restart: a new process finds and sends it.
    desk.store.close()
    desk2 = _desktop(slack_server, llm_server, smtp, tmp_path)
    assert desk2.services.sending.send_due(at + timedelta(seconds=1)) == 1
    assert desk2.services.sending.send_due(at + timedelta(minutes=5)) == 0
    assert len(smtp.messages) == 1
    assert desk2.store.require(inq_id).sla_started_at is None


@pytest.mark.integration
def test_save_to_drafts_appends_a_threaded_draft_to_dovecot(
    slack_server: FakeSlack, llm_server: FakeLlmServer, mailbox: Any, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    desk = _desktop(
        slack_server,
        llm_server,
        None,
        tmp_path,
        IMAP_HOST=mailbox.host,
        IMAP_PORT=str(mailbox.port),
        IMAP_SSL="false",
        IMAP_USER=mailbox.user,
        IMAP_PASSWORD=mailbox.password,
    )
    inq_id = _inquiry(desk)
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    assert desk.services.sending.save_to_drafts(draft_id, "UREP") == "Drafts"
    client = mailbox.connect()
    try:
        client.select_folder("Drafts", readonly=True)
        uids = client.search(["ALL"])
        assert len(uids) == 1
        data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])[uids[0]]
        assert b"\\Draft" in data[b"FLAGS"]
        raw = data[b"BODY[]"]
    finally:
        client.logout()
    parsed = parse_email(raw)
    assert parsed.in_reply_to == "<vn1@dienquang.com.vn>"
    assert "<vn1@dienquang.com.vn>" in parsed.references
    assert "Cảm ơn anh" in parsed.text
    assert email.message_from_bytes(raw, policy=policy.default)["To"] == "an@dienquang.com.vn"


def test_edit_and_send_modal_is_prefilled_and_sends_the_edited_text(
    slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path
) -> None:
    llm_server.reply(MODEL_JSON)
    desk = _desktop(slack_server, llm_server, smtp, tmp_path)
    inq_id = _inquiry(desk)
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    drain(desk.worker)  # the draft is shown through the outbox
    draft = _draft_message(slack_server)
    action = click(draft["blocks"], "draft_edit_send")
    payload = block_actions("UREP", action)
    payload["trigger_id"] = "T-123"
    dispatch(desk.app, form_body(payload), "application/x-www-form-urlencoded")
    view = slack_server.wait_for("views.open")[0].params["view"]
    assert view["private_metadata"] == draft_id
    inputs = {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"
    }
    assert inputs["draft_to"] == "an@dienquang.com.vn" and "Cảm ơn anh" in inputs["draft_body"]
    submission = {
        "type": "view_submission",
        "user": {"id": "UREP"},
        "team": {"id": "T1"},
        "view": {
            **view,
            "id": "V1",
            "state": {
                "values": {
                    "draft_to": {"to": {"type": "plain_text_input", "value": "an@dienquang.com.vn"}},
                    "draft_subject": {
                        "subject": {"type": "plain_text_input", "value": "Re: Báo giá đèn pha"}
                    },
                    "draft_body": {
                        "body": {"type": "plain_text_input", "value": "Edited by the rep: price follows."}
                    },
                }
            },
        },
    }
    assert dispatch(desk.app, form_body(submission), "application/x-www-form-urlencoded").status == 200
    # The send runs after the ack: SMTP first, then the store. Wait for the state asserted.
    wait_until(lambda: "sent" in _events(desk, inq_id), 10, "the sent event stored")
    assert len(smtp.messages) == 1
    assert "Edited by the rep" in smtp.messages[0].get_payload()
    assert desk.store.require(inq_id).sla_started_at is None
