"""Quote-risk checks on outgoing text: floors, payment terms, lead times, bank details, policy files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.drafting.prompts import PROMPTS_DIR, SCENARIOS, PromptLibrary
from bot.drafting.service import Drafter, DraftRequest
from bot.trust.quote_risk import (
    BANK_DETAILS_MISMATCH,
    LEAD_TIME_TOO_SHORT,
    PAYMENT_TERMS_NOT_ALLOWED,
    PRICE_BELOW_FLOOR,
    Finding,
    QuotePolicy,
    QuotePolicyError,
    check_quote,
    parse_rates,
)

RATES = {"USD": 1.0, "EUR": 1.08, "CNY": 0.14, "GBP": 1.27}


@pytest.fixture(scope="module")
def policy() -> QuotePolicy:
    return QuotePolicy.load()


def codes(text: str, policy: QuotePolicy, rates: dict[str, float] = RATES) -> list[str]:
    return [f.code for f in check_quote(text, policy, rates=rates)]


def _copy_prompts(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    root.mkdir()
    for name in ("company_profile.toml", "quote_policy.toml", "price_floor.csv"):
        shutil.copy(PROMPTS_DIR / name, root / name)
    return root


# -- rates ---------------------------------------------------------------------------------------


def test_parse_rates_reads_codes_and_usd_rates() -> None:
    assert parse_rates("EUR=1.08,CNY=0.14,USD=1") == {"EUR": 1.08, "CNY": 0.14, "USD": 1.0}
    assert parse_rates(" eur = 1.08 , gbp=1.27, ") == {"EUR": 1.08, "GBP": 1.27}
    assert parse_rates("") == {}


@pytest.mark.parametrize(
    "bad", ["EUR", "EUR:1.08", "EURO=1.08", "EUR=abc", "EUR=0", "EUR=-1", "EUR=1,EUR=1.1", "=1", "E1R=1"]
)
def test_parse_rates_refuses_malformed_input(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_rates(bad)


# -- loading -------------------------------------------------------------------------------------


def test_policy_loads_from_the_repository_prompts(policy: QuotePolicy) -> None:
    products = {f.product: (f.currency, f.min_unit_price) for f in policy.floors}
    assert products["LED panel 60x60 40W"] == ("USD", 7.0)
    assert products["GL-200W floodlight"] == ("USD", 18.5)
    assert policy.min_lead_days == 15  # from "15-25 days after deposit" in the profile
    assert "L/C at sight" in policy.allowed_payment_terms
    assert policy.bank is not None and "SWIFT:PRCBCNSZ" in policy.bank.ids()


def test_floor_prices_are_not_in_the_text_given_to_the_model() -> None:
    profile_text = PromptLibrary.load().profile.prompt_text("Lily Chen")
    assert "18.50" not in profile_text and "min_unit_price" not in profile_text


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("LED panel 60x60 40W,USD", "price_floor.csv line 7: expected 3 columns"),
        ("LED panel 60x60 40W,XX1,7.00", "price_floor.csv line 7: unknown currency"),
        ("LED panel 60x60 40W,USD,seven", "price_floor.csv line 7: min_unit_price 'seven' is not a number"),
        ("LED panel 60x60 40W,USD,-1", "price_floor.csv line 7: min_unit_price must be positive"),
        (",USD,7.00", "price_floor.csv line 7: product_or_sku is empty"),
    ],
)
def test_malformed_floor_rows_fail_with_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    root = _copy_prompts(tmp_path)
    (root / "price_floor.csv").write_text(
        "# floors\n\n# internal\n\nproduct_or_sku,currency,min_unit_price\nGL-200W floodlight,USD,18.50\n"
        + row
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(QuotePolicyError, match=re.escape(message)):
        QuotePolicy.load(root)


def test_a_floor_file_without_its_header_is_refused(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    (root / "price_floor.csv").write_text("product,currency,price\nGL-200W,USD,18.5\n", encoding="utf-8")
    with pytest.raises(QuotePolicyError, match=re.escape("price_floor.csv line 1: expected the header")):
        QuotePolicy.load(root)


def test_a_missing_floor_file_is_refused(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    (root / "price_floor.csv").unlink()
    with pytest.raises(QuotePolicyError, match=re.escape("price_floor.csv: file not found")):
        QuotePolicy.load(root)


def test_without_a_policy_file_the_profile_terms_are_the_allowed_ones(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    (root / "quote_policy.toml").unlink()
    loaded = QuotePolicy.load(root)
    assert loaded.allowed_payment_terms[0].startswith("T/T 30% deposit, 70% balance before shipment")
    assert codes("Payment: T/T 30% deposit, 70% before shipment.", loaded) == []
    assert codes("Payment: O/A 60 days.", loaded) == [PAYMENT_TERMS_NOT_ALLOWED]


def test_policy_file_overrides_the_minimum_lead_time(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    (root / "quote_policy.toml").write_text(
        '[payment]\nallowed = ["T/T 30% deposit", "O/A 30 days"]\n[lead_time]\nmin_days = 7\n',
        encoding="utf-8",
    )
    loaded = QuotePolicy.load(root)
    assert loaded.min_lead_days == 7
    assert codes("Delivery within 7 days.", loaded) == []
    assert codes("Delivery within 5 days.", loaded) == [LEAD_TIME_TOO_SHORT]
    assert codes("Payment: O/A 30 days.", loaded) == []  # allowed, and so is a shorter credit
    assert codes("Payment: O/A 20 days.", loaded) == []
    assert codes("Payment: O/A 60 days.", loaded) == [PAYMENT_TERMS_NOT_ALLOWED]


def test_a_bad_policy_file_names_the_file(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    (root / "quote_policy.toml").write_text("[lead_time]\nmin_days = 'soon'\n", encoding="utf-8")
    with pytest.raises(QuotePolicyError, match=re.escape("quote_policy.toml")):
        QuotePolicy.load(root)
    (root / "quote_policy.toml").write_text("[payment\n", encoding="utf-8")
    with pytest.raises(QuotePolicyError, match=re.escape("quote_policy.toml: not valid TOML")):
        QuotePolicy.load(root)


# -- prices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("LED panel 60x60 40W: USD 6.20/pc, FOB Shenzhen.", "LED panel 60x60 40W"),
        ("Price for the LED panel 600 x 600 mm 40W is EUR 5,90 per piece.", "LED panel 60x60 40W"),
        ("GL-200W: US$5.8 each", "GL-200W floodlight"),
        ("GL-200W floodlight FOB price: 6.5 USD", "GL-200W floodlight"),
        ("GL-200W floodlight — 17.90", "GL-200W floodlight"),
        ("| GL-200W floodlight | 17.90 |", "GL-200W floodlight"),
        ("GL-200W floodlight, unit price: 16.80 per piece", "GL-200W floodlight"),
        ("面板灯 600x600 40W 单价 45 元，含税。", "LED panel 60x60 40W"),
        ("投光灯 GL-200W 报价：¥100/个", "GL-200W floodlight"),
        ("Precio del panel LED 60x60 40W: 6,00 USD por pieza.", "LED panel 60x60 40W"),
        ("Preis für LED-Panel 60x60 40W: 6,20 € pro Stück.", "LED panel 60x60 40W"),
        ("Prix unitaire du projecteur GL-200W : 15,50 € la pièce.", "GL-200W floodlight"),
        ("Preço do refletor GL-200W: US$ 16,00 por peça.", "GL-200W floodlight"),
        ("Giá đèn GL-200W: 15,5 USD/chiếc.", "GL-200W floodlight"),
        ("GL-200W floodlight: £10.00 each", "GL-200W floodlight"),
    ],
)
def test_prices_below_the_floor_are_flagged_in_many_languages(
    policy: QuotePolicy, text: str, product: str
) -> None:
    findings = check_quote(text, policy, rates=RATES)
    assert [f.code for f in findings] == [PRICE_BELOW_FLOOR]
    assert findings[0].detail.startswith(product + ":")


@pytest.mark.parametrize(
    "text",
    [
        "LED panel 60x60 40W: USD 7.20/pc, MOQ 100 pcs, freight USD 0.35/pc. Quotation valid for 7 days.",
        "GL-200W floodlight — 18.50",
        "| GL-200W floodlight | 19.90 |",
        "GL-200W floodlight: USD 19.50/pc, USD 0.50 off for 1000 pcs.",
        "面板灯 600x600 40W 单价 52 元。",
        "Preis für LED-Panel 60x60 40W: 7,10 € pro Stück.",
        "Total for 500 pcs LED panel 60x60 40W: USD 3,600.",
        "Sample cost USD 5 for the GL-200W floodlight, refundable.",
        "We can offer a target price of USD 2.10/pc for LED tubes.",  # no floor for tubes
        "LED panel 60x60 40W x 500 pcs, delivery to Hai Phong.",
    ],
)
def test_prices_at_or_above_the_floor_or_not_unit_prices_pass(policy: QuotePolicy, text: str) -> None:
    assert codes(text, policy) == []


def test_each_price_is_judged_against_the_product_nearest_to_it(policy: QuotePolicy) -> None:
    text = "LED panel 60x60 40W USD 7.50/pc and GL-200W floodlight USD 12.00/pc."
    findings = check_quote(text, policy, rates=RATES)
    assert [f.detail.split(":")[0] for f in findings] == ["GL-200W floodlight"]


def test_a_product_named_earlier_in_the_paragraph_owns_the_price(policy: QuotePolicy) -> None:
    text = "GL-200W floodlight, IP65, 5 years warranty\nFOB price: USD 14.00/pc\n\nOther models: USD 9.00/pc"
    findings = check_quote(text, policy, rates=RATES)
    assert len(findings) == 1 and "USD 14" in findings[0].detail


def test_euro_price_is_above_a_usd_floor_after_conversion(policy: QuotePolicy) -> None:
    text = "LED panel 60x60 40W: EUR 6.80 per piece."
    assert codes(text, policy, {"USD": 1.0, "EUR": 1.08}) == []  # 6.80 EUR = 7.34 USD
    assert codes(text, policy, {"USD": 1.0, "EUR": 1.0}) == [PRICE_BELOW_FLOOR]


def test_yuan_price_below_a_usd_floor_after_conversion(policy: QuotePolicy) -> None:
    findings = check_quote("LED panel 60x60 40W 单价 RMB 45.00", policy, rates={"USD": 1, "CNY": 0.14})
    assert findings == [
        Finding(
            PRICE_BELOW_FLOOR,
            "LED panel 60x60 40W: CNY 45.00 ≈ USD 6.30 quoted ('RMB 45.00'), floor USD 7.00",
        )
    ]
    assert codes("LED panel 60x60 40W 单价 RMB 52.00", policy, {"USD": 1, "CNY": 0.14}) == []


def test_a_price_in_a_currency_without_a_rate_is_not_compared(policy: QuotePolicy) -> None:
    assert codes("LED panel 60x60 40W: EUR 1.00 per piece.", policy, {"USD": 1.0}) == []


def test_with_a_single_product_line_an_unnamed_price_uses_the_closest_floor(tmp_path: Path) -> None:
    root = _copy_prompts(tmp_path)
    profile = (root / "company_profile.toml").read_text(encoding="utf-8")
    profile = profile.replace(
        'lines = ["LED panel lights", "LED high-bay lights", "LED floodlights", "LED strip lights"]',
        'lines = ["LED floodlights"]',
    )
    (root / "company_profile.toml").write_text(profile, encoding="utf-8")
    (root / "price_floor.csv").write_text(
        "product_or_sku,currency,min_unit_price\n"
        "GL-200W floodlight,USD,18.50\n"
        "GL-100W floodlight,USD,10.20\n",
        encoding="utf-8",
    )
    single = QuotePolicy.load(root)
    low = check_quote("Our best price is USD 9.00/pc.", single, rates=RATES)
    assert [f.detail.split(":")[0] for f in low] == ["GL-100W floodlight"]
    assert codes("Our best price is USD 10.50/pc.", single) == []  # closest floor: 10.20
    assert codes("Our best price is USD 16.00/pc.", single) == [PRICE_BELOW_FLOOR]  # closest: 18.50
    # several product lines: a price nobody names is not attributed
    assert codes("Our best price is USD 9.00/pc.", QuotePolicy.load()) == []


# -- payment terms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Payment: open account 90 days.",
        "Payment terms: O/A 60 days after B/L date.",
        "We can accept D/P at sight.",
        "D/A 90 days is fine for us.",
        "Payment: 100% after delivery.",
        "T/T 30% deposit, 70% after delivery.",
        "Payment net 90.",
        "T/T 10% deposit, 90% before shipment.",
        "Usance L/C 90 days accepted.",
        "付款方式：货到付款。",
        "付款方式：月结90天。",
        "付款方式：10%定金，90%发货前付清。",
        "Forma de pago: 100% contra entrega.",
        "Pago a 60 días fecha factura.",
        "Zahlungsbedingungen: 60 Tage netto.",
        "Zahlung nach Lieferung.",
        "Paiement à la livraison.",
        "Conditions : acompte de 10 %, solde avant expédition.",
        "Pagamento após a entrega.",
        "Thanh toán sau khi nhận hàng.",
        "Đặt cọc 10%, phần còn lại trước khi giao hàng.",
    ],
)
def test_payment_terms_outside_the_allowed_list_are_flagged(policy: QuotePolicy, text: str) -> None:
    findings = check_quote(text, policy, rates=RATES)
    assert [f.code for f in findings] == [PAYMENT_TERMS_NOT_ALLOWED]
    assert "allowed: T/T 30% deposit" in findings[0].detail


@pytest.mark.parametrize(
    "text",
    [
        "Payment: T/T 30% deposit, 70% balance before shipment.",
        "L/C at sight is accepted for orders over USD 50,000.",
        "100% T/T in advance.",
        "We do not accept open account or D/A terms.",
        "付款方式：T/T 30%定金，70%发货前付清。",
        "Pago: T/T 30% de depósito, 70% antes del embarque.",
        "Zahlung: 30 % Anzahlung, 70 % vor Versand.",
        "Paiement : T/T 30 % d'acompte, 70 % avant expédition.",
        "Pagamento: T/T 30% de sinal, 70% antes do embarque.",
        "Thanh toán T/T 30% đặt cọc, 70% trước khi giao hàng.",
        "Please confirm your delivery address and the payment method you prefer.",
    ],
)
def test_allowed_or_refused_payment_terms_pass(policy: QuotePolicy, text: str) -> None:
    assert codes(text, policy) == []


# -- lead times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Delivery within 7 days after deposit.",
        "Lead time: 10 days.",
        "We can ship 500 pcs in 1-2 weeks.",
        "交期7天。",
        "交货期：10天。",
        "Entrega en 5 días.",
        "Lieferzeit: 10 Tage nach Anzahlung.",
        "Délai de livraison : 10 jours.",
        "Prazo de entrega: 10 dias.",
        "Thời gian giao hàng: 7-10 ngày.",
        "Samples in 3 days, mass production lead time 10 days.",
    ],
)
def test_lead_times_shorter_than_ours_are_flagged(policy: QuotePolicy, text: str) -> None:
    findings = check_quote(text, policy, rates=RATES)
    assert [f.code for f in findings] == [LEAD_TIME_TOO_SHORT]
    assert "15 days" in findings[0].detail


@pytest.mark.parametrize(
    "text",
    [
        "Lead time 15-25 days after deposit, depending on model and quantity.",
        "Samples ready in 3-5 days; mass production 20 days.",
        "Quotation valid for 7 days. Delivery in about 3 weeks.",
        "We will reply within 2 days about the delivery schedule.",
        "Muestras en 5 días; entrega en 20 días.",
        "样品3天，交期20天。",
        "Your order of 12月3日 has been shipped.",
        "Payment within 7 days of the invoice, delivery 25 days.",
    ],
)
def test_our_lead_times_and_other_durations_pass(policy: QuotePolicy, text: str) -> None:
    assert codes(text, policy) == []


# -- bank details --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Please remit to IBAN DE89 3704 0044 0532 0130 00.",
        "Bank: Pearl River Commercial Bank, SWIFT: COBADEFFXXX.",
        "Account No.: 6222 0000 1234 5678",
        "收款账号：6222 0000 1234 5678",
        "Número de cuenta: 0049 1500 0512 3456 7890",
        "Beneficiary: Brightway Trading HK Ltd",
        "Bénéficiaire : Global Lighting Supplies SARL",
    ],
)
def test_bank_details_that_are_not_ours_are_flagged(policy: QuotePolicy, text: str) -> None:
    assert BANK_DETAILS_MISMATCH in codes(text, policy)
    assert set(codes(text, policy)) == {BANK_DETAILS_MISMATCH}


@pytest.mark.parametrize(
    "text",
    [
        "Beneficiary: Shenzhen Brightway LED Lighting Co., Ltd.\nBank: Pearl River Commercial Bank, Shenzhen "
        "Futian Branch\nSWIFT: PRCBCNSZXXX\nAccount No.: 7559 0218 4463 0012",
        "SWIFT/BIC: PRCBCNSZ; 账号：7559021844630012",
        "Empfänger: Brightway LED",
        "Call us on +86 755 8612 3400 for the account manager.",
    ],
)
def test_our_own_bank_details_pass(policy: QuotePolicy, text: str) -> None:
    assert codes(text, policy) == []


def test_a_foreign_iban_names_only_its_last_digits(policy: QuotePolicy) -> None:
    [finding] = check_quote("IBAN: DE89 3704 0044 0532 0130 00", policy, rates=RATES)
    assert finding.detail.startswith("IBAN ending 3000 is not our own account")


# -- whole texts ---------------------------------------------------------------------------------


def test_one_draft_with_every_risk_lists_them_in_order(policy: QuotePolicy) -> None:
    text = (
        "Dear Ana,\n\nGL-200W floodlight: USD 15.00/pc. Payment: O/A 60 days. Delivery within 7 days.\n"
        "Please pay to IBAN DE89 3704 0044 0532 0130 00.\n\nBest regards"
    )
    assert codes(text, policy) == [
        PRICE_BELOW_FLOOR,
        PAYMENT_TERMS_NOT_ALLOWED,
        LEAD_TIME_TOO_SHORT,
        BANK_DETAILS_MISMATCH,
    ]


def test_the_company_profile_itself_raises_nothing(policy: QuotePolicy) -> None:
    library = PromptLibrary.load()
    assert check_quote(library.profile.prompt_text("Lily Chen"), policy, rates=RATES) == []
    raw = (PROMPTS_DIR / "company_profile.toml").read_text(encoding="utf-8")
    assert check_quote(raw, policy, rates=RATES) == []


@pytest.mark.parametrize("language", ["en", "zh", "es", "de", "fr", "pt", "vi"])
def test_offline_templates_raise_nothing(policy: QuotePolicy, language: str) -> None:
    drafter = Drafter(None)
    for scenario in SCENARIOS:
        request = DraftRequest(
            scenario=scenario,
            buyer_language=language,
            team_language="en",
            buyer_name="Carlos Mendes",
            buyer_email="carlos@iluminacao-sul.com.br",
            subject="RE: LED panel 600x600 40W - 500 pcs",
            new_text="We need 500 pcs of 600x600 panels at USD 5.00/pc, delivery in 7 days.",
            rep_name="Lily Chen",
            details="500 pcs LED panel 600x600 40W",
        )
        body = drafter.draft_template(request).body
        assert check_quote(body, policy, rates=RATES) == [], (language, scenario)


def test_a_draft_stating_only_profile_facts_raises_nothing(policy: QuotePolicy) -> None:
    draft = (
        "Kính gửi anh Minh,\n\nCảm ơn anh đã quan tâm đến đèn LED panel 600x600 của Brightway LED. Thời gian "
        "sản xuất là 15-25 ngày sau khi nhận tiền đặt cọc; thanh toán T/T 30% đặt cọc, 70% trước khi giao "
        "hàng. Mẫu sẵn sàng trong 3-5 ngày.\n\nTrân trọng,\nLily Chen\n"
        "sales@brightway-led.com | +86 755 8612 3400"
    )
    assert check_quote(draft, policy, rates=RATES) == []
