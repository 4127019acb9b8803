"""The Slack app manifest matches what the code registers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot import i18n

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def _manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_enables_socket_mode_home_and_interactivity() -> None:
    m = _manifest()
    assert m["settings"]["socket_mode_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["features"]["bot_user"]["display_name"] == "Inquiry Desk"
    assert "app_home_opened" in m["settings"]["event_subscriptions"]["bot_events"]


def test_manifest_scopes_cover_what_the_bot_calls() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    needed = {
        "chat:write",
        "channels:read",
        "groups:read",
        "im:write",
        "users:read",
        "commands",
        "files:write",
        # conversations.history / .replies: find a post made just before a crash (no repeats)
        "channels:history",
        "groups:history",
        "im:history",
    }
    assert needed <= scopes


def test_slash_command_usage_hint_names_every_subcommand_in_help() -> None:
    (cmd,) = _manifest()["features"]["slash_commands"]
    assert cmd["command"] == "/inquiries"
    subs = [part.split()[0] for part in cmd["usage_hint"].split(" | ")]
    help_text = i18n.t("cmd.usage", "en")
    for sub in subs:
        assert f"`{sub}" in help_text
    assert len(subs) == 14
