"""The Slack app manifests match what the code registers and calls.

Least privilege: the bot scopes are derived from every Web API method the code under ``bot/``
calls (an AST walk: ``client.<method>(…)`` on a ``WebClient`` method, ``_call("…")`` /
``api_call("…")`` with a method name, ``app.command`` and ``app.event`` registrations), mapped
to Slack's required scopes by the table below. The manifests and ``doctor``'s table must hold
exactly those: a scope too many or one missing fails.
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.app.doctor import BOT_SCOPES
from bot.core import i18n
from bot.desk.commands import SUBCOMMANDS
from tests.paths import REPO

ROOT = REPO
MANIFEST = ROOT / "manifest.yml"
HTTP_MANIFEST = ROOT / "manifest.http.yml"

# Web API method -> the bot scopes it needs for the conversations the desk uses (the inquiries
# channel, public or private, and DMs), from https://docs.slack.dev/reference/methods.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "apps.connections.open": set(),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    "conversations.history": {"channels:history", "groups:history", "im:history"},
    "conversations.replies": {"channels:history", "groups:history", "im:history"},
    "conversations.open": {"im:write"},
    "users.info": {"users:read"},
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "views.publish": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "reactions.add": {"reactions:write"},
}
# Registrations that need a scope of their own.
COMMAND_SCOPES = {"commands"}
EVENT_SCOPES: dict[str, set[str]] = {"app_home_opened": set(), "app_mention": {"app_mentions:read"}}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@cache
def _client_methods() -> dict[str, set[str]]:
    """``WebClient`` attribute -> the Web API methods it calls (``files_upload_v2`` calls two)."""
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, fn in inspect.getmembers(WebClient, inspect.isfunction):
        if name.startswith("_") or name == "api_call":
            continue
        src = inspect.getsource(fn)
        direct[name] = set(re.findall(r'api_call\(\s*"([\w.]+)"', src))
        calls[name] = set(re.findall(r"self\.([a-z]\w+)\(", src)) - {name}

    def resolve(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found = set(direct.get(name, set()))
        for other in calls.get(name, set()) - seen:
            if other in direct:
                found |= resolve(other, seen | {name})
        return found

    return {name: resolve(name) for name in direct if resolve(name)}


def called_methods() -> dict[str, set[str]]:
    """Every Web API method (and registration) the code under bot/ uses -> where."""
    methods = _client_methods()
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            attr = node.func.attr
            first = node.args[0] if node.args else None
            is_text = isinstance(first, ast.Constant) and isinstance(first.value, str)
            literal = first.value if is_text and isinstance(first, ast.Constant) else None
            names: set[str] = set()
            if attr in methods:
                names = methods[attr]
            elif attr in ("_call", "api_call") and literal and re.fullmatch(r"[a-z]+(\.[a-zA-Z]+)+", literal):
                names = {literal}
            elif attr == "command" and literal and literal.startswith("/"):
                names = {"<slash command>"}
            elif attr == "event" and literal:
                names = {f"<event {literal}>"}
            for name in names:
                found.setdefault(name, set()).add(where)
    return found


def derived_scopes() -> set[str]:
    scopes: set[str] = set()
    unknown = []
    for method in called_methods():
        if method == "<slash command>":
            scopes |= COMMAND_SCOPES
        elif method.startswith("<event "):
            event = method[len("<event ") : -1]
            if event not in EVENT_SCOPES:
                unknown.append(method)
            scopes |= EVENT_SCOPES.get(event, set())
        elif method not in METHOD_SCOPES:
            unknown.append(method)
        else:
            scopes |= METHOD_SCOPES[method]
    assert not unknown, f"add these to METHOD_SCOPES / EVENT_SCOPES with their scopes: {unknown}"
    return scopes


def test_the_walk_finds_the_calls_we_know_of() -> None:
    found = called_methods()
    # One of each way the code reaches Slack, so the walk cannot silently find nothing.
    assert "bot/adapters/slack/chat.py" in found["chat.postMessage"]  # SlackChat._call("chat.postMessage")
    assert "bot/handlers/actions.py" in found["chat.postEphemeral"]  # client.chat_postEphemeral
    assert "files.completeUploadExternal" in found  # files_upload_v2 calls two methods
    assert "bot/app/doctor.py" in found["apps.connections.open"]
    assert "<slash command>" in found and "<event app_home_opened>" in found


@pytest.mark.parametrize("path", [MANIFEST, HTTP_MANIFEST], ids=["socket", "http"])
def test_manifest_scopes_are_exactly_what_the_code_calls(path: Path) -> None:
    granted = set(_load(path)["oauth_config"]["scopes"]["bot"])
    needed = derived_scopes()
    assert not granted - needed, f"requested but never used: {sorted(granted - needed)}"
    assert not needed - granted, f"used but not requested: {sorted(needed - granted)}"
    assert set(BOT_SCOPES) == needed  # what `doctor` checks the installed token against


def test_the_fake_slack_grants_what_the_manifest_asks_for() -> None:
    from tests.fakes.slack_server import GRANTED_SCOPES

    assert set(GRANTED_SCOPES.split(",")) == derived_scopes()


@pytest.mark.parametrize("path", [MANIFEST, HTTP_MANIFEST], ids=["socket", "http"])
def test_manifest_enables_home_messages_and_interactivity(path: Path) -> None:
    m = _load(path)
    home = m["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    # SLA pings, digests and refusals are DMs: the Messages tab keeps them, read-only.
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["features"]["bot_user"]["display_name"] == "Inquiry Desk"
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    registered = {name[len("<event ") : -1] for name in called_methods() if name.startswith("<event ")}
    assert events == registered


def test_socket_manifest_needs_no_url_and_http_manifest_names_every_one() -> None:
    socket_mode, http = _load(MANIFEST), _load(HTTP_MANIFEST)
    assert socket_mode["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket_mode["settings"]["event_subscriptions"]
    assert "request_url" not in socket_mode["settings"]["interactivity"]
    assert all("url" not in c for c in socket_mode["features"]["slash_commands"])
    assert http["settings"]["socket_mode_enabled"] is False
    urls = [
        http["settings"]["event_subscriptions"]["request_url"],
        http["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in http["features"]["slash_commands"]),
    ]
    assert len(urls) == 3
    for url in urls:  # Bolt serves everything on one path (bot/adapters/slack/http_server.py)
        assert re.fullmatch(r"https://[a-z0-9.-]+/slack/events", url), url
    # Otherwise the same app.
    assert http["features"]["app_home"] == socket_mode["features"]["app_home"]
    assert http["oauth_config"] == socket_mode["oauth_config"]
    assert [c["usage_hint"] for c in http["features"]["slash_commands"]] == [
        c["usage_hint"] for c in socket_mode["features"]["slash_commands"]
    ]


def test_slash_command_usage_hint_names_every_subcommand_in_help() -> None:
    (cmd,) = _load(MANIFEST)["features"]["slash_commands"]
    assert cmd["command"] == "/inquiries"
    subs = [part.split()[0] for part in cmd["usage_hint"].split(" | ")]
    assert sorted(subs) == sorted(SUBCOMMANDS)  # release ID included
    assert "release ID" in cmd["usage_hint"]
    for lang in ("en", "zh"):
        help_text = i18n.t("cmd.usage", lang)
        for sub in subs:
            assert f"`{sub}" in help_text, (lang, sub)
