"""#13 item 7: mail forged from our own domain, failing DMARC at our own provider, is a card with a
``spoofed_own_domain`` warning — through the real composition root and the fake Slack — never
filed as internal mail; a forged "colleague's reply" in a thread never stops the clock."""

from __future__ import annotations

import json

import pytest

from bot.app.wiring import Desktop
from bot.core.models import Lane
from tests.factories import Fetched, raw_mail
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import T_ARRIVED, cards, drain

FAIL = (
    "mx.google.com; spf=softfail smtp.mailfrom=brightway-led.com; dkim=none; "
    "dmarc=fail (p=QUARANTINE) header.from=brightway-led.com"
)
PASS = FAIL.replace("softfail", "pass").replace("dkim=none", "dkim=pass").replace("dmarc=fail", "dmarc=pass")


@pytest.fixture
def desktop_env() -> dict[str, str]:
    # old arrival dates: no backlog summary here, every mail is current
    return {
        "OWN_DOMAINS": "brightway-led.com",
        "AUTHSERV_ID": "mx.google.com",
        "BACKFILL_SUMMARY_AFTER_MINUTES": "0",
    }


def test_a_forgery_of_our_domain_is_a_warned_card_not_internal(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    forged = raw_mail(
        "Hi, please note our new bank details for all payments: IBAN DE89 3704 0044 0532 0130 00.",
        subject="Updated bank details",
        from_='"Finance" <finance@brightway-led.com>',
        headers=[
            ("Authentication-Results", FAIL),
            ("Authentication-Results", PASS.replace("mx.google", "x")),
        ],
    )
    result = desktop.ingestor.deliver("INBOX", Fetched(1, forged, T_ARRIVED))
    inq = desktop.store.require(result.inquiry_id or "")
    assert inq.triage.category.value != "internal" and inq.triage.lane is Lane.REVIEW
    assert "spoofed_own_domain" in {w.code for w in inq.triage.warnings}
    drain(desktop.worker)
    [card] = cards(slack_server)
    assert "spoofed_own_domain" in json.dumps(card.blocks) or "Forged from our own domain" in json.dumps(
        card.blocks, ensure_ascii=False
    )

    genuine = raw_mail(
        "Lunch at 12?",
        subject="lunch",
        from_='"Li" <li@brightway-led.com>',
        headers=[("Authentication-Results", PASS)],
    )
    kept = desktop.ingestor.deliver("INBOX", Fetched(2, genuine, T_ARRIVED))
    assert desktop.store.require(kept.inquiry_id or "").triage.category.value == "internal"


def test_a_forged_colleague_reply_in_a_thread_does_not_stop_the_clock(desktop: Desktop) -> None:
    first = raw_mail("Please quote 2,000 pcs of HB-150U, FOB Shenzhen.", subject="HB-150U quote")
    started = desktop.ingestor.deliver("INBOX", Fetched(1, first, T_ARRIVED))
    inq = desktop.store.require(started.inquiry_id or "")
    assert inq.triage.lane is Lane.INQUIRY and inq.sla_started_at is not None
    mid = inq.messages[0].message_id
    forged_reply = raw_mail(
        "Answered, done.",
        subject="Re: HB-150U quote",
        from_='"Sales" <sales@brightway-led.com>',
        headers=[("Authentication-Results", FAIL), ("In-Reply-To", mid), ("References", mid)],
    )
    result = desktop.ingestor.deliver("INBOX", Fetched(2, forged_reply, T_ARRIVED))
    assert result.outcome == "followup"
    assert desktop.store.require(inq.id).sla_started_at is not None  # still waiting for us
