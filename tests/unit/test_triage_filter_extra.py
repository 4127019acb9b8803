"""Filter rules for mail that is plainly not from a buyer: bare delivery reports, no sender,
promotions. A real buyer's request is never caught by them."""

from __future__ import annotations

from bot.core.models import Category
from bot.triage import classify
from tests.factories import make_email


def test_a_bare_delivery_status_report_is_a_bounce() -> None:
    dsn = make_email(
        from_addr="",
        subject="",
        content_type="message/delivery-status",
        new_text="Reporting-Mta: dns; a92.example.com\nAction: failed\nStatus: 4.2.2",
    )
    assert classify(dsn)[0] is Category.BOUNCE
    headerless = make_email(
        from_addr="", subject="", new_text="Final-Recipient: RFC822; <x@y.com>\nAction: failed"
    )
    assert classify(headerless)[0] is Category.BOUNCE


def test_mail_with_no_sender_is_kept_out_of_the_cards_unless_it_asks_for_a_price() -> None:
    category, reason = classify(make_email(from_addr="", subject="Hi", new_text="Hi"))
    assert category is Category.NO_REPLY and "no sender" in reason
    asks = make_email(
        from_addr="", subject="Quotation", new_text="Please send your price for 500 pcs LED panels."
    )
    assert classify(asks)[0] is Category.INQUIRY


def test_promotions_with_pitch_phrasing_are_spam_but_a_buyer_with_a_discount_question_is_not() -> None:
    promo = make_email(
        subject="Forget Asking For A Link Exchange",
        new_text="Generate high-quality traffic to your web site. Click here. Unsubscribe: http://x",
    )
    assert classify(promo)[0] is Category.SPAM
    buyer = make_email(
        subject="20% off?",
        new_text="Can you give 20% off on the price of 2,000 pcs LED panels? "
        "If you are interested in a long-term order, reply.",
    )
    assert classify(buyer)[0] is Category.INQUIRY
