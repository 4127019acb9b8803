"""Owner and team digests, and the stats text."""

from __future__ import annotations

import json

from bot.blocks.digest import owner_digest_messages, stats_blocks, stats_text, team_digest_messages
from tests.unit.test_blocks_card import HOSTILE, NOW, assert_valid_blocks, make_inquiry, untrusted_markup


def test_owner_digest_groups_and_counts() -> None:
    overdue = [make_inquiry(id="o1", subject="Late one")]
    due = [make_inquiry(id="d1"), make_inquiry(id="d2")]
    followups = {"quotation_followup": [make_inquiry(id="f1", subject="Quoted")]}
    text, blocks = owner_digest_messages("en", overdue, due, followups, [], NOW)[0]
    assert_valid_blocks(blocks)
    assert text == "Your inquiries today: 1 overdue · 2 due today · 1 follow-up · 0 unclaimed"
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "*Overdue* (1)" in dump and "*Due today* (2)" in dump
    assert "Follow up: quotation sent, no answer yet" in dump
    assert "`o1`" in dump
    assert "*Unclaimed*" not in dump  # empty groups are left out


def test_owner_digest_all_clear_and_zh() -> None:
    text, blocks = owner_digest_messages("zh", [], [], {}, [], NOW)[0]
    assert_valid_blocks(blocks)
    assert "没有待办事项" in json.dumps(blocks, ensure_ascii=False)
    assert text.startswith("今日询盘")


def test_digests_stay_within_limits_and_escape_mail_text() -> None:
    many = [make_inquiry(id=f"i{i}", subject=HOSTILE, buyer_name=HOSTILE) for i in range(30)]
    followups = {f"kind{i}<!here>": many for i in range(60)}
    text, blocks = owner_digest_messages("en", many, many, followups, many, NOW)[0]
    assert_valid_blocks(blocks)
    assert untrusted_markup(text, blocks) == []
    team_messages = team_digest_messages(
        "en",
        open_count=30,
        unclaimed=many,
        overdue=many,
        by_owner={"U0A": 3, "U0B": 5},
        now=NOW,
        answered_within_sla=(9, 12),
    )
    for text2, team in team_messages:  # long lists continue in further messages, none cut
        assert_valid_blocks(team)
        assert untrusted_markup(text2, team, allowed_mentions=["U0A", "U0B"]) == []
    dump = json.dumps([b for _, blocks in team_messages for b in blocks], ensure_ascii=False)
    assert "9 of 12 replies were on time (75%)" in dump
    assert dump.index("<@U0B>: 5") < dump.index("<@U0A>: 3")


def test_stats_text_in_both_languages() -> None:
    kw = dict(
        days=7,
        received=20,
        answered=16,
        within_sla=12,
        median_first_response_minutes=95.0,
        by_tier={"A": 5, "B": 10, "C": 5},
        by_market={"EU": 8, "SEA": 12},
        won=2,
        lost=1,
        filtered={"newsletter": 7},
    )
    en = stats_text("en", **kw)  # type: ignore[arg-type]
    assert "*Last 7 days*" in en
    assert "Answered: 16, 12 on time (75%)" in en
    assert "Median first response: 95 min" in en
    assert "By tier: B 10, A 5, C 5" in en
    assert "newsletters 7" in en
    zh = stats_text("zh", **{**kw, "median_first_response_minutes": 300.0})  # type: ignore[arg-type]
    assert "最近 7 天" in zh and "5.0 小时" in zh
    text, blocks = stats_blocks("en", en)
    assert text == "Last 7 days"
    assert_valid_blocks(blocks)
