"""The inquiry filter: auto-replies, bounces, bulk, no-reply, internal, cold pitches; unsure -> inquiry."""

from __future__ import annotations

import pytest

from bot.core.models import Category
from bot.triage.filter import classify, is_buyer_request
from tests.factories import make_email

OWN = frozenset({"brightway-led.com"})


def test_auto_submitted_header_is_auto_reply_with_evidence() -> None:
    email = make_email(headers={"Auto-Submitted": "auto-replied"}, subject="Re: quote")
    assert classify(email, OWN) == (Category.AUTO_REPLY, "auto-reply: Auto-Submitted: auto-replied")


def test_auto_submitted_no_is_not_auto_reply() -> None:
    email = make_email(headers={"Auto-Submitted": "no"}, new_text="Please quote 500 pcs LED panels")
    assert classify(email, OWN)[0] == Category.INQUIRY


@pytest.mark.parametrize("header", ["X-Autoreply", "X-Autorespond"])
def test_vendor_auto_reply_headers(header: str) -> None:
    assert classify(make_email(headers={header: "yes"}), OWN)[0] == Category.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: LED quote",
        "Automatic reply: Quotation",
        "Abwesenheitsnotiz: Angebot",
        "Réponse automatique : devis",
        "Respuesta automática: cotización",
        "自动回复: 报价",
        "自動回覆：報價",
        "Trả lời tự động: Báo giá",
        "Risposta automatica: preventivo",
        "Automatyczna odpowiedź: oferta",
        "Otomatik yanıt: teklif",
        "Автоматический ответ: прайс",
        "자동 회신: 견적",
        "رد تلقائي: عرض سعر",
    ],
)
def test_out_of_office_subjects_in_many_languages(subject: str) -> None:
    category, reason = classify(make_email(subject=subject), OWN)
    assert category == Category.AUTO_REPLY
    assert "subject" in reason


def test_multipart_report_is_bounce() -> None:
    email = make_email(content_type="multipart/report", from_addr="postmaster@x.com")
    assert classify(email, OWN) == (Category.BOUNCE, "bounce: Content-Type multipart/report")


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "postmaster@example.org"])
def test_daemon_senders_are_bounces(sender: str) -> None:
    assert classify(make_email(from_addr=sender), OWN)[0] == Category.BOUNCE


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Read: Quotation LED panels",
    ],
)
def test_bounce_and_receipt_subjects(subject: str) -> None:
    email = make_email(subject=subject, new_text="The message could not be delivered.")
    assert classify(email, OWN)[0] == Category.BOUNCE


@pytest.mark.parametrize(
    ("headers", "evidence"),
    [
        ({"List-Id": "<news.example.com>"}, "List-Id"),
        ({"List-Unsubscribe": "<https://x/u>"}, "List-Unsubscribe"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "list"}, "Precedence: list"),
    ],
)
def test_bulk_and_list_mail_is_newsletter(headers: dict[str, str], evidence: str) -> None:
    category, reason = classify(make_email(headers=headers), OWN)
    assert category == Category.NEWSLETTER
    assert evidence in reason


def test_reply_in_thread_is_not_newsletter_even_with_list_headers() -> None:
    email = make_email(
        headers={"List-Unsubscribe": "<https://crm/u>"},
        in_reply_to="<q1@brightway-led.com>",
        new_text="Thanks, please send PI for 500 pcs.",
    )
    assert classify(email, OWN)[0] == Category.INQUIRY


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@shop.com",
        "no-reply@alerts.fedex.com",
        "donotreply@bank.com",
        "notifications@github.com",
        "do_not_reply@x.org",
    ],
)
def test_no_reply_senders(sender: str) -> None:
    assert classify(make_email(from_addr=sender), OWN)[0] == Category.NO_REPLY


def test_own_domain_and_subdomains_are_internal() -> None:
    assert classify(make_email(from_addr="lisa@brightway-led.com"), OWN)[0] == Category.INTERNAL
    assert classify(make_email(from_addr="ops@cn.brightway-led.com"), OWN)[0] == Category.INTERNAL
    assert classify(make_email(from_addr="x@notbrightway-led.com"), OWN)[0] == Category.INQUIRY


def test_seo_pitch_is_spam_with_evidence() -> None:
    email = make_email(
        from_addr="mark@outlook.com",
        subject="Rank on the first page of Google",
        new_text="I noticed your website is not ranking. We offer SEO services at affordable price. "
        "Reply YES for a free audit.",
    )
    category, reason = classify(email, OWN)
    assert category == Category.SPAM
    assert reason.startswith("cold pitch: SEO")


def test_phishing_is_spam() -> None:
    email = make_email(
        subject="Your mailbox is full", new_text="Click here to verify your mailbox within 24 hours."
    )
    category, reason = classify(email, OWN)
    assert category == Category.SPAM
    assert reason.startswith("phishing")


def test_freight_forwarder_offer_is_spam() -> None:
    email = make_email(
        new_text="We are a freight forwarder offering best sea freight rates, door to door service. "
        "If you are interested, send your next shipment."
    )
    assert classify(email, OWN)[0] == Category.SPAM


def test_one_pitch_signal_is_not_enough() -> None:
    email = make_email(new_text="Do you also do web design for your own website? Anyway, we need LED panels.")
    assert classify(email, OWN)[0] == Category.INQUIRY


def test_buyer_asking_for_price_is_never_spam_even_with_pitch_words() -> None:
    email = make_email(
        new_text="We are a logistics company with our own freight forwarding team. "
        "I noticed your website and we need a quotation for 300 pcs LED high bay lights for our warehouse.",
    )
    assert classify(email, OWN)[0] == Category.INQUIRY


@pytest.mark.parametrize("text", ["pls send catalog", "", "   ", "Hello", "MOQ?"])
def test_unsure_is_inquiry(text: str) -> None:
    category, reason = classify(make_email(new_text=text, subject=""), OWN)
    assert category == Category.INQUIRY
    assert reason == "inquiry: no filter rule matched"


def test_buyer_request_needs_a_request_and_a_product() -> None:
    from bot.drafting.prompts import BUNDLED_PROMPTS_DIR
    from bot.triage.profile import load_profile

    led = load_profile(BUNDLED_PROMPTS_DIR)  # the products come from the team's profile
    assert is_buyer_request("Please send price list for LED floodlights", led)
    assert is_buyer_request("请发LED面板灯报价", led)
    assert not is_buyer_request("We offer SEO at a great price", led)
