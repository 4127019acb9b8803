"""The triage engine: combination, hints, SLA, company, robustness and speed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Category, Lane, Market, Tier
from bot.triage import ThreadHints, TriageConfig, triage
from tests.factories import make_email
from tests.paths import SAMPLES

CONFIG = TriageConfig(own_domains=frozenset({"brightway-led.com"}))


def test_german_a_tier_inquiry_end_to_end() -> None:
    email = make_email(
        from_addr="s.braun@lichtwerk-gmbh.de",
        new_text="wir benötigen 2.000 Stück LED-Panel 62x62 cm, 36W. Bitte um Angebot FOB Shenzhen, "
        "Zielpreis 7,50 EUR/Stück.",
        signature="Stefan Braun\nEinkaufsleiter\nLichtwerk GmbH\nTel. +49 40 1234567",
    )
    t = triage(email, CONFIG)
    assert (t.is_inquiry, t.category, t.language, t.country, t.market, t.tier) == (
        True,
        Category.INQUIRY,
        "de",
        "DE",
        Market.EU,
        Tier.A,
    )
    assert t.sla_hours == 8.0
    assert t.company == "Lichtwerk GmbH"
    assert "quantity: 2.000 Stück" in t.reasons
    assert "phone +49" in t.reasons


def test_non_inquiry_has_no_tier_but_keeps_language() -> None:
    t = triage(
        make_email(
            subject="Automatic reply: quote",
            headers={"Auto-Submitted": "auto-replied"},
            new_text="Ich bin nicht im Büro.",
        ),
        CONFIG,
    )
    assert not t.is_inquiry
    assert t.tier is None
    assert t.category == Category.AUTO_REPLY


def test_sea_market_gets_its_sla() -> None:
    t = triage(make_email(from_addr="x@abc.com.vn", new_text="Vui lòng gửi báo giá đèn LED"), CONFIG)
    assert (t.market, t.sla_hours) == (Market.SEA, 4.0)


def test_configured_sla_and_market_override() -> None:
    config = TriageConfig(
        sla_hours={Market.EU: 8, Market.US: 2, Market.SEA: 4, Market.OTHER: 12},
        market_overrides={"MX": Market.US},
    )
    t = triage(
        make_email(from_addr="x@luz.com.mx", new_text="Hola, necesitamos cotización de reflectores LED."),
        config,
    )
    assert (t.country, t.market, t.sla_hours) == ("MX", Market.US, 2.0)


def test_thread_hints_decide_short_follow_ups() -> None:
    email = make_email(from_addr="x@gmail.com", new_text="ok", subject="", date_utc_offset_minutes=None)
    t = triage(email, CONFIG, ThreadHints(language="th", country="TH"))
    assert (t.language, t.country, t.market) == ("th", "TH", Market.SEA)


def test_malay_from_my_domain_without_marker_words() -> None:
    t = triage(make_email(from_addr="x@syarikat.com.my", new_text="Terima kasih. Harga lampu?"), CONFIG)
    assert (t.language, t.country) == ("ms", "MY")


def test_free_mail_gives_no_company_and_own_domain_is_not_a_company() -> None:
    assert triage(make_email(from_addr="a@gmail.com", new_text="pls send catalog"), CONFIG).company is None
    assert triage(make_email(from_addr="a@brightway-led.com"), CONFIG).company is None
    assert triage(make_email(from_addr="a@sales.acme-light.co.uk"), CONFIG).company == "acme-light.co.uk"


def test_samples_triage_as_named() -> None:
    from bot.intake.parse import parse_email

    expected = {
        "01": ("inquiry", "de", "EU", "A"),
        "02": ("inquiry", "vi", "SEA", "A"),
        "03": ("inquiry", "th", "SEA", "B"),
        "04": ("inquiry", "es", "OTHER", "B"),
        "05": ("inquiry", "en", "US", "A"),
        "06": ("inquiry", "id", "SEA", "C"),
        "07": ("inquiry", "ms", "SEA", "B"),
        "08": ("inquiry", "ar", "OTHER", "B"),
        "09": ("inquiry", "zh", "OTHER", "B"),
        "10": ("inquiry", "en", "US", "C"),
        "11": ("auto_reply", None, None, None),
        "12": ("newsletter", None, None, None),
        "13": ("bounce", None, None, None),
        "14": ("spam", None, None, None),
    }
    files = sorted(SAMPLES.glob("*.eml"))
    assert len(files) == len(expected)
    for path in files:
        t = triage(parse_email(path.read_bytes()), CONFIG)
        cat, lang, market, tier = expected[path.name[:2]]
        assert t.category.value == cat, path.name
        if lang:
            assert (t.language, t.market.value, t.tier.value if t.tier else None) == (lang, market, tier), (
                path.name
            )


_headers = st.dictionaries(
    st.sampled_from(["auto-submitted", "list-id", "precedence", "x-autoreply", "subject"]),
    st.text(max_size=20),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    new_text=st.text(max_size=300),
    subject=st.text(max_size=60),
    from_addr=st.one_of(st.just(""), st.emails(), st.text(max_size=30)),
    signature=st.text(max_size=120),
    offset=st.one_of(st.none(), st.integers(min_value=-900, max_value=900)),
    content_type=st.sampled_from(["", "text/plain", "multipart/report", "multipart/mixed"]),
    headers=_headers,
)
def test_triage_never_raises(
    new_text: str,
    subject: str,
    from_addr: str,
    signature: str,
    offset: int | None,
    content_type: str,
    headers: dict[str, str],
) -> None:
    email = make_email(
        new_text=new_text,
        subject=subject,
        from_addr=from_addr,
        signature=signature,
        date_utc_offset_minutes=offset,
        content_type=content_type,
        headers=headers,
    )
    t = triage(email, CONFIG)
    assert t.language
    # Graded whenever the filter kept it (review lane included); is_inquiry only in the inquiry lane.
    assert (t.tier is None) == (t.category is not Category.INQUIRY)
    assert t.is_inquiry == (t.lane is Lane.INQUIRY)
    assert t.sla_hours > 0
