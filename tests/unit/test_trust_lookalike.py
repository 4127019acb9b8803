"""Look-alike domains by edit, homoglyph, punycode and suffix; identical and unrelated domains pass."""

from __future__ import annotations

import pytest

from bot.trust.lookalike import decode_domain, lookalike_of, skeleton

OWN = {"brightway-led.com"}


@pytest.mark.parametrize(
    ("domain", "how"),
    [
        ("brightway-1ed.com", "edit"),
        ("brightwayled.com", "edit"),
        ("brigthway-led.com", "edit"),
        ("brightway-led.co", "tld"),
        ("brightway-led.net", "tld"),
        ("brightway-led.com.cn", "tld"),
        ("brightway-led.com.invoices.ru", "tld"),
        ("brightwаy-led.com", "homoglyph"),  # Cyrillic а
        ("xn--brightwy-led-39j.com", "homoglyph"),  # the same, as punycode
    ],
)
def test_imitations_of_our_domain_are_caught(domain: str, how: str) -> None:
    assert lookalike_of(domain, OWN) == ("brightway-led.com", how)


@pytest.mark.parametrize(
    "domain",
    [
        "brightway-led.com",
        "mail.brightway-led.com",
        "lichtwerk-gmbh.de",
        "brightways.com",
        "gmail.com",
        "led.com",
    ],
)
def test_identical_subdomain_and_unrelated_domains_are_not_lookalikes(domain: str) -> None:
    assert lookalike_of(domain, OWN) is None


def test_known_buyer_domains_are_protected_too() -> None:
    assert lookalike_of("lichtwerk-gmbh.com", {"lichtwerk-gmbh.de"}) == ("lichtwerk-gmbh.de", "tld")
    assert lookalike_of("llchtwerk-gmbh.de", {"lichtwerk-gmbh.de"}) == ("lichtwerk-gmbh.de", "edit")


def test_free_mail_and_short_labels_are_not_compared_by_edit() -> None:
    assert lookalike_of("gmai1.com", {"gmail.com"}) is None
    assert lookalike_of("yahoo.co.uk", {"yahoo.com"}) is None
    assert lookalike_of("abd.com", {"abc.com"}) is None
    assert lookalike_of("аbc.com", {"abc.com"}) == ("abc.com", "homoglyph")  # Cyrillic а, any length


def test_punycode_decodes_and_skeleton_maps_confusables() -> None:
    assert decode_domain("XN--BRIGHTWY-LED-39J.COM") == "brightwаy-led.com"
    assert skeleton("brіghtwаy") == "brightway"  # Ukrainian і, Cyrillic а
    assert decode_domain("xn--invalid-.com") == "xn--invalid-.com"
