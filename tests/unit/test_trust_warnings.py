"""compute_warnings end to end: raw emails built for each warning code, the same number of clean
emails that must raise nothing, and the third-party corpus plus the demo samples with
OWN_DOMAINS set to the demo company."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.models import Category, Market, ParsedEmail, Tier, Triage
from bot.intake.parse import parse_email
from bot.triage import TriageConfig
from bot.triage.engine import triage
from bot.trust.authresults import authentication_results
from bot.trust.payment import extract_bank_ids
from bot.trust.screening import Screener, load_list
from bot.trust.warnings import TrustContext, compute_warnings
from tests.corpora import corpus_files
from tests.factories import raw_mail
from tests.paths import FIXTURES, SAMPLES

OWN = frozenset({"brightway-led.com"})
LISTS = FIXTURES / "trust"
OUR_MX = "mx.brightway-led.com"
KNOWN_IBAN = "DE89 3704 0044 0532 0130 00"
OTHER_IBAN = "GB82 WEST 1234 5698 7654 32"


def screener() -> Screener:
    files = ("opensanctions/targets.simple.csv", "ofac/sdn.csv", "csl/consolidated.csv")
    return Screener([load_list(LISTS / f) for f in files])


SCREENER = screener()


def raw_email(
    body: str,
    from_: str = "Stefan Braun <s.braun@lichtwerk-gmbh.de>",
    subject: str = "Inquiry: LED panels",
    reply_to: str | None = None,
    auth: tuple[str, ...] = (f"{OUR_MX}; spf=pass smtp.mailfrom=lichtwerk-gmbh.de; dkim=pass; dmarc=pass",),
) -> bytes:
    return raw_mail(
        body,
        subject=subject,
        from_=from_,
        message_id="<t1@test>",
        date="Wed, 18 Nov 2026 13:07:00 +0100",
        reply_to=reply_to,
        headers=[("Authentication-Results", a) for a in auth],
    )


def verdict(country: str | None = "DE", company: str | None = None) -> Triage:
    return Triage(True, Category.INQUIRY, "inquiry", "en", country, Market.EU, Tier.B, 24.0, (), company)


def warn(
    raw: bytes,
    country: str | None = "DE",
    company: str | None = None,
    known_bank_ids: frozenset[str] = frozenset(),
    authserv_id: str | None = None,
) -> list[str]:
    ctx = TrustContext(
        own_domains=OWN,
        known_domains=frozenset({"lichtwerk-gmbh.de"}),
        authserv_id=authserv_id,
        known_bank_ids=known_bank_ids,
        screener=SCREENER,
    )
    email = parse_email(raw)
    return [
        w.code for w in compute_warnings(email, verdict(country, company), ctx, authentication_results(raw))
    ]


PLAIN = "Dear Sir,\nplease quote 2,000 LED panels 60x60, 36 W, FOB Shenzhen.\nBest regards\nStefan Braun"

# (what it shows, raw email, keyword arguments for warn, expected codes)
FLAGGED: list[tuple[str, bytes, dict[str, Any], list[str]]] = [
    (
        "top dmarc=fail with a forged lower pass",
        raw_email(
            PLAIN, auth=(f"{OUR_MX}; spf=fail smtp.mailfrom=x.ru; dkim=none; dmarc=fail", "x; dmarc=pass")
        ),
        {},
        ["dmarc_fail"],
    ),
    (
        "AUTHSERV_ID names the real (lower) header, which says SPF and DKIM failed",
        raw_email(
            PLAIN, auth=("fake.example; dmarc=pass", f"{OUR_MX}; spf=softfail smtp.mailfrom=x.ru; dkim=fail")
        ),
        {"authserv_id": OUR_MX},
        ["dmarc_fail"],
    ),
    ("edited domain", raw_email(PLAIN, from_="Anna <anna@brightway-1ed.com>"), {}, ["lookalike_domain"]),
    ("Cyrillic homoglyph", raw_email(PLAIN, from_="Anna <anna@brightwаy-led.com>"), {}, ["lookalike_domain"]),
    ("punycode", raw_email(PLAIN, from_="anna@xn--brightwy-led-39j.com"), {}, ["lookalike_domain"]),
    ("changed TLD", raw_email(PLAIN, from_="anna@brightway-led.com.cn"), {}, ["lookalike_domain"]),
    (
        "known buyer's domain, new TLD",
        raw_email(PLAIN, from_="s.braun@lichtwerk-gmbh.com"),
        {},
        ["lookalike_domain"],
    ),
    (
        "free-mail Reply-To on a company From",
        raw_email(PLAIN, reply_to="lichtwerk.einkauf@gmail.com"),
        {},
        ["reply_to_mismatch"],
    ),
    (
        "en payment change",
        raw_email("Please note our new bank account details below for the deposit."),
        {},
        ["payment_change"],
    ),
    ("zh payment change", raw_email("您好，请汇款到新账户，旧账户已停用。"), {}, ["payment_change"]),
    (
        "de payment change",
        raw_email("Bitte überweisen Sie auf unsere neue Bankverbindung."),
        {},
        ["payment_change"],
    ),
    (
        "es payment change",
        raw_email("Favor de pagar a nuestra nueva cuenta bancaria."),
        {},
        ["payment_change"],
    ),
    (
        "ru payment change",
        raw_email("Просим оплатить по новым банковским реквизитам."),
        {},
        ["payment_change"],
    ),
    (
        "known buyer whose IBAN changes",
        raw_email(f"Invoice attached. Please pay to IBAN {OTHER_IBAN}."),
        {"known_bank_ids": extract_bank_ids(f"IBAN {KNOWN_IBAN}")},
        ["payment_change"],
    ),
    ("embargoed country", raw_email(PLAIN), {"country": "IR"}, ["embargoed_country"]),
    (
        "Crimea in the signature",
        raw_email(PLAIN + "\nул. Ленина 5, Симферополь"),
        {"country": "UA"},
        ["embargoed_country"],
    ),
    (
        "listed person",
        raw_email(PLAIN, from_="Ivan Petrov <ivan@optic-trade.example>"),
        {"country": "DE"},
        ["sanctions_possible_match"],
    ),
    (
        "listed company",
        raw_email(PLAIN),
        {"company": "Pars Negar Industries Co."},
        ["sanctions_possible_match"],
    ),
]

CLEAN: list[tuple[str, bytes, dict[str, Any]]] = [
    ("plain inquiry with passing auth", raw_email(PLAIN), {}),
    ("no Authentication-Results at all", raw_email(PLAIN, auth=()), {}),
    (
        "forged top fail ignored by AUTHSERV_ID",
        raw_email(PLAIN, auth=("x; dmarc=fail", f"{OUR_MX}; dmarc=pass")),
        {"authserv_id": OUR_MX},
    ),
    (
        "SPF fails but DKIM passes",
        raw_email(PLAIN, auth=(f"{OUR_MX}; spf=fail smtp.mailfrom=a.de; dkim=pass",)),
        {},
    ),
    ("the known buyer itself", raw_email(PLAIN, from_="s.braun@lichtwerk-gmbh.de"), {}),
    ("a colleague on our own domain", raw_email(PLAIN, from_="lena@brightway-led.com"), {}),
    ("a subdomain of the buyer", raw_email(PLAIN, from_="s.braun@mail.lichtwerk-gmbh.de"), {}),
    ("Reply-To on the same company", raw_email(PLAIN, reply_to="einkauf@lichtwerk-gmbh.de"), {}),
    ("Reply-To pointing at us", raw_email(PLAIN, reply_to="sales@brightway-led.com"), {}),
    (
        "free mail From with unrelated name",
        raw_email(PLAIN, from_="Minh Tran <minh.tran@gmail.com>"),
        {"country": "VN"},
    ),
    ("payment terms negotiation", raw_email("Can we change the payment terms to 30/70? T/T is fine."), {}),
    (
        "disclaimer about bank details",
        raw_email(PLAIN + "\nWe will never change our bank details by email."),
        {},
    ),
    (
        "known IBAN unchanged",
        raw_email(f"Deposit paid from IBAN {KNOWN_IBAN}, please confirm."),
        {"known_bank_ids": extract_bank_ids(f"IBAN {KNOWN_IBAN}")},
    ),
    ("Ukrainian buyer in Kyiv", raw_email(PLAIN + "\nKyiv, Khreshchatyk 1"), {"country": "UA"}),
    ("Sebastopol, California", raw_email(PLAIN + "\nSebastopol, CA 95472"), {"country": "US"}),
    ("common first name only", raw_email(PLAIN, from_="Ali <ali@lumina-trading.ae>"), {"country": "AE"}),
    ("generic trading company", raw_email(PLAIN), {"company": "Global Trading LLC"}),
    (
        "unlisted Chinese company",
        raw_email("您好，请报价。"),
        {"company": "深圳市光明照明有限公司", "country": "CN"},
    ),
]


def test_as_many_clean_emails_as_flagged_ones() -> None:
    assert len(CLEAN) == len(FLAGGED)


@pytest.mark.parametrize(("what", "raw", "kwargs", "expected"), FLAGGED, ids=[f[0] for f in FLAGGED])
def test_each_warning_code_is_raised_by_the_email_built_for_it(
    what: str, raw: bytes, kwargs: dict[str, Any], expected: list[str]
) -> None:
    assert warn(raw, **kwargs) == expected, what


@pytest.mark.parametrize(("what", "raw", "kwargs"), CLEAN, ids=[c[0] for c in CLEAN])
def test_clean_emails_raise_nothing(what: str, raw: bytes, kwargs: dict[str, Any]) -> None:
    assert warn(raw, **kwargs) == [], what


def test_warning_details_name_what_was_found() -> None:
    raw = raw_email(PLAIN, from_="Ivan Petrov <anna@brightway-1ed.com>", reply_to="x@gmail.com")
    ctx = TrustContext(own_domains=OWN, screener=SCREENER)
    found = {w.code: w.detail for w in compute_warnings(parse_email(raw), verdict(), ctx)}
    assert (
        "brightway-led.com" in found["lookalike_domain"] and "brightway-1ed.com" in found["lookalike_domain"]
    )
    assert "gmail.com" in found["reply_to_mismatch"] and "free mail" in found["reply_to_mismatch"]
    sanction = found["sanctions_possible_match"]
    assert "Ivan Sergeyevich Petrov" in sanction and "OpenSanctions" in sanction and "score 100" in sanction


# --- corpus -------------------------------------------------------------------------------------


def corpus_and_samples() -> list[Path]:
    files = corpus_files()
    return files + sorted(SAMPLES.glob("*.eml"))


# Files that really ask to pay into changed bank details (inspected by hand): none of the corpus
# or the demo samples do. The Western Union scam in mikel-mail/error_emails/empty_group_lists.eml
# asks for the reader's own details, not a payment to a new account.
PAYMENT_CHANGE_FILES: frozenset[str] = frozenset()


def test_corpus_and_samples_raise_no_lookalike_or_sanctions_and_payment_change_only_where_asked() -> None:
    files = corpus_and_samples()
    assert len(files) > 400
    ctx = TrustContext(own_domains=OWN, screener=SCREENER)
    config = TriageConfig(own_domains=OWN)
    payment: set[str] = set()
    for path in files:
        raw = path.read_bytes()
        email: ParsedEmail = parse_email(raw)
        codes = [
            w.code for w in compute_warnings(email, triage(email, config), ctx, authentication_results(raw))
        ]
        assert "lookalike_domain" not in codes, path
        assert "sanctions_possible_match" not in codes, path
        if "payment_change" in codes:
            payment.add(path.name)
    assert payment == PAYMENT_CHANGE_FILES
