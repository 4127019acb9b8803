"""Every view the bot builds stays inside Slack's limits with room to spare, at extreme inputs.

Extreme inputs (issue #16): a 100 KB mail body, a 300-character subject, a 200-character sender,
15 warnings, 60 App Home items, 30 team members, an 8,000-character draft with translations.

Checked: slack_sdk's own models validate every block and view; on top, the documented limits
slack_sdk does not check (section text 3,000, fields 10 × 2,000, header 150, button text 75 /
value 2,000, option 75/150, placeholder 150, ids 255, input initial value ≤ max_length ≤ 3,000,
50 blocks per message, 100 per modal or Home tab) and the total text of a message's blocks:
Slack refuses about 12,000 characters (``msg_blocks_too_long``); we stay under
``MAX_MESSAGE_TEXT`` (11,000). Long content is not cut to fit: where a view is split over
several messages, the test checks that nothing was lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.app.wiring import Desktop
from bot.blocks import card, draft, review
from bot.blocks.common import (
    MAX_BLOCKS_MESSAGE,
    MAX_BLOCKS_VIEW,
    MAX_MESSAGE_TEXT,
    blocks_text_length,
    mrkdwn_escape,
)
from bot.blocks.digest import (
    owner_digest_messages,
    stats_blocks,
    stats_text,
    team_digest_messages,
)
from bot.blocks.home import home_view
from bot.core.models import Attachment, Event, Inquiry, Lane, MessageRecord, Risk, RiskSignal, Status, Warning
from bot.handlers.commands import CommandHandler
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import make_triage
from tests.slack_helpers import make_desktop
from tests.unit.test_blocks_card import NOW, make_inquiry

SLACK_TOTAL_TEXT = 12_000  # what Slack refuses; MAX_MESSAGE_TEXT keeps a margin under it
SLACK_TEXT = 40_000  # a message's plain ``text`` (https://api.slack.com/methods/chat.postMessage)
BODY_100K = ("Dear Sir, " + "we need LED panels & drivers <fast>. " * 40 + "\n\n") * 180
SUBJECT_300 = ("Urgent RFQ <!channel> & LED floodlights 100W IP65 " * 8)[:300]
SENDER_200 = ("Nguyễn Văn An & Partners Trading Co. " * 7)[:200]
ADDR_200 = "procurement." + "x" * 170 + "@dienquang.com.vn"
DRAFT_8000 = "\n\n".join(
    f"Paragraph {i}: thank you for your inquiry about the 100W floodlights & drivers. "
    + "We can offer CIF Hai Phong, 30 days lead time, MOQ 500 pcs. " * 2
    for i in range(40)
)[:8000]
WARNING_CODES = (
    "reply_to_mismatch",
    "lookalike_domain",
    "free_mail_company_claim",
    "payment_change",
    "bank_details_changed",
    "new_sender_domain",
    "display_name_spoof",
    "link_mismatch",
    "executable_attachment",
    "dkim_fail",
    "spf_softfail",
    "dmarc_fail",
    "spoofed_own_domain",
    "embargoed_country",
    "sanctions_possible_match",
)  # the four blocking ones last: they must still come first on the card


def warnings15() -> tuple[Warning, ...]:
    return tuple(Warning(code, "evidence " * 40 + "<@U1> & co") for code in WARNING_CODES)


def label(code: str, lang: str) -> str:
    """A warning's title on the card (the code itself when the catalogs have none)."""
    return card.t(f"warning.{code}", lang) if card.has(f"warning.{code}") else code


def extreme_inquiry(i: int = 1, **overrides: Any) -> Inquiry:
    base = make_inquiry(
        id=f"inq-{i}",
        subject=SUBJECT_300,
        new_text=BODY_100K,
        buyer_name=SENDER_200,
        buyer_addr=ADDR_200,
        company="C" * 300,
        reasons=tuple(f"quantity {n}: " + "2,000 pcs " * 30 for n in range(12)),
        warnings=warnings15(),
        attachments=tuple(
            Attachment(f"{'spec-sheet-' * 20}{n}.pdf", "application/pdf", 10) for n in range(14)
        ),
        routed_to="#" + "z" * 300,
        owner="U0OWNER",
    )
    return replace(base, **overrides)


# -- the checker ---------------------------------------------------------------------------------


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def limit_problems(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Documented Block Kit limits broken anywhere in ``blocks`` (empty when all is well)."""
    problems: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    for b in blocks:
        need(len(str(b.get("block_id", ""))) <= 255, "block_id > 255")
        kind = b.get("type")
        if kind == "section":
            need(len(_text(b.get("text"))) <= 3000, "section text > 3000")
            fields = b.get("fields") or []
            need(len(fields) <= 10, "more than 10 fields")
            need(all(len(_text(f)) <= 2000 for f in fields), "field > 2000")
        elif kind == "header":
            need(len(_text(b.get("text"))) <= 150, "header > 150")
        elif kind == "context":
            need(len(b.get("elements", [])) <= 10, "context > 10 elements")
            need(all(len(_text(e)) <= 3000 for e in b.get("elements", [])), "context text > 3000")
        elif kind == "actions":
            need(len(b.get("elements", [])) <= 25, "actions > 25 elements")
        elif kind == "input":
            need(len(_text(b.get("label"))) <= 2000, "input label > 2000")
            need(len(_text(b.get("hint"))) <= 2000, "input hint > 2000")
    for el in _walk(list(blocks)):
        kind = el.get("type")
        if "action_id" in el:
            need(len(str(el["action_id"])) <= 255, "action_id > 255")
        if kind == "button":
            need(len(_text(el.get("text"))) <= 75, "button text > 75")
            need(len(str(el.get("value", ""))) <= 2000, "button value > 2000")
            need(len(str(el.get("url", ""))) <= 3000, "button url > 3000")
        if "placeholder" in el and isinstance(el["placeholder"], dict):
            need(len(_text(el["placeholder"])) <= 150, "placeholder > 150")
        if "options" in el:
            need(len(el["options"]) <= 100, "more than 100 options")
            for o in el["options"]:
                need(len(_text(o.get("text"))) <= 75, "option text > 75")
                need(len(str(o.get("value", ""))) <= 150, "option value > 150")
        if kind == "plain_text_input":
            max_length = int(el.get("max_length", 3000))
            need(max_length <= 3000, "plain_text_input max_length > 3000")
            need(len(str(el.get("initial_value", ""))) <= max_length, "initial_value longer than max_length")
        if "confirm" in el and isinstance(el["confirm"], dict) and "title" in el["confirm"]:
            c = el["confirm"]
            need(len(_text(c["title"])) <= 100 and len(_text(c["text"])) <= 300, "confirm dialog too long")
            need(len(_text(c["confirm"])) <= 30 and len(_text(c["deny"])) <= 30, "confirm buttons > 30")
    return problems


def assert_message_fits(text: str, blocks: list[dict[str, Any]]) -> None:
    """One chat message: slack_sdk validates it, the documented limits hold, and its blocks'
    text stays under our budget (and so under Slack's 12,000)."""
    assert 0 < len(blocks) <= MAX_BLOCKS_MESSAGE, len(blocks)
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None, b
        parsed.validate_json()
    assert limit_problems(blocks) == []
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids))
    total = blocks_text_length(blocks)
    assert total <= MAX_MESSAGE_TEXT < SLACK_TOTAL_TEXT, total
    assert 0 < len(text) <= 4000  # the notification text (Slack truncates at 40,000)


def assert_view_fits(view: dict[str, Any]) -> None:
    """A modal or the Home tab: slack_sdk validates it, ≤ 100 blocks, the documented limits."""
    View(**view).validate_json()
    assert 0 < len(view["blocks"]) <= MAX_BLOCKS_VIEW
    assert limit_problems(view["blocks"]) == []
    for key in ("title", "submit", "close"):
        if key in view:
            assert len(view[key]["text"]) <= 24
    assert len(str(view.get("private_metadata", ""))) <= 3000
    assert len(json.dumps(view)) < 250_000


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- the card and the review card -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_card_fits_with_extreme_inputs_and_shows_blocking_warnings_first(lang: str) -> None:
    inq = extreme_inquiry()
    text, blocks = card.inquiry_card(
        inq, now=NOW, lang=lang, sla_deadline=NOW + timedelta(hours=3), sla_state="at_risk"
    )
    assert_message_fits(text, blocks)
    heading = f"*{card.t('card.warnings', lang)}*"
    warnings = next(b for b in blocks if b["type"] == "section" and _text(b.get("text")).startswith(heading))
    lines = _text(warnings["text"]).split("\n")[1:]
    titles = [label(c, lang) for c in card.SHOW_FIRST_WARNINGS]
    for i, title in enumerate(titles):  # screening, embargo, spoofing: always the first lines
        assert title in lines[i], (i, lines[i])
    more = lines[-1]
    shown = len(lines) - 1
    assert more.startswith("+" if lang == "en" else "另有") and str(15 - shown) in more
    hidden = card.ordered_warnings(inq.triage.warnings)[shown:]
    assert hidden and all(w.code in more for w in hidden)  # "+N more" names the rest
    assert card.ACTION_CLEAR_WARNING in json.dumps(blocks)


def test_a_closed_card_fits() -> None:
    inq = extreme_inquiry(status=Status.WON)
    text, blocks = card.inquiry_card(inq, now=NOW, lang="en", sla_deadline=None, sla_state="answered")
    assert_message_fits(text, blocks)


def test_the_review_card_fits_in_each_state() -> None:
    signals = tuple(RiskSignal(f"signal_{n}_" + "x" * 100, 1.5, "evidence <!here> " * 40) for n in range(15))
    triage = make_triage(
        is_inquiry=False, lane=Lane.REVIEW, risk=Risk(score=22.5, signals=signals), warnings=warnings15()
    )
    held = extreme_inquiry(triage=triage)
    text, blocks = review.review_card(held, lang="en")
    assert_message_fits(text, blocks)
    assert "sanctions_possible_match" not in text
    heading = f"*{card.t('card.warnings', 'en')}*"
    warn = next(b for b in blocks if _text(b.get("text")).startswith(heading))
    lines = _text(warn["text"]).split("\n")[1:]
    assert [label(c, "en") in line for c, line in zip(card.SHOW_FIRST_WARNINGS, lines, strict=False)] == [
        True
    ] * 4
    hidden = card.ordered_warnings(list(warnings15()))[len(lines) - 1 :]
    assert lines[-1].startswith(f"+{len(hidden)} ") and all(w.code in lines[-1] for w in hidden)
    for lane in (Lane.FILTERED, Lane.INQUIRY):
        decided = replace(held, triage=replace(triage, lane=lane), events=(Event(NOW, "U0X", "junked", ""),))
        assert_message_fits(*review.review_card(decided, lang="zh"))


def test_thread_notes_and_the_filtered_summary_fit() -> None:
    msg = MessageRecord(
        "<f@x>",
        "in",
        NOW,
        ADDR_200,
        SUBJECT_300,
        BODY_100K,
        attachments=tuple(Attachment("a" * 300, "x/y", 1) for _ in range(30)),
    )
    assert_message_fits(*card.followup_note(msg, "en"))
    assert_message_fits(*card.note_added("U0ME", BODY_100K, "en"))
    items = [(f"rec-{n}", "newsletter", ADDR_200, SUBJECT_300) for n in range(60)]
    assert_message_fits(*card.filtered_summary({"newsletter": 40, "auto_reply": 20}, items, "en"))
    modal = card.clear_warning_modal("inq-1", WARNING_CODES, "en")
    assert_view_fits(modal)


# -- drafts ------------------------------------------------------------------------------------------


def draft_messages(body: str, lang: str = "en", **kw: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    args: dict[str, Any] = dict(
        inquiry_id="inq-1",
        draft_id="d1",
        subject=SUBJECT_300,
        body=body,
        translation_of_email=BODY_100K[:6000],
        translation_of_draft=DRAFT_8000,
        is_template=False,
        flags=[f"price not in list <{n}> " + "y" * 280 for n in range(15)],
        scenario="quotation_followup",
        lang=lang,
    )
    args.update(kw)
    return draft.draft_messages(**args)


def shown_body(messages: Sequence[tuple[str, list[dict[str, Any]]]], draft_id: str = "d1") -> str:
    """The draft body as a reader of all the messages sees it (body sections, in order)."""
    parts: list[tuple[int, str]] = []
    for _, blocks in messages:
        for b in blocks:
            bid = str(b.get("block_id", ""))
            if bid.startswith(f"draft-body:{draft_id}:"):
                parts.append((int(bid.rsplit(":", 1)[1]), unescape(_text(b["text"]))))
    return "".join(p for _, p in sorted(parts))


@pytest.mark.parametrize(
    "body",
    [DRAFT_8000, BODY_100K, "&" * 20_000, "x" * 20_000, "行" * 9000 + "。" * 10],
    ids=["8000-char draft", "100 KB draft", "all ampersands", "one long word", "Chinese"],
)
def test_a_long_draft_is_split_over_thread_messages_and_nothing_is_lost(body: str) -> None:
    messages = draft_messages(body)
    assert len(messages) > 1
    for text, blocks in messages:
        assert_message_fits(text, blocks)
    assert shown_body(messages) == body
    first = json.dumps(messages[0][1], ensure_ascii=False)
    assert "draft_send" in first and f"(1/{len(messages)})" in first and "⤵️" in first
    for n, (_, blocks) in enumerate(messages[1:], 2):
        assert f"({n}/{len(messages)})" in json.dumps(blocks[0], ensure_ascii=False)
    shown = "".join(
        re.sub(r"(^|\n)>", r"\1", unescape(_text(b.get("text"))))
        for _, blocks in messages
        for b in blocks
        if b["type"] == "section" and not str(b.get("block_id", "")).startswith("draft-body:")
    )
    for translation in (DRAFT_8000, BODY_100K[:6000].strip()):  # both translations, whole
        assert translation in shown


def test_a_short_draft_stays_one_message_with_its_translations() -> None:
    messages = draft_messages(
        "Dear An,\n\nThanks.", translation_of_email="Xin chào", translation_of_draft="Hi"
    )
    assert len(messages) == 1
    assert_message_fits(*messages[0])
    dump = json.dumps(messages[0][1], ensure_ascii=False)
    assert "Xin chào" in dump and ">Hi" in dump and "⤵️" not in dump


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_edit_and_send_modal_holds_an_8000_char_draft_whole(lang: str) -> None:
    view = draft.edit_send_modal("d1", SUBJECT_300, DRAFT_8000, f'"{SENDER_200}" <{ADDR_200}>', lang)
    assert_view_fits(view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs[draft.BLOCK_TO]["element"]["initial_value"] == f'"{SENDER_200}" <{ADDR_200}>'
    assert inputs[draft.BLOCK_SUBJECT]["element"]["initial_value"] == SUBJECT_300
    boxes = {bid: b for bid, b in inputs.items() if bid.startswith(draft.BLOCK_BODY)}
    assert 3 <= len(boxes) <= 4
    values = {
        bid: {draft.ACTION_BODY: {"type": "plain_text_input", "value": b["element"]["initial_value"]}}
        for bid, b in boxes.items()
    }
    assert draft.joined_body(values) == DRAFT_8000


def test_a_draft_too_long_for_the_modal_gets_a_clear_refusal_not_a_cut() -> None:
    view = draft.edit_send_modal("d1", "Re: x", BODY_100K, "a@b.cn", "en")
    assert_view_fits(view)
    assert "submit" not in view and not any(b["type"] == "input" for b in view["blocks"])
    said = _text(view["blocks"][0]["text"])
    assert str(len(BODY_100K)) in said and "Save to Drafts" in said and "Nothing was cut" in said


def test_draft_side_messages_fit() -> None:
    assert_view_fits(draft.regenerate_modal("d1", "en"))
    assert_message_fits(*draft.quote_risk_blocks("d1", ["price_below_floor: " + "9" * 500] * 15, "en"))
    assert_message_fits(*draft.draft_error_blocks("inq-1", BODY_100K, "en"))
    assert_message_fits(*draft.drafting_placeholder("zh"))


# -- digests, App Home, stats, command replies ---------------------------------------------------------


def sixty(**overrides: Any) -> list[Inquiry]:
    return [
        make_inquiry(id=f"inq-{n}-" + "9" * 30, subject=SUBJECT_300, buyer_name=SENDER_200, owner="U0OWNER")
        for n in range(60)
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_owner_digest_with_60_items_splits_and_lists_every_item(lang: str) -> None:
    items = sixty()
    deadlines = {i.id: NOW + timedelta(hours=2) for i in items}
    messages = owner_digest_messages(
        lang, items[:20], items[20:35], {"quotation_followup": items[35:45]}, items[45:], NOW, deadlines
    )
    assert len(messages) > 1
    for n, (text, blocks) in enumerate(messages, 1):
        assert_message_fits(text, blocks)
        assert f"({n}/{len(messages)})" in text
    everything = json.dumps([m[1] for m in messages], ensure_ascii=False)
    assert all(everything.count(f"`{i.id}`") == 1 for i in items)


def test_a_huge_owner_digest_says_how_much_is_not_shown() -> None:
    items = sixty()
    groups = {f"followup_{n}": items for n in range(4)}
    messages = owner_digest_messages("en", items, items, groups, items, NOW)
    for text, blocks in messages:
        assert_message_fits(text, blocks)
    everything = json.dumps([m[1] for m in messages], ensure_ascii=False)
    listed = sum(everything.count(f"`{i.id}`") for i in items)
    left = re.search(r"…and (\d+) more not shown here", everything)
    assert left is not None and listed + int(left.group(1)) == 7 * 60  # counted, never silently dropped


def test_a_team_digest_with_30_members_and_60_overdue_fits_and_names_every_member() -> None:
    items = sixty()
    members = {f"U0M{n:02d}": n + 1 for n in range(30)}
    messages = team_digest_messages(
        "en",
        open_count=120,
        unclaimed=items,
        overdue=items,
        by_owner=members,
        now=NOW,
        answered_within_sla=(50, 60),
        yesterday="Yesterday: " + "EU 12, " * 500,
    )
    for text, blocks in messages:
        assert_message_fits(text, blocks)
    everything = json.dumps([m[1] for m in messages])
    assert all(f"<@{u}>: {n}" in everything for u, n in members.items())


def test_the_app_home_with_60_items_per_list_fits() -> None:
    from bot.blocks.home_queue import HomeFilter, queue_page
    from bot.sla.engine import SlaPolicy

    items = sixty()
    for page_no in (1, 6):
        page = queue_page(items, NOW, SlaPolicy(), "U0OWNER", HomeFilter(page=page_no))
        view = home_view("U0OWNER", page, NOW, "en")
        assert_view_fits(view)
    assert blocks_text_length(view["blocks"]) < 100 * 3000


def test_stats_fit_with_many_markets() -> None:
    text = stats_text(
        "en",
        days=365,
        received=10**6,
        answered=10**6,
        within_sla=999_999,
        median_first_response_minutes=12345.6,
        by_tier={"A": 1, "B": 2, "C": 3, "-": 4},
        by_market={f"market-{n}<x>": n for n in range(300)},
        won=10**5,
        lost=10**5,
        filtered={f"cat{n}": n for n in range(200)},
        overturned={
            "review_to_inquiry": 3,
            "review_to_junk": 4,
            "inquiry_to_not_inquiry": 5,
            "filtered_to_rescued": 1,
        },
        in_review=12,
    )
    title, blocks = stats_blocks("en", text)
    assert_message_fits(title, blocks)
    assert "".join(_text(b["text"]) for b in blocks) == text


@pytest.fixture
def busy_desktop(slack_server: FakeSlack, tmp_path: Path) -> Iterator[Desktop]:
    desk = make_desktop(slack_server, tmp_path)
    try:
        events = tuple(Event(NOW, "U0OWNER", "note", "n" * 400) for _ in range(80))
        for n in range(60):
            inq = extreme_inquiry(n + 1, id=str(n + 1), owner="UALICE" if n % 2 else None, events=events)
            desk.store.add(inq)
        yield desk
    finally:
        desk.store.close()


@pytest.mark.parametrize(
    "command", ["open", "mine", "unclaimed", "search Urgent", "history 7", "help", "claim 999", "stats 365d"]
)
def test_command_replies_fit(busy_desktop: Desktop, command: str) -> None:
    reply = CommandHandler(busy_desktop.services).answer(command, "UALICE")
    assert 0 < len(reply) <= SLACK_TEXT // 2  # plain text, no blocks: Slack truncates at 40,000
    assert "<!channel>" not in reply


def test_mrkdwn_escape_is_what_the_tests_undo() -> None:
    sample = "a & b <c> &amp;"
    assert unescape(mrkdwn_escape(sample)) == sample
