"""The App Home view: one page of the queue, its filters, paging, and the Preferences modal.

Pure: a queue of 60 open inquiries (four markets, three tiers, mine / others' / unclaimed,
overdue / at risk / on track / answered) goes through :func:`bot.blocks.home_queue.queue_page` and
:func:`bot.blocks.home.home_view`; every view is validated with slack_sdk's models.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import time, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks.common import MAX_BLOCKS_VIEW
from bot.blocks.home import (
    ACTION_MARKET,
    ACTION_PAGE_NEXT,
    ACTION_PAGE_PREV,
    ACTION_PREFS,
    ACTION_QUEUE,
    ACTION_TIER,
    BLOCK_DIGEST_TIME,
    BLOCK_DM_PINGS,
    BLOCK_LANG,
    home_view,
    prefs_modal,
    read_prefs,
)
from bot.blocks.home_queue import PAGE_SIZE, HomeFilter, queue_page
from bot.core.models import Inquiry, Market, Status, Tier
from bot.core.prefs import MemberPrefs, digest_cutoff
from bot.sla.engine import SlaPolicy, SlaState, deadline, sla_state
from tests.unit.test_blocks_card import (
    HOSTILE,
    NOW,
    assert_valid_blocks,
    elements,
    make_inquiry,
    untrusted_markup,
)

POLICY = SlaPolicy()
ME = "U0ME"
OTHER = "U0OTHER"
MARKET_CYCLE = (Market.EU, Market.US, Market.SEA, Market.OTHER)
TIER_CYCLE = (Tier.A, Tier.B, Tier.C)


def queue_item(n: int) -> Inquiry:
    """Inquiry ``n`` of the test queue: its market, tier, owner and clock vary with ``n``."""
    base = make_inquiry(id=str(n), subject=f"Subject number {n:02d}", owner=None, tier=TIER_CYCLE[n % 3])
    owner = ME if n % 4 == 0 else OTHER if n % 4 == 1 else None
    if n % 5 == 0:
        started = NOW - timedelta(days=3)  # overdue
    elif n % 7 == 0:
        started = None  # answered: no deadline, listed after every running clock
    else:
        started = NOW - timedelta(minutes=(n * 37) % 400)  # deadlines out of id order
    triage = replace(base.triage, market=MARKET_CYCLE[n % 4], tier=TIER_CYCLE[n % 3])
    return replace(
        base, owner=owner, sla_started_at=started, triage=triage, created_at=NOW - timedelta(hours=2)
    )


QUEUE = [queue_item(n) for n in range(1, 61)]
BY_ID = {i.id: i for i in QUEUE}


def rows(view: dict[str, Any]) -> list[str]:
    """The inquiry ids of the rows a Home view shows, in order."""
    return [
        b["block_id"].split(":", 1)[1]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("home-queue-row:")
    ]


def page_text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def render(flt: HomeFilter, lang: str = "en", items: list[Inquiry] | None = None) -> dict[str, Any]:
    page = queue_page(items if items is not None else QUEUE, NOW, POLICY, ME, flt)
    view = home_view(ME, page, NOW, lang, prefs=MemberPrefs(), default_digest_time=time(9), default_lang="en")
    View(**view).validate_json()
    assert_valid_blocks(view["blocks"], MAX_BLOCKS_VIEW)
    return view


def sort_key(inq: Inquiry) -> tuple[int, float, int]:
    dl = deadline(inq, POLICY)
    return (0 if dl else 1, dl.timestamp() if dl else 0.0, int(inq.id))


# -- paging ----------------------------------------------------------------------------------------


def test_sixty_items_show_ten_per_page_in_deadline_order_with_a_page_indicator() -> None:
    seen: list[str] = []
    for p in range(6):
        view = render(HomeFilter(page=p))
        shown = rows(view)
        assert len(shown) == PAGE_SIZE
        first, last = p * 10 + 1, p * 10 + 10
        assert f"Page {p + 1} of 6 · {first}–{last} of 60" in page_text(view)
        seen += shown
    assert sorted(seen, key=int) == [str(n) for n in range(1, 61)], "every row once, none twice"
    assert seen == [i.id for i in sorted(QUEUE, key=sort_key)], "soonest SLA deadline first, no deadline last"
    overdue = [i for i in seen if sla_state(BY_ID[i], NOW, POLICY) is SlaState.BREACHED]
    assert seen[: len(overdue)] == overdue  # overdue ones lead the queue
    answered = [i for i in seen if deadline(BY_ID[i], POLICY) is None]
    assert len(answered) == 7 and seen[-7:] == answered  # answered ones (no clock) close it


def test_previous_and_next_buttons_carry_the_page_to_show() -> None:
    first = elements(render(HomeFilter(page=0))["blocks"])
    assert ACTION_PAGE_PREV not in first and first[ACTION_PAGE_NEXT]["value"] == "1"
    middle = elements(render(HomeFilter(page=2))["blocks"])
    assert middle[ACTION_PAGE_PREV]["value"] == "1" and middle[ACTION_PAGE_NEXT]["value"] == "3"
    last = elements(render(HomeFilter(page=5))["blocks"])
    assert last[ACTION_PAGE_PREV]["value"] == "4" and ACTION_PAGE_NEXT not in last


def test_a_page_past_the_end_shows_the_last_page() -> None:
    view = render(HomeFilter(page=99))
    assert len(rows(view)) == 10 and "Page 6 of 6 · 51–60 of 60" in page_text(view)
    page = queue_page(QUEUE, NOW, POLICY, ME, HomeFilter(page=99))
    assert page.filter.page == 5


def test_a_short_queue_has_one_page_and_no_paging_buttons() -> None:
    view = render(HomeFilter(), items=QUEUE[:4])
    assert len(rows(view)) == 4 and "Page 1 of 1 · 1–4 of 4" in page_text(view)
    assert ACTION_PAGE_NEXT not in elements(view["blocks"]) and ACTION_PAGE_PREV not in elements(
        view["blocks"]
    )


def test_an_empty_filter_says_so() -> None:
    view = render(HomeFilter(queue="mine"), items=[i for i in QUEUE if i.owner != ME])
    assert rows(view) == [] and "Nothing here" in page_text(view) and "0–0 of 0" in page_text(view)


# -- filters -----------------------------------------------------------------------------------------


def all_pages(flt: HomeFilter) -> list[str]:
    out: list[str] = []
    page = queue_page(QUEUE, NOW, POLICY, ME, flt)
    for p in range(page.pages):
        view = render(replace(flt, page=p))
        out += rows(view)
    assert len(out) == page.matching
    return out


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (HomeFilter(queue="mine"), lambda i: i.owner == ME),
        (HomeFilter(queue="unclaimed"), lambda i: i.owner is None),
        (
            HomeFilter(queue="at_risk"),
            lambda i: sla_state(i, NOW, POLICY) in (SlaState.AT_RISK, SlaState.BREACHED),
        ),
        (HomeFilter(market="SEA"), lambda i: i.triage.market is Market.SEA),
        (HomeFilter(tier="B"), lambda i: i.tier is Tier.B),
        (
            HomeFilter(queue="unclaimed", market="SEA", tier="A"),
            lambda i: i.owner is None and i.triage.market is Market.SEA and i.tier is Tier.A,
        ),
    ],
    ids=["mine", "unclaimed", "at_risk", "market", "tier", "combined"],
)
def test_each_filter_shows_exactly_the_matching_rows(flt: HomeFilter, expected: Any) -> None:
    want = [i.id for i in sorted(QUEUE, key=sort_key) if expected(i)]
    assert want, "the test queue has rows for every filter"
    assert all_pages(flt) == want
    assert f"of {len(want)}" in page_text(render(flt))


def test_at_risk_holds_both_warned_and_overdue_rows() -> None:
    states = {sla_state(BY_ID[i], NOW, POLICY) for i in all_pages(HomeFilter(queue="at_risk"))}
    assert states == {SlaState.AT_RISK, SlaState.BREACHED}


def test_the_selects_show_the_current_filter_and_the_counts_cover_the_whole_queue() -> None:
    view = render(HomeFilter(queue="unclaimed", market="SEA", tier="C"))
    els = elements(view["blocks"])
    assert els[ACTION_QUEUE]["initial_option"]["value"] == "unclaimed"
    assert els[ACTION_MARKET]["initial_option"]["value"] == "SEA"
    assert els[ACTION_TIER]["initial_option"]["value"] == "C"
    assert els[ACTION_PREFS]["type"] == "button"
    mine = sum(1 for i in QUEUE if i.owner == ME)
    unclaimed = sum(1 for i in QUEUE if i.owner is None)
    assert f"Open 60 · Mine {mine} · Unclaimed {unclaimed}" in page_text(view)
    assert "*Unclaimed · SEA · Tier C*" in page_text(view)


def test_changing_a_filter_goes_back_to_the_first_page_and_ignores_unknown_values() -> None:
    flt = HomeFilter(page=3)
    assert flt.with_choice("queue", "mine") == HomeFilter(queue="mine", page=0)
    assert flt.with_choice("market", "MARS") == flt
    assert flt.with_choice("owner", "x") == flt
    assert HomeFilter.from_doc({"queue": "bogus", "market": "EU", "tier": "Z", "page": -2}) == HomeFilter(
        market="EU"
    )
    assert HomeFilter.from_doc(HomeFilter(queue="at_risk", tier="A", page=2).to_doc()) == HomeFilter(
        queue="at_risk", tier="A", page=2
    )


def test_closed_and_filtered_mail_never_show() -> None:
    won = replace(QUEUE[0], status=Status.WON)
    filtered = replace(QUEUE[1], triage=replace(QUEUE[1].triage, is_inquiry=False))
    view = render(HomeFilter(), items=[won, filtered, QUEUE[2]])
    assert rows(view) == [QUEUE[2].id]


def test_rows_offer_claim_release_or_only_draft() -> None:
    view = render(HomeFilter(), items=[QUEUE[3], QUEUE[0], QUEUE[1]])  # mine, other's, unclaimed
    by_row = {
        b["block_id"].split(":", 1)[1]: [e["action_id"] for e in b["elements"]]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("home-queue:")
    }
    assert by_row["4"] == ["inquiry_release", "inquiry_draft"]
    assert by_row["1"] == ["inquiry_draft"]
    assert by_row["2"] == ["inquiry_claim", "inquiry_draft"]


# -- limits, escaping, language ----------------------------------------------------------------


def test_hostile_subjects_stay_inert_and_the_view_within_limits() -> None:
    hostile = [replace(i, subject=HOSTILE, buyer_name=HOSTILE) for i in QUEUE]
    view = render(HomeFilter(), items=hostile)
    assert len(view["blocks"]) <= 40
    assert untrusted_markup("", view["blocks"], allowed_mentions=[ME, OTHER]) == []


def test_the_home_in_chinese() -> None:
    view = render(HomeFilter(queue="mine", page=1), lang="zh")
    text = page_text(view)
    assert "第 2 / 2 页 · 第 11–15 条，共 15 条" in text and "*我负责的* (15)" in text
    assert "偏好设置" in text and "← 上一页" in text and "全部市场" in text and "全部等级" in text
    assert not re.search(r"\b(Page|Previous|Next|Preferences|All markets|All tiers|Open|Mine)\b", text)


# -- preferences ---------------------------------------------------------------------------------


def submitted(modal: dict[str, Any], digest: str, pings: str, lang: str) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it when the modal is submitted with these choices."""
    by_block = {b["block_id"]: b["element"] for b in modal["blocks"]}
    lang_el = by_block[BLOCK_LANG]
    return {
        BLOCK_DIGEST_TIME: {
            by_block[BLOCK_DIGEST_TIME]["action_id"]: {"type": "timepicker", "selected_time": digest}
        },
        BLOCK_DM_PINGS: {
            by_block[BLOCK_DM_PINGS]["action_id"]: {
                "type": "radio_buttons",
                "selected_option": next(
                    o for o in by_block[BLOCK_DM_PINGS]["options"] if o["value"] == pings
                ),
            }
        },
        BLOCK_LANG: {
            lang_el["action_id"]: {
                "type": "static_select",
                "selected_option": next(o for o in lang_el["options"] if o["value"] == lang),
            }
        },
    }


def test_the_preferences_modal_shows_current_settings_and_reads_back_a_submission() -> None:
    modal = prefs_modal(MemberPrefs(), time(9), "en", "en")
    View(**modal).validate_json()
    by_block = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert by_block[BLOCK_DIGEST_TIME]["initial_time"] == "09:00"
    assert by_block[BLOCK_DM_PINGS]["initial_option"]["value"] == "on"
    assert by_block[BLOCK_LANG]["initial_option"]["value"] == "en"
    prefs = read_prefs(submitted(modal, "07:30", "off", "zh"))
    assert prefs == MemberPrefs(digest_time=time(7, 30), dm_pings=False, lang="zh")

    again = prefs_modal(prefs, time(9), "en", "zh")
    View(**again).validate_json()
    by_block = {b["block_id"]: b["element"] for b in again["blocks"]}
    assert by_block[BLOCK_DIGEST_TIME]["initial_time"] == "07:30"
    assert by_block[BLOCK_DM_PINGS]["initial_option"]["value"] == "off"
    assert by_block[BLOCK_LANG]["initial_option"]["value"] == "zh"
    assert again["title"]["text"] == "偏好设置"


def test_a_malformed_submission_names_the_block() -> None:
    modal = prefs_modal(MemberPrefs(), time(9), "en", "en")
    values = submitted(modal, "07:30", "on", "en")
    values[BLOCK_DIGEST_TIME][by_action(values, BLOCK_DIGEST_TIME)]["selected_time"] = "7h"
    with pytest.raises(ValueError, match=BLOCK_DIGEST_TIME):
        read_prefs(values)
    with pytest.raises(ValueError, match=BLOCK_LANG):
        read_prefs({k: v for k, v in submitted(modal, "07:30", "on", "en").items() if k != BLOCK_LANG})


def by_action(values: dict[str, Any], bid: str) -> str:
    return next(iter(values[bid]))


def test_the_home_footer_names_the_members_settings() -> None:
    page = queue_page(QUEUE, NOW, POLICY, ME, HomeFilter())
    view = home_view(
        ME, page, NOW, "en", prefs=MemberPrefs(time(7, 30), False, "zh"), default_digest_time=time(9)
    )
    assert "digest at 07:30 · reminders: Thread only · 中文" in page_text(view)
    default = home_view(ME, page, NOW, "en", prefs=MemberPrefs(), default_digest_time=time(8, 15))
    assert "digest at 08:15 · reminders: DM me · English" in page_text(default)


def test_member_prefs_documents_round_trip_and_tolerate_junk() -> None:
    prefs = MemberPrefs(time(6, 45), False, "zh")
    assert MemberPrefs.from_doc(prefs.to_doc()) == prefs
    assert MemberPrefs.from_doc(None) == MemberPrefs()
    assert MemberPrefs.from_doc({"digest_time": "25:99", "dm_pings": "no", "lang": "zh-TW"}) == MemberPrefs(
        None, True, "zh"
    )
    assert MemberPrefs(lang="de").lang_or("en") == "en"
    assert digest_cutoff(time(7)) == time(12) and digest_cutoff(time(17, 30)) > time(17, 30)
