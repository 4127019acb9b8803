"""Place data from libraries (CLDR via Babel, pycountry, zoneinfo + tzdata) and the hand-kept
data files beside bot/triage/geo.py."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from bot.core.names import country_name, language_display_name, language_name
from bot.triage import geo
from bot.triage.markets import FREE_MAIL_DOMAINS, HEARD_FROM, SEA_COUNTRIES, market_for
from bot.triage.region import _name_pattern, decide_country


def test_country_names_in_english_and_native_from_cldr() -> None:
    names = geo.country_names()
    assert names["germany"] == names["deutschland"] == "DE"
    assert names["vietnam"] == names["viet nam"] == names["việt nam"] == "VN"
    assert names["schweiz"] == names["suisse"] == names["svizzera"] == "CH"  # each official language
    assert (
        names["ελλάδα"] == "GR" and names["大韩民国"] == "KR"
        if "大韩民国" in names
        else names["대한민국"] == "KR"
    )
    assert names["bolivia"] == "BO" and names["tanzania"] == "TZ"  # not in the old hand table
    assert names["uk"] == names["great britain"] == "GB"  # data/country_aliases.json
    assert "uk" in geo.caps_only_names() and "usa" in geo.caps_only_names()


@pytest.mark.parametrize(
    "word", ["jordan", "georgia", "chad", "jersey", "christmas", "reunion", "santiago", "canton"]
)
def test_ambiguous_place_names_never_count(word: str) -> None:
    assert word not in geo.country_names() and word not in geo.city_names()


def test_city_names_from_the_time_zones_exemplar_cities() -> None:
    cities = geo.city_names()
    assert cities["ho chi minh city"] == cities["ho chi minh"] == "VN"
    assert cities["kuala lumpur"] == "MY" and cities["jakarta"] == "ID" and cities["nairobi"] == "KE"
    assert cities["москва"] == "RU" and cities["上海"] == "CN"
    assert cities["hamburg"] == "DE" and cities["深圳"] == "CN"  # data/city_names.json: no zone of their own


def test_country_language_from_cldr_with_the_business_overrides() -> None:
    lang = geo.country_language()
    assert (lang["DE"], lang["VN"], lang["BR"], lang["CH"], lang["TW"]) == ("de", "vi", "pt", "de", "zh")
    assert (lang["BE"], lang["IN"], lang["KE"]) == ("fr", "en", "en")  # data/business_languages.json


def test_language_to_countries_from_cldr() -> None:
    single = geo.language_country()
    assert (single["vi"], single["de"], single["fa"], single["ms"]) == ("VN", "DE", "IR", "MY")
    assert "en" not in single and "es" not in single  # spoken in many countries: no single vote
    homes = geo.language_countries()
    assert homes["pt"][0] == "BR" and set(homes["pt"]) >= {"BR", "PT", "AO", "MZ"}
    assert homes["en"][0] == "US" and {"GB", "IN", "NG", "PH"} <= set(homes["en"])


def test_utc_offsets_from_the_iana_zones() -> None:
    offsets = geo.offset_countries(2026)
    assert "VN" in offsets[420] and "IN" in offsets[330] and "NP" in offsets[345]
    assert "GB" in offsets[0] and "GB" in offsets[60]  # winter and summer time
    assert {"US", "CA", "MX"} <= set(offsets[-360])


def test_date_offset_with_spanish_prefers_the_market_the_desk_hears_from() -> None:
    """Spanish at -0600: Mexico, not Easter Island (Chile); Arabic at +0400: the UAE."""
    assert decide_country([], "es", -360)[0] == "MX"
    assert decide_country([], "ar", 240)[0] == "AE"
    assert decide_country([], "zh", 480)[0] == "CN"


def test_hand_kept_files_are_well_formed() -> None:
    markets = json.loads(resources.files("bot.triage").joinpath("data/markets.json").read_text("utf-8"))
    every = set(geo.countries())
    for group in ("EU", "US", "SEA", "supplier_side", "heard_from"):
        assert set(markets[group]) <= every, group
    assert len(HEARD_FROM) == len(markets["heard_from"])  # no country listed twice
    assert market_for("VN").value == "SEA" and "VN" in SEA_COUNTRIES
    assert "gmail.com" in FREE_MAIL_DOMAINS and all(d == d.lower() and "." in d for d in FREE_MAIL_DOMAINS)
    aliases = json.loads(
        resources.files("bot.triage").joinpath("data/country_aliases.json").read_text("utf-8")
    )
    assert set(aliases["names"].values()) <= every


def test_trie_pattern_matches_like_the_sorted_alternation() -> None:
    pattern = _name_pattern(["new york", "york", "new", "newark", "u.s.a."])
    found = [m.group(0) for m in pattern.finditer("New York, Newark, yorkshire, U.S.A. and new")]
    assert found == ["New York", "Newark", "U.S.A.", "new"]


def test_display_names_are_cldr_common_names() -> None:
    assert country_name("VN") == "Vietnam" and country_name("TW") == "Taiwan"
    assert country_name("VN", "zh") == "越南" and country_name("TW", "zh") == "台湾"
    assert country_name("HK") == "Hong Kong" and country_name("HK", "zh") == "香港"
    assert country_name("MM") == "Myanmar" and country_name("MO", "zh") == "澳门"
    assert language_name("ms") == "Malay (ms)" and language_name("ms", "zh") == "马来语 (ms)"
    assert language_display_name("zh-tw") == "Chinese (Traditional)"
    assert language_display_name("tl") == "Filipino" and language_display_name("sv") == "Swedish"
    assert language_display_name("qq") is None and language_display_name("und") is None
