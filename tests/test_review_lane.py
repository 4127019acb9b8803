"""The review lane end to end (issue #12): the real composition root against the fake Slack.

A lure (a fake "NEW PO please quote" with a ``PO.xlsx.htm`` attachment) is held on a "check first"
card with no SLA clock and no pings; *Real buyer* starts the clock and turns it into a normal card;
*Junk* files it and teaches the desk; *Rescue* and *Not an inquiry* teach it too; every click is
an event in the audit chain and counted in ``/inquiries stats``.

The lure's risk comes from the real detectors (``bot.triage.risk``: double extension, mass mailing,
mailbox greeting, lure phrasing...). These desks set ``FILTER_AT`` high so that this very risky
lure is held for review rather than filtered, which is what the plumbing tests need.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import Desktop
from bot.config.settings import load_config
from bot.core.errors import ConfigError
from bot.core.models import Attachment, Lane, ParsedEmail, RiskSignal, Status
from bot.desk.commands import list_inquiries
from bot.desk.ingest import IngestResult
from bot.desk.prework import _plain, work
from bot.handlers.commands import CommandHandler
from bot.triage import ThreadHints, TriageConfig, triage
from bot.triage.lanes import Thresholds, with_signals
from tests.factories import make_email
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    T_ARRIVED,
    block_actions,
    cards,
    choose,
    click,
    dispatch,
    drain,
    form_body,
    make_desktop,
    strings,
    thread_posts,
    wait_until,
)

LURE_SENDER = "purchase@global-sourcing-hub.example"
LURE_SIGNAL = RiskSignal("probe", 0.0, "evidence quoting the mail: <!channel>")
SAMPLES = sorted((Path(__file__).resolve().parents[1] / "bot" / "app" / "samples").glob("*.eml"))


def lure_email(n: int = 1, sender: str = LURE_SENDER) -> ParsedEmail:
    return make_email(
        subject=f"NEW PO please quote {n}",
        new_text=(
            "Dear sales,\n\nKindly see attached PO and quote your best price urgently. "
            "Open the attachment with your email password to view the document.\n\nRegards\nPurchasing Dept"
        ),
        from_addr=sender,
        from_name="Purchasing Dept",
        to=("undisclosed-recipients:;",),
        attachments=(Attachment("PO.xlsx.htm", "text/html", 3150),),
    )


def buyer_email(n: int, sender: str, **overrides: Any) -> ParsedEmail:
    fields: dict[str, Any] = {
        "subject": f"LED panels quotation {n}",
        "new_text": f"We need {n},000 pcs of 600x600 LED panels 40W. Please quote FOB Shenzhen and MOQ.",
        "from_addr": sender,
        "from_name": "Anna Buyer",
    }
    fields.update(overrides)
    return make_email(**fields)


@pytest.fixture
def desktop(slack_server: FakeSlack, tmp_path: Path) -> Iterator[Desktop]:
    d = make_desktop(slack_server, tmp_path, OWN_DOMAINS="brightway-led.com", FILTER_AT="30")
    try:
        yield d
    finally:
        d.store.close()


def hold(desktop: Desktop, email: ParsedEmail, arrived: datetime = T_ARRIVED) -> IngestResult:
    """Ingest ``email``, which the detectors hold for review."""
    config = desktop.ingestor.config
    # One more signal whose evidence carries a Slack control sequence: the card must escape it.
    verdict = with_signals(triage(email, config), [LURE_SIGNAL], config.thresholds)
    assert verdict.lane is Lane.REVIEW, verdict.risk
    assert {"risky_attachment", "mass_mailing"} <= {s.name for s in verdict.risk.signals}
    return desktop.ingestor.ingest(email, arrived, verdict=verdict)


def review_card_of(slack_server: FakeSlack, channel: str = CHANNEL) -> Call:
    found = [
        c
        for c in slack_server.calls("chat.postMessage")
        if c.params.get("channel") == channel and "review_real_buyer" in json.dumps(c.blocks)
    ]
    assert len(found) == 1, found
    return found[0]


def current_blocks(slack_server: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    blocks = slack_server.messages[(channel, ts)]["blocks"]
    assert isinstance(blocks, list)
    return blocks


def act(desktop: Desktop, user: str, action: dict[str, Any], channel: str = CHANNEL) -> None:
    response = dispatch(desktop.app, form_body(block_actions(user, action, channel=channel)), FORM)
    assert response.status == 200, response.body


def audited(desktop: Desktop, inq_id: str) -> list[str]:
    assert desktop.audit.verify().ok
    return [e.action for e in desktop.audit.history(inq_id)]


# -- held for review -----------------------------------------------------------------------------


def test_a_lure_becomes_a_check_first_card_that_is_never_pinged(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    buyer = desktop.ingestor.ingest(buyer_email(1, "anna@licht-1.de"), T_ARRIVED)
    result = hold(desktop, lure_email())
    assert (buyer.outcome, result.outcome) == ("new", "review")
    drain(desktop.worker)

    card = review_card_of(slack_server)
    assert "thread_ts" not in card.params
    text = " ".join(strings(card.blocks))
    assert "Check first" in text and "PO.xlsx.htm" in text and "review_junk" in json.dumps(card.blocks)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text  # the evidence is escaped
    inq = desktop.store.require(result.inquiry_id or "")
    assert inq.triage.lane is Lane.REVIEW and not inq.triage.is_inquiry
    assert inq.sla_started_at is None and inq.status is Status.NEW and inq.owner is None
    assert inq.card_ts == card.response["ts"] and inq.card_channel == CHANNEL
    assert "lure_suspected" in [w.code for w in inq.triage.warnings]

    # Three days later its window would long be over: the buyer's card is pinged, the lure never.
    pings = desktop.reminders.sla_tick(T_ARRIVED + timedelta(days=3))
    drain(desktop.worker)
    assert pings >= 1
    assert desktop.store.require(buyer.inquiry_id or "").pings_sent
    assert desktop.store.require(inq.id).pings_sent == ()
    assert thread_posts(slack_server, inq.card_ts or "") == []
    now = datetime.now(UTC)
    # The team digest lists the open buyer card, not the held mail (nor as filtered mail).
    posted = len(slack_server.calls("chat.postMessage"))
    desktop.reminders.send_team_digest(list(desktop.store.all_inquiries()), now)  # type: ignore[misc]
    drain(desktop.worker)
    digest = " ".join(" ".join(strings(c.params)) for c in slack_server.calls("chat.postMessage")[posted:])
    assert "LED panels quotation 1" in digest and "NEW PO" not in digest
    assert inq.id not in {s.id for s in list_inquiries(desktop.store, "open", "UALICE", now)}
    assert inq.id not in {i.id for i in desktop.store.open_inquiries()}


def test_real_buyer_starts_the_clock_and_turns_it_into_a_normal_card(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    result = hold(desktop, lure_email())
    drain(desktop.worker)
    ts = review_card_of(slack_server).response["ts"]
    review_blocks = current_blocks(slack_server, CHANNEL, ts)
    inq_id = result.inquiry_id or ""

    before = datetime.now(UTC)
    act(desktop, "UALICE", click(review_blocks, "review_real_buyer"))
    wait_until(lambda: desktop.store.require(inq_id).triage.is_inquiry, what="real buyer")
    after = datetime.now(UTC)
    drain(desktop.worker)

    inq = desktop.store.require(inq_id)
    assert inq.triage.lane is Lane.INQUIRY and inq.status is Status.NEW
    assert inq.sla_started_at is not None and before <= inq.sla_started_at <= after
    assert "lure_suspected" not in [w.code for w in inq.triage.warnings]
    assert inq.card_ts == ts  # the same message, updated in place
    now_blocks = json.dumps(current_blocks(slack_server, CHANNEL, ts))
    assert "inquiry_claim" in now_blocks and "review_real_buyer" not in now_blocks
    assert any("Real buyer per <@UALICE>" in c.params["text"] for c in thread_posts(slack_server, ts))
    assert [(e.actor, e.action) for e in inq.events if e.action == "real_buyer"] == [("UALICE", "real_buyer")]
    assert "real_buyer" in audited(desktop, inq_id)

    # The clock runs now: past its window the card is pinged like any inquiry.
    assert desktop.reminders.sla_tick(after + timedelta(days=2)) >= 1
    assert desktop.store.require(inq_id).pings_sent

    # A second member clicking the stale review card is told, nothing changes.
    act(desktop, "UBOB", click(review_blocks, "review_junk"))
    refusal = slack_server.wait_for("chat.postEphemeral", 1)[0].params
    assert refusal["user"] == "UBOB"
    assert desktop.store.require(inq_id).triage.lane is Lane.INQUIRY


def test_junk_files_it_and_the_next_mail_from_that_sender_is_filtered(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    result = hold(desktop, lure_email())
    drain(desktop.worker)
    ts = review_card_of(slack_server).response["ts"]
    inq_id = result.inquiry_id or ""

    act(desktop, "UBOB", click(current_blocks(slack_server, CHANNEL, ts), "review_junk"))
    wait_until(lambda: desktop.store.require(inq_id).triage.lane is Lane.FILTERED, what="junked")
    drain(desktop.worker)

    inq = desktop.store.require(inq_id)
    assert inq.status is Status.NOT_INQUIRY and not inq.triage.is_inquiry and inq.sla_started_at is None
    junked = current_blocks(slack_server, CHANNEL, ts)
    assert "<@UBOB>" in " ".join(strings(junked)) and "filtered_rescue" in json.dumps(junked)
    assert "review_real_buyer" not in json.dumps(junked)
    assert any("<@UBOB>" in c.params["text"] for c in thread_posts(slack_server, ts))
    assert "junked" in audited(desktop, inq_id)

    # The desk learnt: the sender's next mail, however buyer-like, is filtered without a card.
    posts = len(slack_server.calls("chat.postMessage"))
    again = desktop.ingestor.ingest(buyer_email(2, LURE_SENDER), T_ARRIVED + timedelta(hours=5))
    drain(desktop.worker)
    assert again.outcome == "filtered"
    second = desktop.store.require(again.inquiry_id or "")
    assert second.triage.lane is Lane.FILTERED
    assert "junked_sender" in [s.name for s in second.triage.risk.signals]
    assert len(slack_server.calls("chat.postMessage")) == posts
    # A colleague at the junked company domain carries the domain's weight (held only with more).
    colleague = desktop.ingestor.ingest(buyer_email(3, "ceo@global-sourcing-hub.example"), T_ARRIVED)
    names = [s.name for s in desktop.store.require(colleague.inquiry_id or "").triage.risk.signals]
    assert "junked_domain" in names and "junked_sender" not in names


def test_junking_a_free_mail_sender_never_junks_the_free_mail_domain(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    result = hold(desktop, lure_email(sender="po.dept.2291@gmail.com"))
    desktop.services.desk.junk(result.inquiry_id or "", "UBOB")
    other = desktop.ingestor.ingest(buyer_email(4, "maria.buyer@gmail.com"), T_ARRIVED)
    assert other.outcome == "new"
    learnt = {s.name for s in desktop.store.require(other.inquiry_id or "").triage.risk.signals}
    assert not learnt & {"junked_domain", "junked_sender", "dismissed_sender"}
    same = desktop.ingestor.ingest(buyer_email(5, "po.dept.2291@gmail.com"), T_ARRIVED)
    assert same.outcome == "filtered"


def test_a_rescued_sender_lands_in_the_inquiry_lane_next_time(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    sender = "orders@hotel-supplies.example"
    news = buyer_email(1, sender, headers={"List-Unsubscribe": "<mailto:u@hotel-supplies.example>"})
    filtered = desktop.ingestor.ingest(news, T_ARRIVED)
    assert filtered.outcome == "filtered"
    action = {
        "type": "button",
        "action_id": "filtered_rescue",
        "block_id": "filtered:0",
        "value": filtered.inquiry_id,
    }
    act(desktop, "UALICE", action)
    wait_until(lambda: desktop.store.require(filtered.inquiry_id or "").triage.is_inquiry, what="rescued")
    drain(desktop.worker)
    assert "rescued" in audited(desktop, filtered.inquiry_id or "")

    # Sent with the same mailing tool again: the filter would call it a newsletter, the team said buyer.
    news2 = buyer_email(2, sender, headers={"List-Unsubscribe": "<mailto:u@hotel-supplies.example>"})
    again = desktop.ingestor.ingest(news2, T_ARRIVED + timedelta(days=1))
    assert again.outcome == "new"
    inq = desktop.store.require(again.inquiry_id or "")
    assert inq.triage.lane is Lane.INQUIRY and inq.sla_started_at is not None and inq.tier is not None
    assert "trusted_sender" in [s.name for s in inq.triage.risk.signals]
    # Even a mail its detectors find risky stays on the desk: the team vouched for this sender.
    assert hold_outcome(desktop, buyer_email(3, sender)) == "new"


def hold_outcome(desktop: Desktop, email: ParsedEmail) -> str:
    """Ingest ``email`` as if the detectors found it risky enough for review."""
    config = desktop.ingestor.config
    risky = RiskSignal("risky_attachment", 6.0, "quotation.iso")
    verdict = with_signals(triage(email, config), [risky], config.thresholds)
    return desktop.ingestor.ingest(email, T_ARRIVED, verdict=verdict).outcome


def test_not_an_inquiry_teaches_and_that_senders_next_mail_is_held_for_review(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    sender = "sales@led-components.example"
    first = desktop.ingestor.ingest(buyer_email(1, sender), T_ARRIVED)
    drain(desktop.worker)
    ts = desktop.store.require(first.inquiry_id or "").card_ts or ""
    act(desktop, "UALICE", choose(current_blocks(slack_server, CHANNEL, ts), "inquiry_status", "not_inquiry"))
    wait_until(
        lambda: desktop.store.require(first.inquiry_id or "").status is Status.NOT_INQUIRY,
        what="not an inquiry",
    )
    again = desktop.ingestor.ingest(buyer_email(2, sender), T_ARRIVED + timedelta(days=1))
    assert again.outcome == "review"  # held, never filtered on this alone
    assert "dismissed_sender" in [
        s.name for s in desktop.store.require(again.inquiry_id or "").triage.risk.signals
    ]
    assert "status" in audited(desktop, first.inquiry_id or "")


def test_all_four_clicks_are_counted_in_stats(desktop: Desktop, slack_server: FakeSlack) -> None:
    desk = desktop.services.desk
    real = hold(desktop, lure_email(1, "a@lure-one.example"))
    junk = hold(desktop, lure_email(2, "b@lure-two.example"))
    card = desktop.ingestor.ingest(buyer_email(3, "c@licht-3.de"), T_ARRIVED)
    news = desktop.ingestor.ingest(
        buyer_email(4, "d@hotel-4.example", headers={"List-Unsubscribe": "<mailto:u@hotel-4.example>"}),
        T_ARRIVED,
    )
    held = hold(desktop, lure_email(5, "e@lure-five.example"))
    desk.real_buyer(real.inquiry_id or "", "UALICE")
    desk.junk(junk.inquiry_id or "", "UBOB")
    desk.set_status(card.inquiry_id or "", "UALICE", "not_inquiry")
    desk.rescue(news.inquiry_id or "", "UALICE")
    answer = CommandHandler(desktop.services).answer("stats 7d", "UALICE")
    assert (
        "Overturned by the team: review → inquiry 1, review → junk 1, "
        "inquiry → not an inquiry 1, filtered → rescued 1" in answer
    )
    assert "Waiting for a check: 1" in answer
    assert desktop.store.require(held.inquiry_id or "").triage.lane is Lane.REVIEW
    assert desktop.audit.verify().ok


# -- a separate review channel --------------------------------------------------------------------


def test_review_channel_holds_the_card_and_real_buyer_moves_it_to_the_desk(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    desktop = make_desktop(slack_server, tmp_path, REVIEW_CHANNEL="CREVIEW", FILTER_AT="30")
    try:
        lure = lure_email()
        result = hold(desktop, lure)
        drain(desktop.worker)
        card = review_card_of(slack_server, "CREVIEW")
        review_ts = card.response["ts"]
        assert cards(slack_server) == []  # nothing in the desk channel yet

        # The sender writes again in the thread: it lands under the review card, no clock starts.
        follow = make_email(
            subject="RE: " + lure.subject,
            new_text="Did you check the PO? Please confirm today.",
            from_addr=LURE_SENDER,
            in_reply_to=lure.message_id,
        )
        assert desktop.ingestor.ingest(follow, T_ARRIVED + timedelta(hours=1)).outcome == "followup"
        drain(desktop.worker)
        under = [c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts") == review_ts]
        assert len(under) == 1 and under[0].params["channel"] == "CREVIEW"
        inq_id = result.inquiry_id or ""
        assert desktop.store.require(inq_id).sla_started_at is None

        act(
            desktop,
            "UALICE",
            click(current_blocks(slack_server, "CREVIEW", review_ts), "review_real_buyer"),
            "CREVIEW",
        )
        wait_until(lambda: desktop.store.require(inq_id).triage.is_inquiry, what="real buyer")
        drain(desktop.worker)

        inq = desktop.store.require(inq_id)
        desk_cards = cards(slack_server)
        assert len(desk_cards) == 1 and "inquiry_claim" in json.dumps(desk_cards[0].blocks)
        assert (inq.card_channel, inq.card_ts) == (CHANNEL, desk_cards[0].response["ts"])
        assert inq.extra["review_ts"] == review_ts and inq.sla_started_at is not None
        moved = " ".join(strings(current_blocks(slack_server, "CREVIEW", review_ts)))
        assert f"<#{CHANNEL}>" in moved and "<@UALICE>" in moved
        assert "review_real_buyer" not in json.dumps(current_blocks(slack_server, "CREVIEW", review_ts))
    finally:
        desktop.store.close()


# -- configuration ------------------------------------------------------------------------------


def test_review_at_from_the_config_decides_the_lane(slack_server: FakeSlack, tmp_path: Path) -> None:
    desktop = make_desktop(slack_server, tmp_path, REVIEW_AT="-5", FILTER_AT="5")
    try:
        assert desktop.ingestor.config.thresholds == Thresholds(review_at=-5.0, filter_at=5.0)
        assert desktop.ingestor.ingest(buyer_email(1, "anna@licht-1.de"), T_ARRIVED).outcome == "review"
    finally:
        desktop.store.close()


def test_thresholds_reach_the_prework_processes() -> None:
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}), thresholds=Thresholds(-5.0, 5.0))
    plain = pickle.loads(pickle.dumps(_plain(config)))
    buyer = next(p for p in SAMPLES if p.name.startswith("01-"))
    verdict = work(buyer.read_bytes(), plain, ThreadHints()).verdict
    assert verdict is not None
    assert verdict.lane is Lane.REVIEW and not verdict.is_inquiry


def test_thresholds_are_validated(tmp_path: Path) -> None:
    base = {"DATA_DIR": str(tmp_path)}
    config = load_config({**base, "REVIEW_AT": "4.5", "FILTER_AT": "9"})
    assert (config.review_at, config.filter_at) == (4.5, 9.0)
    assert (load_config(base).review_at, load_config(base).filter_at) == (3.0, 8.0)
    with pytest.raises(ConfigError, match=r"REVIEW_AT \(9\) must be below FILTER_AT \(8\)"):
        load_config({**base, "REVIEW_AT": "9", "FILTER_AT": "8"})
    with pytest.raises(ConfigError, match="REVIEW_AT='high' is not a number"):
        load_config({**base, "REVIEW_AT": "high"})
    with pytest.raises(ConfigError, match="FILTER_AT='nan'"):
        load_config({**base, "FILTER_AT": "nan"})


def test_triage_json_has_the_lane_and_the_risk(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.app.cli.main import main

    assert main(["triage", "--json", str(SAMPLES[0]), str(SAMPLES[-1])]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for row in rows:
        assert row["lane"] in ("inquiry", "review", "filtered")
        assert row["is_inquiry"] is (row["lane"] == "inquiry")
        assert isinstance(row["risk"]["score"], float)
        assert all(set(s) == {"name", "weight", "evidence"} for s in row["risk"]["signals"])
    assert rows[0]["lane"] == "inquiry" and rows[-1]["lane"] == "filtered"
    assert main(["triage", str(SAMPLES[0])]) == 0
    assert "INQUIRY" in capsys.readouterr().out
