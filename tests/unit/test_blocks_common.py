"""Escaping, truncation, date tokens, flags and element constructors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import common


def test_mrkdwn_escape_escapes_exactly_three_characters_ampersand_first() -> None:
    assert common.mrkdwn_escape("<!channel> & <@U1> &amp; \"'*_") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &amp;amp; \"'*_"
    )


@given(st.text())
def test_escaped_text_has_no_angle_brackets_and_unescapes_back(text: str) -> None:
    out = common.mrkdwn_escape(text)
    assert "<" not in out and ">" not in out
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_truncate_keeps_short_text_and_marks_long_text() -> None:
    assert common.truncate("short", 10) == "short"
    out = common.truncate("a" * 100, 30)
    assert len(out) <= 30 and out.endswith(common.TRUNCATION_MARKER)
    assert common.truncate("abcdef", 3, marker="…") == "ab…"


@given(st.text(alphabet="<>&a ", max_size=500), st.integers(min_value=20, max_value=300))
def test_esc_fits_limit_and_never_splits_an_entity(text: str, limit: int) -> None:
    out = common.esc(text, limit)
    assert len(out) <= limit
    body = out.removesuffix(common.TRUNCATION_MARKER)
    for i, ch in enumerate(body):
        if ch == "&":
            assert body[i:].startswith(("&amp;", "&lt;", "&gt;"))


def test_slack_date_token_uses_utc_epoch_and_fallback() -> None:
    dt = datetime(2026, 11, 20, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    assert common.slack_date(dt) == "<!date^1795167000^{date_short_pretty} {time}|2026-11-20 09:30 UTC>"
    assert common.slack_date(dt, "{date_long}").startswith("<!date^1795167000^{date_long}|")
    with pytest.raises(ValueError):
        common.slack_date(datetime(2026, 1, 1))


def test_flag_emoji_for_valid_codes_only() -> None:
    assert common.flag_emoji("de") == "🇩🇪"
    assert common.flag_emoji("VN") == "🇻🇳"
    assert common.flag_emoji(None) == ""
    assert common.flag_emoji("DEU") == ""
    assert common.flag_emoji("1A") == ""


def test_user_mention_only_for_slack_ids() -> None:
    assert common.user_mention("U0123ABC") == "<@U0123ABC>"
    assert common.user_mention("W0123ABC") == "<@W0123ABC>"
    assert common.user_mention("<!channel>") == "&lt;!channel&gt;"
    assert common.user_mention("u lower") == "u lower"


def test_button_and_option_limits() -> None:
    b = common.button("x" * 200, "a", "v")
    assert len(b["text"]["text"]) == common.MAX_BUTTON_TEXT
    with pytest.raises(ValueError):
        common.button("ok", "a", "v" * 2001)
    with pytest.raises(ValueError):
        common.actions([common.button("a", "same", "1"), common.button("b", "same", "2")])
    sel = common.static_select("s", "pick", [("1", "one"), ("2", "two")], "2")
    assert sel["initial_option"] == {
        "text": {"type": "plain_text", "text": "two", "emoji": True},
        "value": "2",
    }
    assert "initial_option" not in common.static_select("s", "pick", [("1", "one")], "9")


def test_block_ids_and_caps() -> None:
    assert common.block_id("inquiry", "a:b") == "inquiry:a:b"
    assert common.block_id_part("inquiry:a:b", 1) == "a:b"
    assert common.block_id_part("inquiry:a:b", 0) == "inquiry"
    with pytest.raises(ValueError):
        common.block_id("x" * 300)
    blocks = [common.divider() for _ in range(60)]
    capped = common.cap_blocks(blocks, 50, common.context("more"))
    assert len(capped) == 50 and capped[-1]["type"] == "context"
    with pytest.raises(ValueError):
        common.check_unique_block_ids([common.section("a", bid="x"), common.section("b", bid="x")])


def test_section_text_is_capped_at_3000() -> None:
    s = common.section("a" * 5000, fields=["b" * 3000] * 12)
    assert len(s["text"]["text"]) == 3000
    assert len(s["fields"]) == 10 and all(len(f["text"]) <= 2000 for f in s["fields"])


def test_slack_date_accepts_utc_constant() -> None:
    assert "|2026-01-01 00:00 UTC>" in common.slack_date(datetime(2026, 1, 1, tzinfo=UTC))
