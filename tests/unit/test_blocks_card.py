"""The inquiry card, its thread notes and the filtered-mail summary, validated with slack_sdk models."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.blocks import card
from bot.blocks.common import MAX_BLOCKS_MESSAGE, TRUNCATION_MARKER
from bot.core.models import (
    Attachment,
    Category,
    Inquiry,
    Market,
    MessageRecord,
    Status,
    Tier,
    Triage,
    Warning,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
HOSTILE = "<!channel> hi <@U123> see <https://evil.example|Invoice> &amp; <!here|here> <#C1> " + "x" * 10_000


def make_inquiry(
    *,
    id: str = "inq-1",
    subject: str = "Quotation for LED panels",
    new_text: str = "Please quote 2000 pcs of 600x600 panels, CIF Hamburg.",
    buyer_name: str = "Hans Müller",
    buyer_addr: str = "hans@example-buyer.de",
    company: str | None = "Example GmbH",
    country: str | None = "DE",
    tier: Tier | None = Tier.A,
    status: Status = Status.NEW,
    owner: str | None = None,
    reasons: Sequence[str] = ("company domain", "quantity 2000 pcs"),
    warnings: Sequence[Warning] = (),
    attachments: Sequence[Attachment] = (),
    routed_to: str | None = None,
    snoozed_until: datetime | None = None,
) -> Inquiry:
    triage = Triage(
        is_inquiry=True,
        category=Category.INQUIRY,
        reason="asks for a quotation",
        language="de",
        country=country,
        market=Market.EU,
        tier=tier,
        sla_hours=4.0,
        reasons=tuple(reasons),
        company=company,
        warnings=tuple(warnings),
    )
    msg = MessageRecord(
        message_id="<m1@example-buyer.de>",
        direction="in",
        received_at=NOW - timedelta(hours=1),
        from_addr=buyer_addr,
        subject=subject,
        new_text=new_text,
        attachments=tuple(attachments),
    )
    return Inquiry(
        id=id,
        created_at=NOW - timedelta(hours=1),
        buyer_addr=buyer_addr,
        buyer_name=buyer_name,
        subject=subject,
        subject_key=subject.lower(),
        triage=triage,
        status=status,
        owner=owner,
        tier=tier,
        sla_started_at=NOW - timedelta(hours=1),
        messages=(msg,),
        routed_to=routed_to,
        snoozed_until=snoozed_until,
    )


def assert_valid_blocks(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS_MESSAGE) -> None:
    """Every block parses and validates with slack_sdk, round-trips unchanged, ids are unique."""
    assert 0 < len(blocks) <= limit
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict() == b
        if b["type"] == "actions":
            ids = [e["action_id"] for e in b["elements"]]
            assert len(ids) == len(set(ids))


def elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """action_id -> element, with the block_id attached as ``_block_id``."""
    out: dict[str, dict[str, Any]] = {}
    for b in blocks:
        found = b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}]
        for e in found:
            if "action_id" in e:
                out[e["action_id"]] = {**e, "_block_id": b.get("block_id")}
    return out


_ALLOWED = re.compile(r"<!date\^\d+\^[^|>]*\|[^>]*>")


def untrusted_markup(
    text: str, blocks: list[dict[str, Any]], allowed_mentions: Sequence[str] = ()
) -> list[str]:
    """Slack control sequences left after removing date tokens and the allowed mentions."""
    dump = text + json.dumps(blocks, ensure_ascii=False)
    dump = _ALLOWED.sub("", dump)
    for user in allowed_mentions:
        dump = dump.replace(f"<@{user}>", "")
    return re.findall(r"<[!@#]|<https?:|<mailto:", dump)


def render(inq: Inquiry, lang: str = "en", state: str = "on_track") -> tuple[str, list[dict[str, Any]]]:
    return card.inquiry_card(inq, now=NOW, lang=lang, sla_deadline=NOW + timedelta(hours=3), sla_state=state)


def test_card_blocks_validate_with_slack_models() -> None:
    inq = make_inquiry(
        warnings=(Warning("reply_to_mismatch", "Reply-To is x@other.example"), Warning("free_mail", "")),
        attachments=(Attachment("spec.pdf", "application/pdf", 1000),),
        routed_to="C0EUROPE",
        snoozed_until=NOW + timedelta(hours=2),
    )
    text, blocks = render(inq)
    assert_valid_blocks(blocks)
    assert "Hans Müller" in text and "Quotation for LED panels" in text
    dump = json.dumps(blocks, ensure_ascii=False)
    for expected in (
        "Example GmbH",
        "🇩🇪",
        "Germany",
        "EU",
        "German",
        "Tier A",
        "quantity 2000 pcs",
        "spec.pdf",
    ):
        assert expected in dump
    assert "<#C0EUROPE>" in dump
    assert "Please quote 2000 pcs" in dump


def test_hostile_email_produces_no_slack_markup() -> None:
    inq = make_inquiry(
        subject=HOSTILE,
        new_text=HOSTILE,
        buyer_name=HOSTILE,
        buyer_addr="<!channel>@evil.example",
        company=HOSTILE,
        reasons=(HOSTILE,),
        warnings=(Warning("lookalike_domain", HOSTILE), Warning(HOSTILE, HOSTILE)),
        attachments=(Attachment(HOSTILE, "application/pdf", 1),),
        routed_to=HOSTILE,
        owner="UOWNER1",
    )
    text, blocks = render(inq)
    assert_valid_blocks(blocks)
    assert untrusted_markup(text, blocks, allowed_mentions=["UOWNER1"]) == []
    assert "<@UOWNER1>" in json.dumps(blocks)
    assert "&lt;!channel&gt;" in json.dumps(blocks)
    assert len(text) <= 3000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(max_size=400),
    body=st.text(alphabet=st.sampled_from(list("<>&!@|#hts:/ .\nUabc中")), max_size=4000),
    name=st.text(max_size=100),
)
def test_property_no_markup_from_any_email_text(subject: str, body: str, name: str) -> None:
    inq = make_inquiry(subject=subject, new_text=body, buyer_name=name, company=name, reasons=(body[:300],))
    text, blocks = render(inq)
    assert untrusted_markup(text, blocks) == []
    assert_valid_blocks(blocks)


def test_long_snippet_is_truncated_with_marker() -> None:
    _, blocks = render(make_inquiry(new_text="word " * 2000))
    snippet = next(b for b in blocks if "word word" in json.dumps(b))
    assert TRUNCATION_MARKER in snippet["text"]["text"]
    assert len(snippet["text"]["text"]) < 800


def test_tier_and_status_selects_show_current_values() -> None:
    _, blocks = render(make_inquiry(tier=Tier.B, status=Status.NEGOTIATING))
    els = elements(blocks)
    assert els["inquiry_tier"]["initial_option"]["value"] == "B"
    assert [o["value"] for o in els["inquiry_tier"]["options"]] == ["A", "B", "C"]
    assert els["inquiry_status"]["initial_option"]["value"] == "negotiating"
    assert [o["value"] for o in els["inquiry_status"]["options"]] == [s.value for s in Status]
    assert [o["value"] for o in els["inquiry_snooze"]["options"]] == ["1h", "4h", "1d", "2d", "1w"]


def test_unowned_card_offers_claim_and_every_action_names_the_inquiry() -> None:
    _, blocks = render(make_inquiry(id="inq-42"))
    els = elements(blocks)
    assert set(els) == {
        "inquiry_claim",
        "inquiry_reassign",
        "inquiry_tier",
        "inquiry_status",
        "inquiry_snooze",
        "inquiry_draft",
        "inquiry_replied",
    }
    for action_id, el in els.items():
        if el["type"] == "button":
            assert el["value"] == "inq-42", action_id
        assert card.decode_action({**el, "block_id": el["_block_id"]})[0] == "inq-42"
    assert "initial_user" not in els["inquiry_reassign"]


def test_owned_card_offers_release_and_preselects_owner() -> None:
    _, blocks = render(make_inquiry(owner="U0OWNER"))
    els = elements(blocks)
    assert "inquiry_release" in els and "inquiry_claim" not in els
    assert els["inquiry_reassign"]["initial_user"] == "U0OWNER"
    assert "<@U0OWNER>" in json.dumps(blocks)


def test_decode_action_reads_select_choices_from_payload() -> None:
    payload_select = {
        "type": "static_select",
        "action_id": "inquiry_tier",
        "block_id": "inquiry:inq:with:colons",
        "selected_option": {"value": "C"},
    }
    assert card.decode_action(payload_select) == ("inq:with:colons", "C")
    payload_user = {"type": "users_select", "block_id": "inquiry:inq-1", "selected_user": "U9"}
    assert card.decode_action(payload_user) == ("inq-1", "U9")
    assert card.decode_action({"type": "button", "value": "inq-1"}) == ("inq-1", None)


def test_sla_state_and_deadline_are_shown() -> None:
    _, blocks = render(make_inquiry(), state="breached")
    dump = json.dumps(blocks, ensure_ascii=False)
    deadline = int((NOW + timedelta(hours=3)).timestamp())
    assert f"<!date^{deadline}^" in dump
    assert "Overdue" in dump and "🔴" in dump


def test_warnings_are_red_or_amber_above_the_buttons() -> None:
    inq = make_inquiry(warnings=(Warning("dmarc_fail", "p=reject"), Warning("free_mail", "gmail.com")))
    _, blocks = render(inq)
    idx = next(i for i, b in enumerate(blocks) if "Check before replying" in json.dumps(b))
    text = blocks[idx]["text"]["text"]
    assert "🔴 *Sender authentication failed (DMARC)* — p=reject" in text
    assert "🟠 *Free mail address* — gmail.com" in text
    first_actions = next(i for i, b in enumerate(blocks) if b["type"] == "actions")
    assert idx < first_actions


def test_closed_inquiry_gets_a_compact_card() -> None:
    text, blocks = render(make_inquiry(status=Status.WON, owner="U0OWNER"))
    assert_valid_blocks(blocks)
    assert len(blocks) == 2
    assert "Won" in text
    els = elements(blocks)
    assert set(els) == {"inquiry_status"}
    assert els["inquiry_status"]["initial_option"]["value"] == "won"


def test_zh_card_uses_the_chinese_catalog() -> None:
    text, blocks = render(make_inquiry(), lang="zh", state="at_risk")
    dump = json.dumps(blocks, ensure_ascii=False)
    assert text.startswith("新询盘")
    for expected in ("买家", "认领", "起草回复", "标记为已回复", "即将超时", "A 级"):
        assert expected in dump
    assert "Claim" not in dump


def test_thread_notes_mention_only_slack_ids_and_escape_text() -> None:
    _, claimed = card.claimed_note("U0ABC", "en")
    assert "Claimed by <@U0ABC>" in json.dumps(claimed)
    _, bogus = card.claimed_note("<!channel>", "en")
    assert untrusted_markup("", bogus) == []
    text, follow = card.followup_note(
        MessageRecord("<m2@x>", "in", NOW, "b@x", "Re: q", HOSTILE, (Attachment("<!here>.pdf", "x", 1),)),
        "en",
    )
    assert_valid_blocks(follow)
    assert untrusted_markup(text, follow) == []
    _, note = card.note_added("U0ABC", "call them <!channel>", "zh")
    assert "&lt;!channel&gt;" in json.dumps(note) and "备注" in json.dumps(note, ensure_ascii=False)
    for _, blocks in (
        card.released_note("U1X", "en"),
        card.reassigned_note("U1X", "U2Y", "en"),
        card.tier_changed_note("U1X", "B", "en"),
        card.status_changed_note("U1X", Status.QUOTED, "en"),
        card.answered_note("reply from sales@x <!here>", "en"),
        card.snoozed_note("U1X", NOW, "en"),
        card.replied_note("U1X", "en"),
    ):
        assert_valid_blocks(blocks)
    assert "<@U1X> set the status to Quoted" in json.dumps(card.status_changed_note("U1X", "quoted", "en")[1])
    assert "设为「已报价」" in card.status_changed_note("U1X", "quoted", "zh")[0]
    assert untrusted_markup(*card.answered_note("<!here>", "en")) == []


def test_filtered_summary_counts_and_rescue_buttons() -> None:
    counts = {"newsletter": 5, "auto_reply": 4, "bounce": 2, "spam": 1}
    items = [(f"f{i}", "newsletter", f"news{i}@x.example", f"<!channel> Issue {i}") for i in range(40)]
    text, blocks = card.filtered_summary(counts, items, "en")
    assert text == "12 emails filtered out: 5 newsletters, 4 auto-replies, 2 bounces, 1 spam"
    assert_valid_blocks(blocks)
    buttons = [b["accessory"] for b in blocks if b.get("accessory", {}).get("action_id") == "filtered_rescue"]
    assert [b["value"] for b in buttons] == [f"f{i}" for i in range(card.FILTERED_ITEMS_MAX)]
    assert "…and 25 more" in json.dumps(blocks, ensure_ascii=False)
    assert untrusted_markup(text, blocks) == []


def test_missing_country_and_tier_still_render() -> None:
    inq = replace(make_inquiry(country=None, tier=None, company=None), messages=())
    _, blocks = render(inq)
    assert_valid_blocks(blocks)
    assert "inquiry_tier" in elements(blocks)
    assert "initial_option" not in elements(blocks)["inquiry_tier"]


def test_triage_reasons_read_in_chinese_for_a_chinese_team() -> None:
    from bot.blocks.card import reason_text

    assert reason_text("quantity: 2,000 pcs", "zh") == "数量：2,000 pcs"
    assert reason_text("Incoterms: FOB Shenzhen", "zh") == "贸易术语：FOB Shenzhen"
    assert reason_text("language unknown: too little text", "zh") == "语言未知：文字太少"
    assert reason_text("market SEA (VN)", "zh") == "市场 东南亚（VN）"
    assert reason_text("quantity: 2,000 pcs", "en") == "quantity: 2,000 pcs"
    assert reason_text("some new rule", "zh") == "some new rule"  # unknown labels stay as they are
