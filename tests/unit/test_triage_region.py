"""Country and market: ccTLD, phones, signature names, language and Date offset."""

from __future__ import annotations

import pytest

from bot.core.models import Market
from bot.triage.markets import market_for
from bot.triage.region import cctld_country, detect_country, registrable_domain
from tests.factories import make_email


@pytest.mark.parametrize(
    ("addr", "country"),
    [
        ("a@lichtwerk.de", "DE"),
        ("a@shop.co.uk", "GB"),
        ("a@dienquang.com.vn", "VN"),
        ("a@x.com.my", "MY"),
        ("a@x.co.th", "TH"),
        ("a@example.com", None),
        ("a@startup.io", None),
        ("a@gmail.com", None),
        ("a@mail.ru", None),
        ("a@yahoo.co.jp", None),
        ("a@web.de", None),
        ("", None),
    ],
)
def test_cctld_country(addr: str, country: str | None) -> None:
    assert cctld_country(addr) == country


def test_registrable_domain_keeps_second_level_labels() -> None:
    assert registrable_domain("mail.lichtwerk.co.uk") == "lichtwerk.co.uk"
    assert registrable_domain("sales.acme.de") == "acme.de"


@pytest.mark.parametrize(
    ("country", "market"),
    [
        ("DE", Market.EU),
        ("GB", Market.EU),
        ("NO", Market.EU),
        ("CH", Market.EU),
        ("US", Market.US),
        ("CA", Market.US),
        ("VN", Market.SEA),
        ("TL", Market.SEA),
        ("SG", Market.SEA),
        ("MX", Market.OTHER),
        ("AE", Market.OTHER),
        (None, Market.OTHER),
    ],
)
def test_market_table(country: str | None, market: Market) -> None:
    assert market_for(country) == market


def test_market_overrides_win() -> None:
    assert market_for("MX", {"MX": Market.US}) == Market.US


def test_ccTLD_and_phone_agree() -> None:
    email = make_email(from_addr="s@lichtwerk.de", signature="Stefan\nTel. +49 40 1234567")
    country, reasons = detect_country(email, "de")
    assert country == "DE"
    assert "ccTLD .de" in reasons
    assert "phone +49" in reasons


def test_phone_with_00_prefix_counts() -> None:
    email = make_email(from_addr="x@gmail.com", signature="Ahmed\nMob: 00971 50 123 4567")
    assert detect_country(email, "en")[0] == "AE"


def test_freemail_with_signature_city() -> None:
    email = make_email(from_addr="x@gmail.com", signature="Kelvin Tan\nKuala Lumpur, Malaysia")
    country, reasons = detect_country(email, "en")
    assert country == "MY"
    assert any("Malaysia" in r for r in reasons)


@pytest.mark.parametrize(
    ("sig", "country"),
    [
        ("Hà Nội, Việt Nam", "VN"),
        ("กรุงเทพ ประเทศไทย", "TH"),
        ("Warszawa, Polska", "PL"),
        ("İstanbul, Türkiye", "TR"),
        ("Dubai, UAE", "AE"),
        ("Riyadh, Saudi Arabia", "SA"),
        ("Monterrey, México", "MX"),
        ("São Paulo - Brasil", "BR"),
        ("Toronto, Canada", "CA"),
        ("Madrid, España", "ES"),
        ("Berlin, Deutschland", "DE"),
    ],
)
def test_signature_country_and_city_names(sig: str, country: str) -> None:
    email = make_email(from_addr="x@outlook.com", signature="Name\n" + sig)
    assert detect_country(email, None)[0] == country


def test_china_in_body_is_supplier_side_not_buyer() -> None:
    email = make_email(
        from_addr="x@gmail.com",
        new_text="We look for a supplier in China, FOB Shenzhen please.",
        date_utc_offset_minutes=None,
    )
    assert detect_country(email, "en")[0] is None


def test_language_is_a_weak_signal() -> None:
    email = make_email(
        from_addr="x@gmail.com", new_text="Xin chào, vui lòng gửi báo giá", date_utc_offset_minutes=None
    )
    country, reasons = detect_country(email, "vi")
    assert country == "VN"
    assert reasons == ["language vi"]


def test_ccTLD_outweighs_language() -> None:
    email = make_email(from_addr="x@lumiere.ch", new_text="Bonjour", date_utc_offset_minutes=60)
    assert detect_country(email, "de")[0] == "CH"


def test_date_offset_is_last_resort_with_language() -> None:
    email = make_email(from_addr="x@gmail.com", new_text="Hola", date_utc_offset_minutes=-360)
    country, reasons = detect_country(email, "es")
    assert country == "MX"
    assert any("weak" in r for r in reasons)


def test_ambiguous_offset_and_english_gives_no_country() -> None:
    email = make_email(from_addr="x@gmail.com", new_text="pls send catalog", date_utc_offset_minutes=480)
    assert detect_country(email, "en") == (None, [])


def test_nothing_known_gives_none() -> None:
    email = make_email(from_addr="x@gmail.com", new_text="hi", date_utc_offset_minutes=None)
    assert detect_country(email, None) == (None, [])


@pytest.mark.parametrize(
    ("host", "registered"),
    [
        ("mail.acme.gen.tr", "acme.gen.tr"),
        ("x.acme.ltd.uk", "acme.ltd.uk"),
        ("m.acme.ind.br", "acme.ind.br"),
        ("acme.blogspot.com", "acme.blogspot.com"),
        ("mail.lichtwerk.co.uk", "lichtwerk.co.uk"),
        ("sales.acme.de", "acme.de"),
        ("203.0.113.9", "203.0.113.9"),
    ],
)
def test_registrable_domain_follows_the_public_suffix_list(host: str, registered: str) -> None:
    """Unrelated senders under one public suffix (gen.tr, ltd.uk, ind.br, blogspot.com) are not
    one company to the look-alike, reply-to and reputation checks."""
    from bot.triage.region import registrable_domain

    assert registrable_domain(host) == registered
