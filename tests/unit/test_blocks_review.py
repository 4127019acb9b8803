"""The "check first" card: reasons with their evidence (escaped), buttons, and its decided states."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.blocks.common import check_unique_block_ids
from bot.blocks.review import ACTION_JUNK, ACTION_REAL_BUYER, review_card
from bot.core.models import Attachment, Event, Inquiry, Lane, MessageRecord, Risk, RiskSignal, Status, Warning
from tests.inquiries import make_inquiry, make_triage
from tests.slack_helpers import strings

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def held(**overrides: Any) -> Inquiry:
    risk = Risk(
        score=6.5,
        signals=(
            RiskSignal("attachment_double_extension", 4.0, "PO.xlsx.htm <!here> & co"),
            RiskSignal("junked_domain", 2.0, "the team junked 1 mail(s) from lure.example"),
            RiskSignal("known_buyer", -1.5, "wrote inquiry #3 before"),
            RiskSignal("mass_mailing", 2.0, "undisclosed-recipients"),
        ),
    )
    triage = make_triage(
        is_inquiry=False,
        lane=Lane.REVIEW,
        risk=risk,
        warnings=(
            Warning("lure_suspected", "risk 6.5: attachment"),
            Warning("reply_to_mismatch", "reply to <x@gmail.com>"),
        ),
    )
    msg = MessageRecord(
        "<l1@x>",
        "in",
        AT,
        "po@lure.example",
        "NEW PO",
        "Kindly see attached PO <@U123> *now*",
        attachments=(Attachment("PO.xlsx.htm", "text/html", 3000),),
    )
    return replace(
        make_inquiry("7", buyer_addr="po@lure.example", subject="NEW PO <!channel>"),
        triage=triage,
        messages=(msg,),
        sla_started_at=None,
        **overrides,
    )


def test_the_review_card_shows_why_it_is_held_with_readable_escaped_evidence() -> None:
    inq = held()
    text, blocks = review_card(inq, lang="en")
    everything = " ".join(strings(blocks))
    assert "Check first" in text and "&lt;!channel&gt;" in text
    assert "<!here>" not in everything and "<!channel>" not in everything and "<@U123>" not in everything
    assert "&lt;!here&gt; &amp; co" in everything
    assert "*Domain junked before* (+2)" in everything and "*Known buyer* (−1.5)" in everything
    assert "attachment double extension" in everything  # an unlabelled signal reads as words
    assert "risk 6.5" in everything
    assert "Reply-To differs" in everything and "Possible lure" not in everything  # the reasons say it
    assert "PO.xlsx.htm" in everything and "No SLA clock" in everything
    dumped = json.dumps(blocks)
    assert ACTION_REAL_BUYER in dumped and ACTION_JUNK in dumped and "inquiry_claim" not in dumped
    assert len(blocks) <= 50
    check_unique_block_ids(blocks)


def test_the_card_in_chinese_uses_the_catalog() -> None:
    _, blocks = review_card(held(), lang="zh")
    everything = " ".join(strings(blocks))
    assert "先核实" in everything and "真实买家" in everything and "域名曾被标为垃圾" in everything


def test_a_junked_card_says_who_and_offers_rescue() -> None:
    inq = held()
    junked = replace(
        inq,
        triage=replace(inq.triage, lane=Lane.FILTERED),
        status=Status.NOT_INQUIRY,
        events=(Event(AT, "UBOB", "junked", "review"),),
    )
    text, blocks = review_card(junked, lang="en")
    assert "<@UBOB>" in text and "filtered_rescue" in json.dumps(blocks)
    assert ACTION_JUNK not in json.dumps(blocks)


def test_a_moved_card_says_where_the_inquiry_went() -> None:
    inq = held()
    moved = replace(
        inq,
        triage=replace(inq.triage, lane=Lane.INQUIRY, is_inquiry=True),
        card_channel="CINQ",
        events=(Event(AT, "UALICE", "real_buyer", "review"),),
    )
    text, blocks = review_card(moved, lang="en")
    assert "<@UALICE>" in text and "<#CINQ>" in text
    assert "button" not in json.dumps(blocks)
