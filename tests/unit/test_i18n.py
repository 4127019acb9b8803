"""Message catalogs: parity between languages, fallback and formatting."""

from __future__ import annotations

import pytest

from bot.core import i18n


def test_en_and_zh_have_the_same_keys() -> None:
    assert set(i18n.catalog("en")) == set(i18n.catalog("zh"))


def test_en_and_zh_use_the_same_placeholders() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    mismatched = {k for k in en if i18n.placeholders(en[k]) != i18n.placeholders(zh[k])}
    assert mismatched == set()


def test_zh_is_actually_translated() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    same = {k for k in en if en[k] == zh[k] and any(c.isalpha() for c in en[k])}
    assert same == set()


def test_every_template_formats_with_its_placeholders() -> None:
    for lang in i18n.SUPPORTED:
        for key, template in i18n.catalog(lang).items():
            kw = {name: "X" for name in i18n.placeholders(template)}
            assert i18n.t(key, lang, **kw)


def test_t_translates_formats_and_maps_language_tags() -> None:
    assert i18n.t("card.claim", "en") == "Claim"
    assert i18n.t("card.claim", "zh-CN") == "认领"
    assert i18n.t("card.claim", "zh_TW") == "认领"
    assert i18n.t("card.claim", "de") == "Claim"
    assert i18n.t("refuse.already_claimed", "en", owner="<@U1>") == "Already claimed by <@U1>."
    assert i18n.t("refuse.not_owner", "zh", action="转交") == "只有负责人或管理员可以转交。"


def test_missing_key_raises() -> None:
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "zh")


def test_help_text_lists_every_subcommand() -> None:
    for lang in i18n.SUPPORTED:
        usage = i18n.t("cmd.usage", lang)
        for sub in (
            "mine",
            "open",
            "unclaimed",
            "overdue",
            "search",
            "claim",
            "tier",
            "status",
            "note",
            "snooze",
            "draft",
            "history",
            "stats",
            "help",
        ):
            assert f"`{sub}" in usage, (lang, sub)


def test_sla_ping_texts_exist_for_every_kind_and_target() -> None:
    for kind in ("sla_warning", "sla_breach", "followup"):
        for target in ("owner_dm", "thread_team", "thread_owner_admins"):
            assert set(i18n.catalog("en")) >= {f"ping.{kind}.{target}"}
    kw = {
        "id": "i1",
        "subject": "S",
        "deadline": "D",
        "owner": "<@U1>",
        "admins": "",
        "rung": "1h",
        "step": "",
    }
    text = i18n.t("ping.sla_breach.owner_dm", "en", **kw)
    assert text == "🔴 <@U1>, your reply to *S* (`i1`) is overdue (due D)."
    assert i18n.t("ping.sla_warning.thread_team", "zh", **kw).startswith("⏰ 此询盘还没有人认领")
    assert i18n.has("digest.owner.title") and i18n.has("digest.team.title")
