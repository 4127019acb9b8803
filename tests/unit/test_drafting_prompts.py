"""Prompt files, strict rendering, offline templates in every language, and the scenario choice."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import TemplateError
from bot.core.models import Category, Event, Inquiry, Market, MessageRecord, Status, Tier, Triage
from bot.drafting.guards import check_draft, language_mismatch
from bot.drafting.prompts import PROMPTS_DIR, SCENARIOS, PromptLibrary, choose_scenario, render
from bot.drafting.service import Drafter, DraftRequest

LANGUAGES = (
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "ru",
    "ar",
    "vi",
    "th",
    "id",
    "ms",
    "ja",
    "ko",
    "zh",
    "tr",
    "pl",
    "nl",
)
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_render_substitutes_and_keeps_values_verbatim() -> None:
    assert render("Dear ${name}, re ${subject}", {"name": "Ana", "subject": "${evil} $x"}) == (
        "Dear Ana, re ${evil} $x"
    )
    assert render("Cost: $$5", {}) == "Cost: $5"


def test_render_fails_loudly_on_a_missing_variable() -> None:
    with pytest.raises(TemplateError, match="buyer_name"):
        render("Dear ${buyer_name},", {"subject": "x"})


def test_render_rejects_a_malformed_placeholder() -> None:
    with pytest.raises(TemplateError, match="malformed"):
        render("Price $ 5", {})


def test_library_loads_every_scenario_and_the_profile(library: PromptLibrary) -> None:
    assert set(library.scenarios) == set(SCENARIOS)
    assert library.directory == PROMPTS_DIR.resolve()
    profile = library.profile
    assert profile.name == "Brightway LED" and profile.website == "brightway-led.com"
    assert profile.certificates == ("CE", "RoHS", "UL", "SAA")
    assert profile.signature("Lily Chen").splitlines()[0] == "Lily Chen"
    text = profile.prompt_text("Lily Chen")
    for fact in ("moq", "100 pcs", "T/T 30% deposit", "USD 50,000", "15-25 days", "FOB Shenzhen", "3-5 days"):
        assert fact in text
    assert "#" not in text.splitlines()[0]  # comment lines are not sent to the model


@pytest.mark.parametrize("language", LANGUAGES)
def test_offline_templates_exist_and_render_for_every_scenario(library: PromptLibrary, language: str) -> None:
    assert library.template(language) is not None, f"no offline template for {language}"
    drafter = Drafter(None, library)
    for scenario in SCENARIOS:
        request = DraftRequest(
            scenario=scenario,
            buyer_language=language,
            team_language="en",
            buyer_name="Carlos Mendes",
            buyer_email="carlos@iluminacao-sul.com.br",
            subject="RE: LED panel 600x600 40W - 500 pcs",
            new_text="We need 500 pcs of 600x600 panels, CE required.",
            rep_name="Lily Chen",
            details="500 pcs",
        )
        body = drafter.render_template(request, language)
        assert "${" not in body and "$" not in body
        assert "Carlos Mendes" in body
        assert "LED panel 600x600 40W - 500 pcs" in body
        assert body.rstrip().endswith("sales@brightway-led.com | +86 755 8612 3400")
        assert "Lily Chen" in body and "500 pcs" in body
        assert check_draft(body, library.profile.prompt_text("Lily Chen") + request.subject) == []
        assert not language_mismatch(body, language, ignore=(library.profile.signature("Lily Chen"),))

        draft = drafter.draft(request)
        assert draft.is_template and draft.language == language and draft.body == body


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_have_a_greeting_for_unknown_buyers(library: PromptLibrary, language: str) -> None:
    drafter = Drafter(None, library)
    request = DraftRequest(
        scenario="first_reply",
        buyer_language=language,
        team_language="zh",
        buyer_name="",
        buyer_email="info@example.com",
        subject="",
        new_text="price?",
    )
    body = drafter.render_template(request, language)
    assert body.split("\n\n", 1)[0] == library.template(language)["greeting_unknown"]  # type: ignore[index]
    assert "Brightway LED Sales Team" in body


def test_a_template_with_an_unknown_variable_fails_at_draft_time(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    en = (root / "templates" / "en.json").read_text(encoding="utf-8")
    (root / "templates" / "en.json").write_text(en.replace("${subject}", "${order_no}", 1), encoding="utf-8")
    drafter = Drafter(None, PromptLibrary.load(root))
    request = DraftRequest(
        scenario="first_reply",
        buyer_language="en",
        team_language="en",
        buyer_name="Ann",
        buyer_email="a@b.com",
        subject="Quote",
        new_text="price?",
    )

    with pytest.raises(TemplateError, match="order_no"):
        drafter.draft(request)


def test_an_incomplete_template_file_fails_at_load_time(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    (root / "templates" / "xx.json").write_text('{"greeting": "Yo"}', encoding="utf-8")

    with pytest.raises(TemplateError, match=r"xx\.json lacks"):
        PromptLibrary.load(root)


def test_a_missing_prompts_directory_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found"):
        PromptLibrary.load(tmp_path / "nowhere")


def _inquiry(
    status: Status,
    *,
    answered: bool = False,
    waiting: bool = True,
    events: tuple[Event, ...] = (),
    messages: tuple[MessageRecord, ...] = (),
) -> Inquiry:
    triage = Triage(
        is_inquiry=True,
        category=Category.INQUIRY,
        reason="asks for a quote",
        language="vi",
        country="VN",
        market=Market.SEA,
        tier=Tier.A,
        sla_hours=4,
        reasons=("quantity",),
    )
    return Inquiry(
        id="inq-1",
        created_at=T0,
        buyer_addr="minh@example.vn",
        buyer_name="Minh",
        subject="Quote",
        subject_key="quote",
        triage=triage,
        status=status,
        answered_at=T0 + timedelta(hours=2) if answered else None,
        sla_started_at=T0 if waiting else None,
        events=events,
        messages=messages,
    )


def _msg(direction: str, hours: float) -> MessageRecord:
    return MessageRecord(
        message_id=f"<{direction}{hours}@x>",
        direction=direction,
        received_at=T0 + timedelta(hours=hours),
        from_addr="x@example.com",
        subject="Quote",
        new_text="text",
    )


WON_EVENT = (Event(at=T0 + timedelta(days=3), actor="U1", action="status", detail="won"),)


@pytest.mark.parametrize(
    ("inquiry", "expected"),
    [
        (_inquiry(Status.NEW), "first_reply"),
        (_inquiry(Status.QUOTED, answered=True), "quotation_followup"),
        (_inquiry(Status.SAMPLES, answered=True), "samples"),
        (_inquiry(Status.NEGOTIATING, answered=True), "quotation_followup"),
        (_inquiry(Status.NEW, answered=True, waiting=False), "silence_followup"),
        (_inquiry(Status.QUOTED, answered=True, waiting=False), "silence_followup"),
        (_inquiry(Status.NEGOTIATING, answered=True, waiting=False), "silence_followup"),
        (_inquiry(Status.WON, answered=True, events=WON_EVENT), "order_confirmation"),
        (_inquiry(Status.WON, answered=True, waiting=False, events=WON_EVENT), "order_confirmation"),
        (
            _inquiry(
                Status.WON, answered=True, events=WON_EVENT, messages=(_msg("in", 1), _msg("out", 24 * 4))
            ),
            "after_sales",
        ),
        (_inquiry(Status.WON, answered=True, messages=(_msg("out", 24 * 4),)), "order_confirmation"),
        (_inquiry(Status.LOST, answered=True), "quotation_followup"),
        (_inquiry(Status.NOT_INQUIRY), "first_reply"),
    ],
)
def test_choose_scenario(inquiry: Inquiry, expected: str) -> None:
    assert choose_scenario(inquiry) == expected
