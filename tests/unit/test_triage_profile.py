"""The team's products from its profile, and tier signals that hold for any trade (and hostile input)."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from bot.core.models import Tier
from bot.drafting.prompts import BUNDLED_PROMPTS_DIR
from bot.triage import TriageConfig, is_buyer_request, triage
from bot.triage.filter import classify
from bot.triage.profile import (
    EMPTY_PROFILE,
    ProfileError,
    derive_keywords,
    load_profile,
    profile_from_data,
)
from bot.triage.tier import find_quantity, grade
from tests.factories import make_email
from tests.paths import FIXTURES

LED = load_profile(BUNDLED_PROMPTS_DIR)
INDUSTRIES = FIXTURES / "industries"


def _profile(lines: list[str], **products: object) -> object:
    return profile_from_data({"products": {"lines": lines, **products}})


def test_keywords_are_derived_from_the_product_lines() -> None:
    assert derive_keywords(["LED panel lights", "Other products and accessories"]) == (
        "LED",
        "panel",
        "lights",
        "accessories",
    )
    profile = profile_from_data({"products": {"lines": ["Dining chairs", "Kraft paper bags"]}})
    assert profile.product_in("Quote for 300 dining chair") == "dining"
    assert profile.product_in("two CHAIRS please") == "CHAIRS"
    assert profile.product_in("paper bag with handles") == "paper"
    assert profile.product_in("a chairman wrote") is None  # whole words (a short ending allowed)
    assert profile.product_in("nothing of ours") is None


def test_acronyms_match_in_capitals_only_and_cjk_terms_as_substrings() -> None:
    assert LED.product_in("Quote 500 LED-Panels 60x60") == "LED"
    assert LED.product_in("I was led to your site") is None
    assert LED.product_in("请发LED面板灯报价") == "LED"
    assert LED.product_in("需要投光灯") == "灯"


def test_spec_patterns_from_the_profile_are_named() -> None:
    assert LED.spec_in("4000K, CRI>80") == ("CCT", "4000K")
    assert "wattage 200W" in LED.specs_in("600 x 200W floodlights")
    assert profile_from_data({"products": {"spec_patterns": [r"\d{2,3}\s?gsm"]}}).spec_in("180 gsm") == (
        "spec",
        "180 gsm",
    )


@pytest.mark.parametrize(
    ("patterns", "named"),
    [({"GSM": r"\d{2,3}\s?(gsm"}, "GSM"), ([r"[a-z"], "spec"), ({"anything": r"\d*"}, "anything")],
)
def test_a_bad_spec_regex_stops_the_load_naming_it(patterns: object, named: str) -> None:
    with pytest.raises(ProfileError) as err:
        profile_from_data({"products": {"lines": ["x"], "spec_patterns": patterns}}, "company_profile.toml")
    assert named in str(err.value)
    assert "spec_patterns" in str(err.value)


def test_bad_profile_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the company profile"):
        load_profile(tmp_path / "missing")
    (tmp_path / "company_profile.toml").write_text("[products]\nlines = 'chairs'\nkeywords = [1]\n", "utf-8")
    with pytest.raises(ProfileError, match=r"\[products\].keywords must be a list of strings"):
        load_profile(tmp_path)
    (tmp_path / "company_profile.toml").write_text("[products\n", "utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(tmp_path)


def test_profile_without_products_is_empty_and_travels_to_worker_processes(tmp_path: Path) -> None:
    (tmp_path / "company_profile.toml").write_text('[company]\nname = "X"\n', "utf-8")
    assert load_profile(tmp_path).empty
    assert TriageConfig().profile is EMPTY_PROFILE
    copy = pickle.loads(pickle.dumps(LED))
    assert copy == LED and copy.product_in("LED panels") == "LED"


@pytest.mark.parametrize(
    ("text", "qty"),
    [
        ("600 x 200W floodlights", "600 x"),
        ("1.500 pezzi", "1.500 pezzi"),
        ("需要5万个", "5万 个"),
        ("2,000 units", "2,000 units"),
        ("3 x 40HQ", "3 x 40HQ"),
        ("500 x LED panels", "500 x"),
        ("2000 kpl. klocków", "2000 kpl"),
        ("50.000 thùng carton", "50.000 thùng"),
        ("120 pairs of safety shoes", "120 pairs"),
    ],
)
def test_quantities_in_every_number_format_need_no_profile(text: str, qty: str) -> None:
    assert find_quantity(text) == qty


@pytest.mark.parametrize(
    "text", ["120x60x75 cm", "600 x 600 mm", "in 2024 we opened", "within 30 days", "GL-200W"]
)
def test_sizes_years_and_durations_are_not_quantities(text: str) -> None:
    assert find_quantity(text) is None


def test_a_count_of_the_teams_product_is_a_quantity() -> None:
    furniture = load_profile(INDUSTRIES / "furniture" / "prompts")
    assert find_quantity("for the hotel: 300 dining chairs in oak", furniture) == "300 dining"
    assert find_quantity("for the hotel: 300 dining chairs in oak") is None  # not our product
    assert find_quantity("we need 300 dining chairs in oak") == "300 dining"  # a need says it is
    assert find_quantity("we are looking for 5 distributors") is None
    assert find_quantity("since 2015 chairs are our business", furniture) is None
    assert find_quantity("for 12 years chairs", furniture) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("We need 600 x 200W floodlights, budget GBP 32,000 in total.", "budget: GBP 32,000"),
        ("Need 2,000 units, budget of EUR 12k for the lot.", "budget: EUR 12k"),
        ("需要5万个，目标价 5元/个", "target price: 5元/个"),
        ("Precisamos de 3.000 unidades, preço alvo R$ 45 por unidade", "target price: R$ 45 por unidade"),
        ("1.500 pezzi, consegna entro fine marzo", "delivery: consegna entro"),
        ("3 x 40HQ, FOB Qingdao please", "Incoterms: FOB Qingdao"),
        ("Please quote 800 pcs, OEM 04465-33450", "spec: part number OEM 04465-33450"),
        ("300 sets, 120x60x75 cm, solid oak", "spec: size 120x60x75 cm, material solid oak"),
        ("5,000 pcs, SS304, 1.2 mm", "measure 1.2 mm, grade SS304"),
        ("2 units, delivery by 15 March", "delivery: delivery by 15"),
    ],
)
def test_generic_a_tier_signals_hold_for_any_trade(text: str, reason: str) -> None:
    tier, reasons = grade(make_email(new_text=text, from_addr="buyer@example-trading.com"))
    assert tier == Tier.A, reasons
    assert any(reason in r for r in reasons), reasons


def test_led_specs_come_from_the_led_profile_not_from_code() -> None:
    email = make_email(new_text="We need 1000 pcs floodlights 200W IP66", from_addr="x@gmail.com")
    assert grade(email)[0] == Tier.B  # no profile: a wattage is not a spec of ours
    tier, reasons = grade(email, profile=LED)
    assert tier == Tier.A and "spec: wattage 200W, IP rating IP66" in reasons


def test_another_trade_is_still_a_buyer_request_on_the_led_desk() -> None:
    assert is_buyer_request("Please send a quote for 300 dining chairs", LED)
    assert is_buyer_request("Bitte um ein Angebot für 500 Bürostühle", LED)
    assert is_buyer_request("Cotización de 2 tornos CNC por favor", LED)
    assert not is_buyer_request("Please send the price list of your products", LED)  # vague
    assert not is_buyer_request("Send us your catalogue and prices", LED)
    assert not is_buyer_request("Our SEO price: 50 keywords in 30 days", LED)


def test_a_furniture_buyer_is_an_inquiry_for_the_led_team() -> None:
    for path in sorted((INDUSTRIES / "furniture").glob("*.eml")):
        from bot.intake.parse import parse_email

        email = parse_email(path.read_bytes())
        assert classify(email, frozenset({"brightway-led.com"}), LED)[0].value == "inquiry", path.name
        assert triage(email, TriageConfig(profile=LED)).is_inquiry, path.name


@pytest.mark.parametrize(
    "text",
    [
        "1" * 10_000,
        "a" * 200_000,
        "7" * 200_000,
        "A-" * 100_000,
        "1," * 100_000,
        "1 " * 100_000,
        "12 x " * 40_000,
        "5万" * 100_000,
        "USD 1," * 40_000,
        "part no " * 30_000,
    ],
    ids=[
        "10k digits",
        "200k word",
        "200k digits",
        "hyphens",
        "commas",
        "spaced",
        "times",
        "wan",
        "usd",
        "part",
    ],
)
def test_hostile_text_grades_in_linear_time(text: str) -> None:
    email = make_email(new_text=text, subject=text[:2000], signature=text[:5000], from_addr="x@example.com")
    start = time.perf_counter()
    grade(email, profile=LED)
    is_buyer_request(text, LED)
    assert time.perf_counter() - start < 0.5


def test_triage_fields_are_not_sent_to_the_drafter() -> None:
    """Regexes and search words are no facts: the drafter's profile text (also the allow-list of
    prices and lead times in drafts) leaves them out, and stays valid TOML."""
    import tomllib

    from bot.drafting.prompts import PromptLibrary
    from bot.triage.profile import without_triage_fields

    text = PromptLibrary.load(BUNDLED_PROMPTS_DIR).profile.source_text
    assert "spec_patterns" not in text and "keywords" not in text and "lm/W" not in text
    data = tomllib.loads(text.replace("${rep_name}", "x"))
    assert data["products"]["lines"] == list(LED.lines) and data["terms"]
    inline = (
        'a = 1\n[products]\nlines = ["Sofas"]\nkeywords = ["x"]\nspec_patterns = { s = "\\\\d+ cm" }\n'
        'moq = "5"\n'
    )
    assert tomllib.loads(without_triage_fields(inline)) == {
        "a": 1,
        "products": {"lines": ["Sofas"], "moq": "5"},
    }
    multi = '[products]\nkeywords = [\n  "a]",\n  "b",\n]\nmoq = "5"\n[terms]\nkeywords = "kept"\n'
    assert tomllib.loads(without_triage_fields(multi)) == {
        "products": {"moq": "5"},
        "terms": {"keywords": "kept"},
    }


@pytest.mark.parametrize(
    ("trade", "text"),
    [
        (
            "",
            "Avremmo bisogno di 200 sedie in faggio, prezzo target 25 EUR cad., consegna entro aprile.",
        ),
        ("", "Нам нужно 2000 шт тормозных колодок для Toyota Camry, OE 04465-33450, цена CIF Новороссийск."),
        ("", "We need 20k custom printed mailer boxes, 30x20x10 cm, 2 colours, delivered by March 15."),
        ("", "Kami butuh 5.000 potong kaos katun combed, harga Rp 35.000 per potong."),
        (
            "machinery",
            "We require one unit of CNC machining center, BT40 spindle, Fanuc control, CIF Chennai.",
        ),
    ],
)
def test_needs_of_products_no_rule_names_are_precise(trade: str, text: str) -> None:
    """A need with a count ("avremmo bisogno di 200 sedie") is a quantity whatever the product."""
    profile = load_profile(INDUSTRIES / trade / "prompts") if trade else EMPTY_PROFILE
    tier, reasons = grade(make_email(new_text=text, from_addr="buyer@example-trading.com"), profile=profile)
    assert tier == Tier.A, reasons
