"""Tier grading: A precise need, B real plan, C information only; reasons are short strings."""

from __future__ import annotations

import pytest

from bot.core.models import Tier
from bot.drafting.prompts import BUNDLED_PROMPTS_DIR
from bot.triage.profile import load_profile
from bot.triage.tier import find_quantity, grade
from tests.factories import make_email

LED = load_profile(BUNDLED_PROMPTS_DIR)  # the sample team's profile: LED words and specs live there


@pytest.mark.parametrize(
    ("text", "qty"),
    [
        ("2,000 pcs", "2,000 pcs"),
        ("need 500pcs", "500 pcs"),
        ("1x40HQ", "1x40HQ"),
        ("MOQ: 300", "MOQ: 300"),
        ("需要500个", "500 个"),
        ("1.000 cái", "1.000 cái"),
        ("200 ชิ้น", "200 ชิ้น"),
        ("300 unidades", "300 unidades"),
        ("2.000 Stück", "2.000 Stück"),
        ("150 pezzi", "150 pezzi"),
        ("100 шт", "100 шт"),
        ("٣٠٠٠ قطعة", "3000 قطعة"),
        ("500개", "500 개"),
        ("1500 szt", "1500 szt"),
        ("800 adet", "800 adet"),
        ("5000 metri", "5000 metri"),
    ],
)
def test_quantities_in_many_languages(text: str, qty: str) -> None:
    from bot.triage.tier import _norm

    assert find_quantity(_norm(text)) == qty


@pytest.mark.parametrize("text", ["We founded in 2015", "call me at 5", "LED panel 600x600", "GL-200W"])
def test_not_quantities(text: str) -> None:
    assert find_quantity(text) is None


def test_quantity_and_incoterms_and_price_is_a() -> None:
    email = make_email(
        new_text="Please quote 2,000 pcs GL-600 LED panel 40W, FOB Shenzhen, target price USD 3.5",
        from_addr="a@lichtwerk.de",
    )
    tier, reasons = grade(email)
    assert tier == Tier.A
    assert reasons[:3] == ["quantity: 2,000 pcs", "Incoterms: FOB Shenzhen", "target price: USD 3.5"]


@pytest.mark.parametrize(
    "text",
    [
        "Necesitamos 3.000 unidades de panel LED 60x60 40W, CIF Valencia.",
        "Wir benötigen 2.000 Stück, Zielpreis 7,50 EUR.",
        "Chúng tôi cần 1.000 cái đèn pha LED 100W IP65, báo giá CIF Hải Phòng.",
        "我们需要500个LED面板，600x600，40W，请报价。",
        "ต้องการโคมไฟ 200 ชิ้น 100W IP65 ราคา FOB",
        "نحتاج 3000 قطعة كشاف LED 200W IP66",
        "Kami membutuhkan 2.000 pcs lampu panel 40W, FOB Shenzhen.",
        "LED 투광등 150W IP65 500개 견적 부탁드립니다.",
        "prosimy o ofertę na 1500 szt. oprawy high bay 100W",
        "1x40HQ of LED strips, 24V, CIF Jebel Ali",
        "Нужно 1000 шт светильников 36W, 4000K",
        "Precisamos de 800 peças de luminária 36W IP65",
    ],
)
def test_precise_needs_in_many_languages_are_a(text: str) -> None:
    assert grade(make_email(new_text=text), profile=LED)[0] == Tier.A


def test_quantity_without_precision_is_b() -> None:
    tier, reasons = grade(
        make_email(new_text="We need about 500 pcs of panels, please send price.", from_addr="x@gmail.com")
    )
    assert tier == Tier.B
    assert "quantity: 500 pcs" in reasons


def test_distributor_asking_catalog_from_company_domain_is_b() -> None:
    email = make_email(
        new_text="We are a distributor in Mexico, please send your catalog and price list.",
        from_addr="compras@iluminacion.com.mx",
    )
    tier, reasons = grade(email)
    assert tier == Tier.B
    assert "context: distributor" in reasons
    assert "company domain: iluminacion.com.mx" in reasons


def test_purchasing_title_in_signature_is_reason() -> None:
    email = make_email(
        new_text="Please send your price list for floodlights.",
        from_addr="x@gmail.com",
        signature="John\nProcurement Manager\nACME Ltd",
    )
    tier, reasons = grade(email)
    assert tier == Tier.B
    assert "purchasing title: Procurement Manager" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "pls send catalog",
        "price list pls",
        "MOQ?",
        "Tolong kirim katalog dan harga ya",
        "請報價",
        "ราคาเท่าไหร่ครับ",
        "Hola, cuanto cuesta?",
    ],
)
def test_free_mail_one_liners_are_c(text: str) -> None:
    tier, reasons = grade(make_email(new_text=text, from_addr="someone@gmail.com", subject=""))
    assert tier == Tier.C
    assert "free-mail one-liner" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "Hi, just curious how much your panels cost.",
        "I'm a student doing a school project on LED lighting, price?",
        "Je suis étudiante et je prépare un mémoire sur les LED.",
        "Soy estudiante de la universidad, ¿precio?",
    ],
)
def test_information_only_is_c_even_from_long_text(text: str) -> None:
    assert grade(make_email(new_text=text, from_addr="x@company-example.com"))[0] == Tier.C


def test_company_domain_one_liner_is_b() -> None:
    assert grade(make_email(new_text="pls send catalog", from_addr="buyer@lichtwerk.de"))[0] == Tier.B


def test_empty_mail_grades_without_error() -> None:
    tier, reasons = grade(make_email(new_text="", text="", subject="", from_addr=""))
    assert tier == Tier.C
    assert reasons
