"""Helpers for end-to-end Slack desk tests: a Config and Desktop on the fake Slack, signed requests.

``desktop = make_desktop(slack_server, tmp_path)`` builds the real composition root
(:func:`bot.app.wiring.build`) against the loopback fake Web API. ``dispatch(desktop.app, body,
content_type)`` signs a raw body like Slack does and hands it to Bolt, returning the
``BoltResponse``. Payload builders produce what Slack sends for clicks, selects, slash
commands and events; ``drain(worker)`` runs the delivery worker until nothing is due.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.app.wiring import Desktop, build
from bot.config.settings import Config, load_config
from bot.desk.delivery import DeliveryWorker
from tests.fakes.slack_server import Call, FakeSlack
from tests.fixtures_dovecot import Mailbox

SIGNING_SECRET = "test-secret"
CHANNEL = "CINQ"
ADMIN = "UADMIN"
T_ARRIVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def make_config(slack_server: FakeSlack, data_dir: Path, **extra: str) -> Config:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": slack_server.base_url,
        "DATA_DIR": str(data_dir),
        "BOT_ADMINS": ADMIN,
        **extra,
    }
    return load_config(env)


def bot_env(mailbox: Mailbox, slack_server: FakeSlack, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a bot started as a process (``python -m bot run``) on the test Dovecot and
    the fake Slack: this process's own variables minus any Slack/IMAP/OpenAI/SLA setting, fast SLA
    ticks, logs unbuffered; ``extra`` adds or overrides."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IMAP_", "OPENAI_", "SLA_"))}
    return {
        **kept,
        "IMAP_HOST": mailbox.host,
        "IMAP_PORT": str(mailbox.port),
        "IMAP_SSL": "false",
        "IMAP_USER": mailbox.user,
        "IMAP_PASSWORD": mailbox.password,
        "DATA_DIR": str(data_dir),
        "OWN_DOMAINS": "brightway-led.com",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": slack_server.base_url,
        "BOT_ADMINS": ADMIN,
        "SLA_TICK_SECONDS": "1",
        "SLA_WARN_AT": "50%",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def make_desktop(slack_server: FakeSlack, data_dir: Path, **extra: str) -> Desktop:
    return build(make_config(slack_server, data_dir, **extra), token_verification=False, min_interval=0)


def event_actions(desk: Desktop, inq_id: str) -> list[str]:
    """The actions recorded on an inquiry's event log, oldest first."""
    return [e.action for e in desk.store.require(inq_id).events]


def drain(worker: DeliveryWorker, timeout: float = 5.0) -> int:
    """Run the worker until a pass delivers nothing; return how many items it handled."""
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        done = worker.run_once()
        if not done:
            return total
        total += done
    raise TimeoutError("the delivery worker was still busy at the deadline")


# -- signed requests --------------------------------------------------------------------------


Headers = dict[str, str | Sequence[str]]


def signed_headers(body: str, content_type: str, timestamp: int | None = None) -> Headers:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "content-type": [content_type],
        "x-slack-signature": [signature],
        "x-slack-request-timestamp": [ts],
    }


def dispatch(app: App, body: str, content_type: str, headers: Headers | None = None) -> BoltResponse:
    """Hand Bolt a request signed with the test secret (or with ``headers`` as given)."""
    return app.dispatch(BoltRequest(body=body, headers=headers or signed_headers(body, content_type)))


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def form_body(payload: dict[str, Any]) -> str:
    """An interactivity request body: ``payload=<json>``, form-encoded."""
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def block_actions(
    user: str, action: dict[str, Any], *, channel: str = CHANNEL, ts: str = ""
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "111.222.abc",
        "channel": {"id": channel, "name": "inquiries"},
        "message": {"type": "message", "ts": ts, "text": ""},
        "response_url": "https://hooks.slack.invalid/actions/T1/1/x",
        "actions": [action],
    }


def home_actions(user: str, action: dict[str, Any], view: dict[str, Any] | None = None) -> dict[str, Any]:
    """What Slack sends for a click on ``user``'s App Home (``view`` = the Home as published)."""
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "VHOME"},
        "trigger_id": "111.222.home",
        "view": {**(view or {}), "id": "VHOME", "type": "home"},
        "actions": [action],
    }


def view_submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """What Slack sends when ``user`` submits the modal ``view`` (as opened) with ``values``."""
    return {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": "111.222.submit",
        "view": {**view, "id": "VMODAL", "state": {"values": values}},
    }


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    """The interactive element with ``action_id`` in a message's blocks, and its block's id."""
    for block in blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element, str(block.get("block_id", ""))
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("action_id") == action_id:
            return accessory, str(block.get("block_id", ""))
    raise LookupError(f"no element {action_id!r} in the blocks")


def click(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends when a member clicks the button ``action_id``."""
    element, bid = find_element(blocks, action_id)
    assert element["type"] == "button", element
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": bid,
        "text": element["text"],
        "value": element.get("value", ""),
        "action_ts": f"{time.time():.6f}",
    }


def choose(blocks: list[dict[str, Any]], action_id: str, value: str) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends when a member picks ``value`` in the select ``action_id``."""
    element, bid = find_element(blocks, action_id)
    base = {
        "action_id": action_id,
        "block_id": bid,
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "users_select":
        return {**base, "selected_user": value}
    options = {o["value"]: o for o in element.get("options", [])}
    assert value in options, f"{value!r} is not an option of {action_id}: {sorted(options)}"
    return {**base, "selected_option": options[value]}


def slash_body(text: str, user: str = "UALICE", command: str = "/inquiries") -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "team_domain": "test",
            "channel_id": CHANNEL,
            "channel_name": "inquiries",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "response_url": "https://hooks.slack.invalid/commands/T1/1/x",
            "trigger_id": "111.222.abc",
        }
    )


def event_body(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }
    )


# -- reading the fake's record ----------------------------------------------------------------


def cards(slack_server: FakeSlack) -> list[Call]:
    """Top-level posts to the inquiries channel that carry blocks (the cards)."""
    return [
        c
        for c in slack_server.calls("chat.postMessage")
        if c.params.get("channel") == CHANNEL and not c.params.get("thread_ts") and c.blocks
    ]


def thread_posts(slack_server: FakeSlack, ts: str) -> list[Call]:
    return [c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts") == ts]


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON-like value (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def wait_until(predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not met after {timeout}s")
        time.sleep(0.01)


def deliver_until(
    worker: DeliveryWorker, predicate: Any, timeout: float = 5.0, what: str = "condition"
) -> None:
    """``wait_until`` while delivering what is owed (as the running worker would): for state
    that appears only once the outbox is delivered (a draft posted by a drafting job)."""

    def delivered() -> bool:
        while worker.run_once():
            pass
        return bool(predicate())

    wait_until(delivered, timeout, what)
