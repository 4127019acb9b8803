"""Filtered mail: not a card, but a daily line with counts and a rescue button per item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import block_actions, click, dispatch, drain, form_body, make_desktop, wait_until


def test_daily_filtered_line_lists_counts_and_rescue_turns_one_into_a_card(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    desk = make_desktop(slack_server, tmp_path, OWN_DOMAINS="brightway-led.com", TEAM_TIMEZONE="UTC")
    now = datetime.now(UTC)
    ooo = make_email(
        subject="Automatic reply: RFQ",
        headers={"Auto-Submitted": "auto-replied"},
        from_addr="away@buyer.fr",
        new_text="I am away until Monday.",
        message_id="<a1@x>",
    )
    news = make_email(
        subject="November news",
        headers={"List-Unsubscribe": "<mailto:u@news.com>"},
        from_addr="news@lighting-news.com",
        new_text="Our newsletter",
        message_id="<n1@x>",
    )
    news2 = make_email(
        subject="December news",
        headers={"List-Id": "<news.lighting-news.com>"},
        from_addr="news@lighting-news.com",
        new_text="Our newsletter 2",
        message_id="<n2@x>",
    )
    for mail in (ooo, news, news2):
        assert desk.ingestor.ingest(mail, now - timedelta(hours=2)).outcome == "filtered"
    drain(desk.worker)
    assert slack_server.calls("chat.postMessage") == []  # filtered mail gets no card

    assert desk.reminders.send_team_digest is not None  # the digests are wired in build()
    desk.reminders.send_team_digest(list(desk.store.all_inquiries()), now)
    drain(desk.worker)
    line = next(c for c in slack_server.calls("chat.postMessage") if "filtered_rescue" in str(c.blocks))
    assert "3" in line.params["text"]
    rescue = click(line.blocks, "filtered_rescue")
    body = form_body(block_actions("UALICE", rescue))
    assert dispatch(desk.app, body, "application/x-www-form-urlencoded").status == 200
    # The rescue runs after the ack: wait for the stored state, then deliver its card.
    wait_until(lambda: desk.store.require(rescue["value"]).triage.is_inquiry, what="the rescue")
    wait_until(
        lambda: drain(desk.worker) >= 0 and bool(desk.store.require(rescue["value"]).card_ts), what="its card"
    )
    rescued = desk.store.require(rescue["value"])
    assert rescued.triage.is_inquiry and rescued.card_ts
    assert "rescued by UALICE" in rescued.triage.reason
