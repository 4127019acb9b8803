"""Risk signals and lanes (#12): each signal fires on the kind of mail that carries it, with
evidence a rep can read, and real buyers keep their inquiry lane."""

from __future__ import annotations

import json
import time

import pytest

from bot.core.models import Category, Lane, Risk, RiskSignal
from bot.intake.parse import parse_email
from bot.triage import TriageConfig, triage
from bot.triage.lanes import LURE_SUSPECTED, Thresholds, lane_for, with_signals
from bot.triage.risk import assess
from tests.factories import raw_mail
from tests.paths import FIXTURES

OWN = frozenset({"brightway-led.com"})
CONFIG = TriageConfig(own_domains=OWN, own_addresses=frozenset({"sales@brightway-led.com"}))
HARD_BUYERS = FIXTURES / "buyers_hard"


def _signals(raw: bytes, config: TriageConfig = CONFIG) -> dict[str, RiskSignal]:
    return {s.name: s for s in assess(parse_email(raw), config).signals}


# ------------------------------------------------------------------ lanes
def test_lane_thresholds_prefer_review_over_filtered() -> None:
    t = Thresholds(review_at=3.0, filter_at=8.0)
    assert lane_for(Category.INQUIRY, Risk(2.9), t) is Lane.INQUIRY
    assert lane_for(Category.INQUIRY, Risk(3.0), t) is Lane.REVIEW
    assert lane_for(Category.INQUIRY, Risk(7.9), t) is Lane.REVIEW
    assert lane_for(Category.INQUIRY, Risk(8.0), t) is Lane.FILTERED
    assert lane_for(Category.NEWSLETTER, Risk(0.0), t) is Lane.FILTERED


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="REVIEW_AT"):
        Thresholds(review_at=5, filter_at=4)


def test_learnt_signals_decide_the_lane_again() -> None:
    verdict = triage(parse_email(raw_mail()), CONFIG)
    assert verdict.lane is Lane.INQUIRY and verdict.is_inquiry
    junked = with_signals(verdict, [RiskSignal("junked_sender", 0.0, "junked by U1")], CONFIG.thresholds)
    assert junked.lane is Lane.FILTERED and not junked.is_inquiry
    held = with_signals(verdict, [RiskSignal("text_model", 5.0, "p(junk)=0.98")], CONFIG.thresholds)
    assert held.lane is Lane.REVIEW and not held.is_inquiry
    assert held.warnings[0].code == LURE_SUSPECTED and "text_model" in held.warnings[0].detail
    trusted = with_signals(held, [RiskSignal("trusted_sender", 0.0, "real buyer per U2")], CONFIG.thresholds)
    assert trusted.lane is Lane.INQUIRY and trusted.is_inquiry


# ------------------------------------------------------------------ attachments and links
@pytest.mark.parametrize(
    "filename",
    [
        "PO#198945.html",
        "Purchase_rfq.xlsx.htm",
        "quotation.iso",
        "order..xlsx",
        "Invoice.svg",
        "setup.exe",
        "profile.mobileconfig",
        "scan.vhd",
    ],
)
def test_risky_attachments_hold_a_mail_that_looks_like_an_order(filename: str) -> None:
    raw = raw_mail(
        "Dear sales,\nPlease find attached our new order and quote your best price.\n",
        subject="NEW PO please quote",
        attachments=[(filename, "application/octet-stream", b"<html>login</html>")],
    )
    found = _signals(raw)
    assert found["risky_attachment"].weight >= 6
    assert filename.split("#")[-1][:10] in found["risky_attachment"].evidence
    assert triage(parse_email(raw), CONFIG).lane is not Lane.INQUIRY


def test_macro_and_encrypted_archive_attachments_weigh_in() -> None:
    macro = _signals(raw_mail(attachments=[("prices.xlsm", "application/octet-stream", b"x")]))
    assert macro["risky_attachment"].weight == 3
    zipped = _signals(
        raw_mail("RFQ attached, password: 1234", attachments=[("rfq.zip", "application/zip", b"PK")])
    )
    assert zipped["risky_attachment"].weight == 4


def test_a_drawing_or_spreadsheet_from_a_buyer_is_not_risky() -> None:
    found = _signals(
        raw_mail(
            "Please quote 800 pcs as per the attached drawing.",
            attachments=[
                ("drawing.pdf", "application/pdf", b"%PDF"),
                ("bom.xlsx", "application/vnd.ms-excel", b"x"),
            ],
        )
    )
    assert "risky_attachment" not in found and "missing_attachment" not in found


def test_see_attached_with_nothing_attached_and_link_only_documents() -> None:
    missing = _signals(raw_mail("Please see attached new order and revert with delivery date."))
    assert missing["missing_attachment"].weight > 0
    linked = _signals(
        raw_mail("Kindly view the purchase order here: https://acme-po.sharepoint.com/:b:/g/xyz and confirm.")
    )
    assert "sharepoint" in linked["link_only_document"].evidence


# ------------------------------------------------------------------ recipients, threading, identity
def test_mass_mailing_and_mailbox_greetings() -> None:
    undisclosed = _signals(raw_mail(to="undisclosed-recipients:;"))
    assert undisclosed["mass_mailing"].evidence == "undisclosed recipients"
    self_sent = _signals(raw_mail(from_="trade1@nejknio.cf", to="trade1@nejknio.cf"))
    assert "itself" in self_sent["mass_mailing"].evidence
    bcc = _signals(raw_mail(to="linux-hams@vger.kernel.org"))
    assert bcc["not_addressed_to_us"].weight == 1
    greeted = _signals(raw_mail("Dear sales,\nPlease quote your products."))
    assert greeted["mailbox_greeting"].evidence == "greets 'sales'"
    team = _signals(raw_mail("Dear Sales Team,\nPlease quote 200 pcs."))
    assert "mailbox_greeting" not in team


def test_reply_prefix_without_a_thread_is_fake_threading() -> None:
    for subject in ("RE: new order", "AW: Bestellung", "回复: 询价"):
        assert "fake_reply" in _signals(raw_mail(subject=subject)), subject
    real = raw_mail(subject="RE: quotation", headers=[("In-Reply-To", "<q1@brightway-led.com>")])
    assert "fake_reply" not in _signals(real)


def test_identity_mismatches() -> None:
    rt = _signals(raw_mail(from_='"Daniel" <sinara-group@bk.ru>', headers=[("Reply-To", "sinara@list.ru")]))
    assert rt["reply_to_elsewhere"].weight == 3
    company = _signals(raw_mail(from_='"John Lewis & Partnership" <jl.procurement@gmail.com>'))
    assert "free_mail_company" in company
    brand = _signals(raw_mail(from_='"Microsoft Account Team" <alerts@mxsupport-desk.com>'))
    assert "brand_impersonation" in brand
    none = _signals(raw_mail(from_="undisclosed"))
    assert "no_sender" in none or "invalid_sender_domain" in none
    same_company = _signals(raw_mail(from_="a@acme.de", headers=[("Reply-To", "einkauf@acme.de")]))
    assert "reply_to_elsewhere" not in same_company


# ------------------------------------------------------------------ server verdict
FAIL = "mx.google.com; spf=fail smtp.mailfrom=acme.de; dkim=none; dmarc=fail (p=REJECT) header.from=acme.de"
PASS = (
    "mx.google.com; spf=pass smtp.mailfrom=acme.de; dkim=pass header.d=acme.de; "
    "dmarc=pass header.from=acme.de"
)


def test_only_the_providers_own_verdict_is_read() -> None:
    google = TriageConfig(own_domains=OWN, authserv_id="mx.google.com")
    ours = raw_mail(headers=[("Authentication-Results", FAIL)])
    assert "server_auth_fail" in _signals(ours, google)
    # A sender writes a failing (or passing) header below the provider's: never read.
    forged_below = raw_mail(
        headers=[
            ("Authentication-Results", PASS),
            ("Authentication-Results", FAIL.replace("mx.google.com", "x")),
        ]
    )
    assert "server_auth_fail" not in _signals(forged_below, google)
    # A header from another server id on top is not the provider's.
    other = raw_mail(headers=[("Authentication-Results", FAIL.replace("mx.google.com", "evil.example"))])
    assert "server_auth_fail" not in _signals(other, google)


def test_microsoft_365_verdict_has_no_authserv_id() -> None:
    m365 = TriageConfig(own_domains=OWN, authserv_id="microsoft")
    value = (
        "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=acme.de; dkim=none (message not signed) "
        "header.d=none;dmarc=fail action=oreject header.from=acme.de;compauth=fail reason=000"
    )
    assert "server_auth_fail" in _signals(raw_mail(headers=[("Authentication-Results", value)]), m365)
    assert "server_auth_fail" not in _signals(raw_mail(headers=[("Authentication-Results", FAIL)]), m365)


def test_provider_spam_verdict() -> None:
    found = _signals(raw_mail(headers=[("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=9.1")]))
    assert found["server_spam_verdict"].weight == 3


def test_mail_forged_from_our_own_domain_is_a_card_with_a_warning_not_internal() -> None:
    forged = raw_mail(
        "Please update our bank details: new IBAN DE89 3704 0044 0532 0130 00.",
        from_='"Accounts" <finance@brightway-led.com>',
        headers=[("Authentication-Results", FAIL.replace("acme.de", "brightway-led.com"))],
    )
    config = TriageConfig(own_domains=OWN, authserv_id="mx.google.com")
    verdict = triage(parse_email(forged), config)
    assert verdict.category is Category.INQUIRY and verdict.lane is not Lane.FILTERED
    assert "spoofed_own_domain" in {w.code for w in verdict.warnings}
    genuine = raw_mail(
        "Lunch at 12?",
        from_='"Li" <li@brightway-led.com>',
        headers=[("Authentication-Results", PASS.replace("acme.de", "brightway-led.com"))],
    )
    assert triage(parse_email(genuine), config).category is Category.INTERNAL


# ------------------------------------------------------------------ content
def test_content_signals_name_their_evidence() -> None:
    pitch = _signals(
        raw_mail("Good morning,\nWe specialize in SEO. We offer affordable packages. Our services...")
    )
    assert pitch["sender_offers"].weight >= 3 and "no_request" in pitch
    scam = _signals(
        raw_mail("I need your assistance to transfer the funds of my late client, the sum of $4.5 m")
    )
    assert "scam_topic" in scam
    phish = _signals(raw_mail("Your mailbox is full. Verify your account within 24 hours."))
    assert "account_phishing" in phish
    docs = _signals(raw_mail("Please find the attached transfer slip and confirm receipt of the payment."))
    assert "payment_or_shipping_docs" in docs
    vague = _signals(raw_mail("We are interested in your products. Send your latest catalog and price list."))
    assert "vague_request" in vague
    buyer = _signals(raw_mail("Please quote 2,000 pcs of model HB-150U, 150W, FOB Shenzhen."))
    assert buyer["concrete_need"].weight < 0 and "vague_request" not in buyer and "no_request" not in buyer


def test_hard_genuine_buyers_keep_the_inquiry_lane() -> None:
    """Real-world buyer habits that look a little like lures: free mail, urgency, attachments,
    a Re: subject with no thread, a tender Bcc'd to suppliers, a Dropbox link to a plan."""
    labels = json.loads((HARD_BUYERS / "labels.json").read_text("utf-8"))
    assert len(labels) >= 15
    held = []
    for name in labels:
        verdict = triage(parse_email((HARD_BUYERS / name).read_bytes()), CONFIG)
        if verdict.lane is not Lane.INQUIRY:
            held.append(f"{name}: {verdict.risk}")
    assert not held, "\n".join(held)


def test_signals_are_linear_on_hostile_text() -> None:
    for body in ("9" * 10_000, "a" * 200_000, "your products " * 20_000, "http://" + "x" * 100_000):
        email = parse_email(raw_mail(body, subject="RE: " + "x" * 5000))
        start = time.perf_counter()
        assess(email, CONFIG)
        assert time.perf_counter() - start < 0.5
