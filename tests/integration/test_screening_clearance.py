"""A send blocked by a screening warning, cleared by an admin with a reason, then sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import PermissionDenied
from bot.records.audit import AuditLog
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import Recorder
from tests.integration.test_drafting_flow import _desktop
from tests.slack_helpers import ADMIN, block_actions, click, dispatch, drain, form_body


def test_blocked_send_is_cleared_by_an_admin_then_sent(
    slack_server: FakeSlack,
    smtp: Recorder,
    tmp_path: Path,
) -> None:
    desk = _desktop(slack_server, None, smtp, tmp_path)
    mail = make_email(
        subject="LED panels for Tehran office",
        from_addr="reza@parsnoor.ir",
        new_text="We need 500 pcs of 60x60 LED panels, CIF Bandar Abbas.",
        message_id="<ir1@parsnoor.ir>",
    )
    inq_id = desk.ingestor.ingest(mail, datetime.now(UTC) - timedelta(minutes=1)).inquiry_id
    assert inq_id
    drain(desk.worker)
    inq = desk.store.require(inq_id)
    assert "embargoed_country" in [w.code for w in inq.triage.warnings]
    flow = desk.services.sending
    draft_id = desk.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    with pytest.raises(PermissionDenied):
        flow.send(draft_id, "UREP")
    with pytest.raises(PermissionDenied):
        flow.save_to_drafts(draft_id, "UREP")
    assert smtp.messages == []

    card = next(c for c in slack_server.calls("chat.postMessage") if not c.params.get("thread_ts"))
    clear = click(card.blocks, "inquiry_clear_warning")
    # A member who is not an admin is refused politely.
    dispatch(desk.app, form_body(block_actions("UREP", clear)), "application/x-www-form-urlencoded")
    refusal = slack_server.wait_for("chat.postEphemeral")[0]
    assert refusal.params["user"] == "UREP" and "admin" in refusal.params["text"].lower()
    assert slack_server.calls("views.open") == []
    # The admin gets the modal and clears with a reason.
    payload = block_actions(ADMIN, clear)
    payload["trigger_id"] = "T-1"
    dispatch(desk.app, form_body(payload), "application/x-www-form-urlencoded")
    view = slack_server.wait_for("views.open")[0].params["view"]
    submission = {
        "type": "view_submission",
        "user": {"id": ADMIN},
        "team": {"id": "T1"},
        "view": {
            **view,
            "id": "V1",
            "state": {
                "values": {
                    "clear_reason": {
                        "reason": {
                            "type": "plain_text_input",
                            "value": "Checked with compliance: civilian office lighting, licence 42.",
                        }
                    }
                }
            },
        },
    }
    assert dispatch(desk.app, form_body(submission), "application/x-www-form-urlencoded").status == 200
    assert desk.store.require(inq_id).extra.get("warnings_cleared") == ADMIN

    flow.send(draft_id, "UREP")
    assert len(smtp.messages) == 1
    trail = AuditLog(tmp_path / "audit" / "audit.jsonl")
    actions = [(e.action, e.actor) for e in trail.history(inq_id)]
    assert ("warning_cleared", ADMIN) in actions and ("sent", "UREP") in actions
    assert trail.verify().ok


def test_a_non_admin_cannot_clear_even_through_the_desk(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = _desktop(slack_server, None, None, tmp_path)
    mail = make_email(
        subject="Quote", from_addr="a@firm.ir", new_text="Price for 100 pcs?", message_id="<q@ir>"
    )
    inq_id = desk.ingestor.ingest(mail, datetime.now(UTC)).inquiry_id or ""
    with pytest.raises(PermissionDenied):
        desk.services.desk.clear_warnings(inq_id, "UREP", "I think it is fine really")
