"""Real inbound junk stays off the inquiry lane; every buyer-impersonating lure carries a warning.

``shared/corpora/inbound`` holds 157 real non-inquiries (fake RFQs and POs, phishing, cold
pitches, newsletters...) that real senders mailed; none was written for this project. The rates
below are the issue's targets (#12), measured with the default configuration (no mailbox address,
no provider): the signals must hold without help from config.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

from bot.core.models import Lane
from bot.intake.parse import parse_email
from bot.triage import TriageConfig, triage
from bot.trust import authentication_results
from bot.trust.warnings import TrustContext, compute_warnings
from tests.corpora import require_corpus
from tests.paths import FIXTURES, SAMPLES

LABELLED = FIXTURES / "labelled"


def _verdicts() -> list[tuple[str, Lane, bool]]:
    base = require_corpus("inbound")
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    out = []
    with (base / "labels.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            raw = (base / row["file"]).read_bytes()
            email = parse_email(raw)
            verdict = triage(email, config)
            trust = compute_warnings(
                email, verdict, TrustContext(own_domains=config.own_domains), authentication_results(raw)
            )
            out.append((row["category"], verdict.lane, bool(verdict.warnings or trust)))
    return out


def test_inbound_junk_stays_off_the_inquiry_lane() -> None:
    verdicts = _verdicts()
    assert len(verdicts) >= 150
    inquiry = sum(lane is Lane.INQUIRY for _, lane, _ in verdicts)
    assert inquiry / len(verdicts) <= 0.10, f"{inquiry} of {len(verdicts)} inbound non-inquiries became cards"
    lanes = Counter(lane for _, lane, _ in verdicts)
    assert lanes[Lane.REVIEW] > 0 and lanes[Lane.FILTERED] > 0


def test_buyer_impersonating_lures_are_held_and_warned() -> None:
    lures = [(lane, warned) for category, lane, warned in _verdicts() if category == "rfq_phishing"]
    assert len(lures) >= 20
    in_inquiry = sum(lane is Lane.INQUIRY for lane, _ in lures)
    warned = sum(w for _, w in lures)
    assert in_inquiry / len(lures) <= 0.05, f"{in_inquiry} of {len(lures)} lures in the inquiry lane"
    assert warned / len(lures) >= 0.95, f"only {warned} of {len(lures)} lures carry a warning"


def test_every_labelled_buyer_stays_in_the_inquiry_lane() -> None:
    labels = json.loads((LABELLED / "labels.json").read_text("utf-8"))
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    files = [(LABELLED / name, bool(want["is_inquiry"])) for name, want in labels.items()]
    assert sum(want for _, want in files) >= 35
    held = []
    for path, is_buyer in files:
        verdict = triage(parse_email(path.read_bytes()), config)
        if is_buyer and verdict.lane is not Lane.INQUIRY:
            held.append(f"{path.name}: {verdict.lane} {verdict.risk}")
        if not is_buyer:
            assert verdict.lane is not Lane.INQUIRY, path.name
    assert not held, "\n".join(held)


def test_bundled_sample_buyers_stay_in_the_inquiry_lane() -> None:
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    buyers = [p for p in sorted(SAMPLES.glob("*.eml")) if int(p.name[:2]) <= 10]
    assert len(buyers) == 10
    for path in buyers:
        verdict = triage(parse_email(path.read_bytes()), config)
        assert verdict.lane is Lane.INQUIRY, (path.name, verdict.risk)


def test_lures_and_pitches_written_after_the_rules_are_held() -> None:
    """14 lures and pitches of kinds the corpus has few of (a DHL notice with a web-page form, a
    PDF.exe proforma, a WeTransfer "order specification", a password-protected PO, a lead list, a
    trade show, a bank change with Reply-To on free mail, a shared "Purchase Order.pdf"), written
    after the signals to check that they hold for the kind of mail, not for the corpus files.
    None may take the inquiry lane and every one carries ``lure_suspected``."""
    folder = FIXTURES / "lures_written"
    names = json.loads((folder / "labels.json").read_text("utf-8"))
    assert len(names) >= 14
    config = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
    for name in names:
        verdict = triage(parse_email((folder / name).read_bytes()), config)
        assert verdict.lane is not Lane.INQUIRY, (name, verdict.risk)
        assert verdict.category.value != "inquiry" or "lure_suspected" in {
            w.code for w in verdict.warnings
        }, name


def test_buyers_written_after_the_rules_keep_the_inquiry_lane() -> None:
    """Eight buyers written after the signals, in languages and habits the tuning sets lack
    (Japanese, Korean, Russian, an Indian buyer on Gmail, an Egyptian buyer whose Reply-To is
    his Gmail, an urgent Brazilian spreadsheet, a Nigerian WhatsApp-style note, a Polish "RE:"
    after a phone call): with and without the team's profile, all keep the inquiry lane."""
    from bot.drafting.prompts import PROMPTS_DIR
    from bot.triage.profile import load_profile

    folder = FIXTURES / "buyers_written"
    names = json.loads((folder / "labels.json").read_text("utf-8"))
    assert len(names) >= 8
    for config in (
        TriageConfig(own_domains=frozenset({"brightway-led.com"})),
        TriageConfig(own_domains=frozenset({"brightway-led.com"}), profile=load_profile(PROMPTS_DIR)),
    ):
        for name in names:
            verdict = triage(parse_email((folder / name).read_bytes()), config)
            assert verdict.lane is Lane.INQUIRY, (name, verdict.risk)
