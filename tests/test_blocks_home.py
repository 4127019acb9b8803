"""The App Home view."""

from __future__ import annotations

import json
from datetime import timedelta

from slack_sdk.models.views import View

from bot.blocks.common import MAX_BLOCKS_VIEW
from bot.blocks.home import home_view
from tests.test_blocks_card import HOSTILE, NOW, assert_valid_blocks, make_inquiry, untrusted_markup


def test_home_view_validates_and_lists_each_group() -> None:
    mine = [make_inquiry(id="m1", owner="U0ME")]
    unclaimed = [make_inquiry(id="u1"), make_inquiry(id="u2", subject="Samples?")]
    at_risk = [make_inquiry(id="m1", owner="U0ME")]  # also in mine: block ids must still be unique
    view = home_view("U0ME", mine, unclaimed, at_risk, NOW, "en", deadlines={"m1": NOW + timedelta(hours=1)})
    View(**view).validate_json()
    assert view["type"] == "home"
    assert_valid_blocks(view["blocks"], MAX_BLOCKS_VIEW)
    dump = json.dumps(view, ensure_ascii=False)
    for heading in ("*Mine* (1)", "*At risk* (1)", "*Unclaimed* (2)"):
        assert heading in dump
    buttons = [
        (e["action_id"], e["value"]) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert ("inquiry_release", "m1") in buttons
    assert ("inquiry_claim", "u1") in buttons and ("inquiry_claim", "u2") in buttons
    assert ("inquiry_draft", "u2") in buttons
    assert f"<!date^{int((NOW + timedelta(hours=1)).timestamp())}^" in dump


def test_home_view_stays_under_100_blocks_with_long_lists() -> None:
    many = [make_inquiry(id=f"i{i}", subject=HOSTILE) for i in range(80)]
    view = home_view("U0ME", many, many, many, NOW, "en")
    View(**view).validate_json()
    assert len(view["blocks"]) <= MAX_BLOCKS_VIEW
    assert_valid_blocks(view["blocks"], MAX_BLOCKS_VIEW)
    assert "…and 70 more" in json.dumps(view, ensure_ascii=False)
    assert untrusted_markup("", view["blocks"], allowed_mentions=["U0ME"]) == []


def test_home_view_shows_empty_lists_and_others_owned_rows_without_release() -> None:
    other = make_inquiry(id="o1", owner="U0OTHER")
    view = home_view("U0ME", [], [], [other], NOW, "zh")
    dump = json.dumps(view, ensure_ascii=False)
    assert "暂无" in dump and "我负责的" in dump
    row_actions = next(b for b in view["blocks"] if b.get("block_id") == "home-risk:o1")
    assert [e["action_id"] for e in row_actions["elements"]] == ["inquiry_draft"]
