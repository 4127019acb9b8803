"""Quote risks before anything leaves: shown on the draft, Send stops, Send anyway is recorded.

The loopback model returns a draft that invents a price below the floor, open-account terms,
a short lead time and a foreign IBAN: the draft is flagged, Send is held with the findings,
and only the member's second, explicit confirmation sends it (recorded in the audit trail).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.records.audit import AuditLog
from tests.factories import make_email
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import Recorder
from tests.integration.test_drafting_flow import _desktop, _draft_message
from tests.slack_helpers import block_actions, click, dispatch, drain, form_body, wait_until
from tests.slack_helpers import event_actions as _events

RISKY = json.dumps(
    {
        "draft": "Dear Mr Meyer,\n\nThank you. For 2,000 pcs LED panel 60x60 40W we offer "
        "USD 5.20/pc FOB Shenzhen. "
        "Payment: open account 90 days. Delivery within 5 days. "
        "Please pay to IBAN DE89 3704 0044 0532 0130 00.\n\nBest regards,\nLi Wei",
        "translation_of_email": "We need 2,000 panels.",
        "translation_of_draft": "Offer at USD 5.20.",
    }
)


def test_risky_draft_is_flagged_held_and_sent_only_after_explicit_confirmation(
    slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path
) -> None:
    llm_server.reply(RISKY)
    desk = _desktop(slack_server, llm_server, smtp, tmp_path)
    mail = make_email(
        subject="Panels 60x60",
        from_addr="k.meyer@lichtbau.de",
        message_id="<qr1@lichtbau.de>",
        new_text="We need 2,000 pcs LED panel 60x60 40W. Please quote FOB Shenzhen.",
    )
    inq_id = desk.ingestor.ingest(mail, datetime.now(UTC) - timedelta(minutes=2)).inquiry_id or ""
    drain(desk.worker)
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    drain(desk.worker)  # the draft is shown through the outbox
    flags = " ".join(desk.services.sending.get_draft(draft_id)["flags"])
    for code in (
        "price_below_floor",
        "payment_terms_not_allowed",
        "lead_time_too_short",
        "bank_details_mismatch",
    ):
        assert code in flags
    # The guard also says the model invented facts that are in neither the profile nor the thread.
    assert "unverified_price" in flags and "unverified_bank_details" in flags
    shown = json.dumps(_draft_message(slack_server)["blocks"])
    assert "price_below_floor" in shown

    draft = _draft_message(slack_server)
    payload = block_actions("UREP", click(draft["blocks"], "draft_send"))
    payload["channel"] = {"id": "CINQ"}
    dispatch(desk.app, form_body(payload), "application/x-www-form-urlencoded")
    held = slack_server.wait_for("chat.postEphemeral")[0]
    assert "price_below_floor" in json.dumps(held.blocks) and smtp.messages == []

    anyway = block_actions("UREP", click(held.blocks, "draft_send_anyway"))
    anyway["channel"] = {"id": "CINQ"}
    dispatch(desk.app, form_body(anyway), "application/x-www-form-urlencoded")
    # The send runs after the ack: SMTP first, then the store. Wait for the state asserted.
    wait_until(lambda: "sent" in _events(desk, inq_id), 10, "the sent event stored")
    assert len(smtp.messages) == 1
    trail = AuditLog(tmp_path / "audit" / "audit.jsonl")
    confirmed = [e for e in trail.history(inq_id) if e.action == "quote_risk_confirmed"]
    assert confirmed and confirmed[0].actor == "UREP"
    assert "price_below_floor" in str(confirmed[0].detail)


def test_clean_draft_sends_without_a_second_confirmation(
    slack_server: FakeSlack, llm_server: FakeLlmServer, smtp: Recorder, tmp_path: Path
) -> None:
    llm_server.reply(
        json.dumps(
            {
                "draft": "Dear Mr Meyer,\n\nThank you for your inquiry. We will send our quotation "
                "for the 60x60 panels "
                "today. Payment T/T 30% deposit, 70% before shipment; lead time 15-25 days.\n\nLi Wei",
                "translation_of_email": "x",
                "translation_of_draft": "y",
            }
        )
    )
    desk = _desktop(slack_server, llm_server, smtp, tmp_path)
    mail = make_email(
        subject="Panels",
        from_addr="k.meyer@lichtbau.de",
        message_id="<qr2@lichtbau.de>",
        new_text="Please quote 500 pcs LED panel 60x60.",
    )
    inq_id = desk.ingestor.ingest(mail, datetime.now(UTC)).inquiry_id or ""
    drain(desk.worker)
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    desk.services.sending.send(draft_id, "UREP")
    assert len(smtp.messages) == 1
