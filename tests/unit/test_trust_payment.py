"""Payment-change phrases in many languages, negations, and bank ids (IBAN/SWIFT/account)."""

from __future__ import annotations

import pytest

from bot.trust.payment import bank_id_change, extract_bank_ids, iban_valid, payment_change_phrase


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Please note we have a new bank account, kindly pay the balance there.", "en"),
        ("We changed our bank last month.", "en"),
        ("Please update our banking details in your system.", "en"),
        ("Our bank details have changed, see the attached letter.", "en"),
        ("Kindly remit the deposit to our new account below.", "en"),
        ("请汇款到新账户，旧账户已停用。", "zh"),
        ("我们公司已更改银行账户。", "zh"),
        ("Les informamos nuestra nueva cuenta bancaria para el pago.", "es"),
        ("Segue nossa nova conta bancária para o pagamento.", "pt"),
        ("Veuillez noter notre nouveau compte bancaire.", "fr"),
        ("Bitte beachten Sie unsere neue Bankverbindung.", "de"),
        ("Vi comunichiamo il nuovo conto per il bonifico.", "it"),
        ("Сообщаем новые банковские реквизиты для оплаты.", "ru"),
        ("يرجى التحويل إلى حساب بنكي جديد", "ar"),
        ("Vui lòng chuyển khoản vào tài khoản ngân hàng mới của chúng tôi.", "vi"),
        ("กรุณาโอนเงินเข้าบัญชีธนาคารใหม่ของเรา", "th"),
        ("Mohon transfer ke rekening bank baru kami.", "id"),
        ("Lütfen ödemeyi yeni banka hesabımıza yapınız.", "tr"),
    ],
)
def test_requests_to_pay_into_new_bank_details_are_found(text: str, lang: str) -> None:
    found = payment_change_phrase(text)
    assert found is not None and found[0] == lang


@pytest.mark.parametrize(
    "text",
    [
        "Please send your best price for 2,000 LED panels, payment by T/T.",
        "Can we change the payment terms to 30% deposit, 70% before shipment?",
        "We need new lighting for a bank branch in Hamburg.",
        "We will never change our bank details by email.",
        "Пришлите, пожалуйста, новый счёт на 500 штук.",  # "new invoice", not a bank account
        "Please update our account with the new delivery address.",
        "",
    ],
)
def test_ordinary_inquiries_and_negations_are_not_payment_changes(text: str) -> None:
    assert payment_change_phrase(text) is None


def test_bank_ids_are_extracted_and_normalised() -> None:
    text = "IBAN: DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX\nAccount No.: 123-456-7890"
    assert extract_bank_ids(text) == frozenset(
        {"IBAN:DE89370400440532013000", "SWIFT:COBADEFF", "ACCT:1234567890"}
    )


def test_invalid_ibans_and_bare_capital_words_are_not_bank_ids() -> None:
    assert extract_bank_ids("IBAN DE89 3704 0044 0532 0130 01") == frozenset()  # checksum off by one
    assert extract_bank_ids("SHENZHEN DISTRIBUTOR QUESTION") == frozenset()
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 3")


def test_a_different_iban_from_a_known_buyer_is_a_change() -> None:
    known = frozenset({"IBAN:DE89370400440532013000"})
    changed = bank_id_change("Please pay to IBAN GB82 WEST 1234 5698 7654 32", known)
    assert changed is not None and "IBAN ending 5432" in changed
    assert bank_id_change("IBAN DE89 3704 0044 0532 0130 00", known) is None
    assert bank_id_change("Please pay to IBAN GB82 WEST 1234 5698 7654 32", frozenset()) is None
