"""Embargoed countries and sanctioned regions named in the text."""

from __future__ import annotations

import pytest

from bot.trust.embargo import DEFAULT_EMBARGOED, embargo_reason


@pytest.mark.parametrize("country", ["CU", "IR", "KP", "SY", "ir"])
def test_default_embargoed_countries_are_flagged(country: str) -> None:
    reason = embargo_reason(country, "", DEFAULT_EMBARGOED)
    assert reason is not None and country.upper() in reason


@pytest.mark.parametrize(
    ("country", "text", "region"),
    [
        ("UA", "ул. Ленина 5, Симферополь", "Crimea"),
        ("RU", "Sevastopol, Nakhimova 3", "Crimea"),
        ("RU", "Республика Крым, г. Ялта", "Crimea"),
        (None, "Krym Trading, Kerch", "Crimea"),
        ("UA", "Donetsk, pr. Illicha 10", "Donetsk"),
        ("RU", "г. Луганск, ЛНР", "Luhansk"),
    ],
)
def test_sanctioned_regions_are_recognised_whatever_the_country(
    country: str | None, text: str, region: str
) -> None:
    reason = embargo_reason(country, text, DEFAULT_EMBARGOED)
    assert reason is not None and region in reason


@pytest.mark.parametrize(
    ("country", "text"),
    [
        ("DE", "Hafenstraße 12, Hamburg"),
        ("UA", "Kyiv, Khreshchatyk 1"),
        ("US", "Sebastopol, CA 95472"),
        (None, ""),
    ],
)
def test_other_places_are_fine(country: str | None, text: str) -> None:
    assert embargo_reason(country, text, DEFAULT_EMBARGOED) is None


def test_the_configured_list_replaces_the_default() -> None:
    assert embargo_reason("RU", "", frozenset({"RU", "BY"})) is not None
    assert embargo_reason("IR", "", frozenset({"RU"})) is None
