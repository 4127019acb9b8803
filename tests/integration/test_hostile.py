"""Hostile input: email text never becomes live Slack markup, odd commands get the usage,
and HTTP mode turns away forged, replayed and retried requests.

Mail goes in as raw bytes through the real parser and ingestor; cards, thread follow-ups,
drafts (offline template and a model answer that itself carries mentions) and the App Home go
out through the real composition root to the fake Slack, whose recorded calls are searched for
Slack control sequences that could only have come from the email. HTTP mode is Bolt's own
HTTP server on loopback, spoken to with real HTTP requests.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_bolt.app.app import SlackAppDevelopmentServer

from bot.adapters.mail.imap_source import FetchedMessage
from bot.app.wiring import Desktop
from bot.core.errors import UsageError
from bot.desk.commands import SUBCOMMANDS, parse_command
from bot.handlers.commands import CommandHandler
from tests.factories import raw_mail
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack_helpers import (
    FORM,
    JSON,
    cards,
    dispatch,
    drain,
    make_desktop,
    signed_headers,
    slash_body,
    strings,
    thread_posts,
    wait_until,
)

USAGE_MARK = "`claim ID`"  # a line of the usage text (bot/core/locales/en.json: cmd.usage)
HOSTILE = (
    "<!channel> <!here> <!everyone> <!subteam^S0HOSTILE> <@U0HOSTILE> <#C0HOSTILE> "
    "<https://evil.example/pay|Invoice> <mailto:evil@evil.example|mail us> "
    "<!date^1111111111^{date}|FORGED> *URGENT* _pay_ ~now~ `wire` &amp; &lt;!channel&gt;"
)
# Control sequences that can only have come from the hostile text above.
LIVE = (
    "<!channel",
    "<!here",
    "<!everyone",
    "<!subteam",
    "<@U0HOSTILE",
    "<#C0HOSTILE",
    "<http",
    "<mailto",
    "<!date^1111111111",
)
BUYER_MID = "<hostile-1@evil-buyer.example>"


def hostile_mail(message_id: str, subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    return raw_mail(
        body,
        subject=subject,
        from_='"<!channel> Evil <@U0HOSTILE>" <buyer@evil-buyer.example>',
        message_id=message_id,
        date="Fri, 20 Nov 2026 09:00:00 +0700",
        in_reply_to=in_reply_to,
        references=in_reply_to,
        html=f"<html><body><p>{body}</p><a href='https://evil.example/pay'>&lt;!channel&gt; Invoice</a>"
        "</body></html>",
        attachments=[("<!channel> <@U0HOSTILE>.pdf", "application/pdf", b"%PDF-1.4")],
    )


def deliver(desktop: Desktop, raw: bytes, uid: int) -> str:
    fetched = FetchedMessage(
        uid=uid,
        raw=raw,
        internaldate=datetime.now(UTC) - timedelta(minutes=5),
        flags=(),
        size=len(raw),
        backfill=False,
    )
    result = desktop.ingestor.deliver("INBOX", fetched)
    assert result.inquiry_id is not None
    return result.inquiry_id


def rendered_strings(call: Call) -> list[str]:
    """Every string Slack would render from a call (message metadata is data, not shown)."""
    return [s for key, value in call.params.items() if key != "metadata" for s in strings(value)]


def assert_nothing_live(calls: list[Call]) -> None:
    assert calls
    for call in calls:
        assert "link_names" not in call.params, call.method
        for s in rendered_strings(call):
            for bad in LIVE:
                assert bad not in s, f"{call.method}: {bad!r} reached Slack live in {s[:300]!r}"


@pytest.fixture
def desktop_env() -> dict[str, str]:
    return {"OWN_DOMAINS": "brightway-led.com"}


def test_email_markup_is_inert_on_the_card_the_thread_the_template_draft_and_the_home(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id = deliver(
        desktop,
        hostile_mail(
            BUYER_MID,
            f"RFQ 500 pcs LED panel 600x600 {HOSTILE}",
            f"Dear sales, please quote 500 pcs of LED panels 600x600 FOB Shenzhen. {HOSTILE}\n\nRegards",
        ),
        uid=1,
    )
    inq = desktop.store.require(inq_id)
    assert inq.triage.is_inquiry, inq.triage.reason
    drain(desktop.worker)
    [card] = cards(slack_server)
    assert any("&lt;!channel&gt;" in s for s in rendered_strings(card)), "the text is shown, escaped"

    follow = hostile_mail(
        "<hostile-2@evil-buyer.example>",
        "Re: RFQ 500 pcs LED panel 600x600",
        f"Any news? {HOSTILE}",
        in_reply_to=BUYER_MID,
    )
    assert deliver(desktop, follow, uid=2) == inq_id
    drain(desktop.worker)
    ts = desktop.store.require(inq_id).card_ts
    assert ts is not None and len(thread_posts(slack_server, ts)) >= 1

    draft_id = desktop.services.drafting.run_draft(inq_id, "UREP")
    assert draft_id
    assert desktop.services.sending.get_draft(draft_id)["is_template"]
    drain(desktop.worker)

    desktop.services.desk.claim(inq_id, "UREP")
    drain(desktop.worker)
    desktop.services.home.publish("UREP")

    calls = [
        c
        for method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish")
        for c in slack_server.calls(method)
    ]
    assert slack_server.calls("views.publish") and slack_server.calls("chat.update")
    assert_nothing_live(calls)
    assert all(c.params.get("parse") == "none" for c in slack_server.calls("chat.update"))


def test_a_model_draft_carrying_mentions_and_links_is_inert_in_slack(
    slack_server: FakeSlack, llm_server: FakeLlmServer, tmp_path: Path
) -> None:
    llm_server.reply(
        json.dumps(
            {
                "draft": f"Dear buyer,\n\nplease pay here. {HOSTILE}\n\nBest regards",
                "translation_of_email": f"Translated: {HOSTILE}",
                "translation_of_draft": f"Translated draft: {HOSTILE}",
            }
        )
    )
    desktop = make_desktop(
        slack_server,
        tmp_path,
        OWN_DOMAINS="brightway-led.com",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm_server.base_url,
        OPENAI_MODEL="test-model",
        OPENAI_TIMEOUT_SECONDS="5",
    )
    try:
        inq_id = deliver(
            desktop,
            hostile_mail(BUYER_MID, "RFQ LED highbay 150W", f"Please quote 300 pcs highbay 150W. {HOSTILE}"),
            uid=1,
        )
        drain(desktop.worker)
        draft_id = desktop.services.drafting.run_draft(inq_id, "UREP")
        assert draft_id
        draft = desktop.services.sending.get_draft(draft_id)
        assert not draft["is_template"], "the model's draft was used"
        assert llm_server.chat_requests
        drain(desktop.worker)
        calls = slack_server.calls("chat.postMessage") + slack_server.calls("chat.update")
        shown = [s for c in calls for s in rendered_strings(c)]
        assert any("please pay here" in s for s in shown), "the model draft reached Slack"
        assert_nothing_live(calls)
    finally:
        desktop.store.close()


# -- slash commands ------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [*SUBCOMMANDS, "#1", "1", "999999999", "0", "-1", "2d", "A", "won", *HOSTILE.split(), "\x00", "🙂", ""]
)
_COMMAND_TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(_WORDS, max_size=6).map(" ".join),
    st.lists(st.one_of(_WORDS, st.text(max_size=15)), max_size=6).map("\t".join),
    st.just("x" * 5000),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_COMMAND_TEXTS, user=st.sampled_from(["UALICE", "UADMIN", "", "<!channel>"]))
@example(text="stats <!channel>", user="UALICE")  # once echoed the period unescaped
@example(text="tier 1 <@U0HOSTILE>", user="UALICE")
def test_any_command_text_is_answered_and_bad_text_gets_the_usage(
    desktop: Desktop, text: str, user: str
) -> None:
    handler = CommandHandler(desktop.services)
    answer = handler.answer(text, user)
    assert isinstance(answer, str) and answer.strip()
    try:
        parse_command(text)
    except UsageError:
        assert USAGE_MARK in answer, answer[:300]
    for bad in LIVE:
        assert bad not in answer, f"{bad!r} echoed live in {answer[:300]!r}"


def test_a_hostile_note_stays_inert_in_the_history_and_the_thread(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id = deliver(desktop, hostile_mail(BUYER_MID, "RFQ LED panels", "Please quote 500 panels."), uid=1)
    drain(desktop.worker)
    handler = CommandHandler(desktop.services)
    handler.answer(f"note {inq_id} {HOSTILE}", "UALICE")
    drain(desktop.worker)
    history = handler.answer(f"history {inq_id}", "UALICE")
    search = handler.answer("search <!channel>", "UALICE")
    for text in (history, search):
        for bad in LIVE:
            assert bad not in text
    assert_nothing_live(slack_server.calls("chat.postMessage") + slack_server.calls("chat.update"))


def test_odd_slash_commands_through_bolt_answer_with_the_usage(desktop: Desktop) -> None:
    for text in ("\x00\x01", "claim <!channel>", "tier 1 " + "Z" * 3000, "🙂 🙂", "snooze 1 99999999999999w"):
        response = dispatch(desktop.app, slash_body(text), FORM)
        assert response.status == 200
        body = response.body
        assert USAGE_MARK in body or "inquiry" in body.lower(), body[:300]
        assert "<!channel" not in body


# -- HTTP mode ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_url(desktop: Desktop) -> Iterator[str]:
    """Bolt's HTTP server (what ``inquiry-bot run`` starts without Socket Mode) on loopback."""
    port = _free_port()
    server = SlackAppDevelopmentServer(port, "/slack/events", desktop.app, http_server_logger_enabled=False)
    thread = threading.Thread(target=server.start, name="bolt-http", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        yield url
    finally:
        server._server.shutdown()
        thread.join(timeout=5)


def post(url: str, body: str, headers: dict[str, Any]) -> tuple[int, str]:
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in headers.items()}
    request = urllib.request.Request(url, data=body.encode(), headers=flat, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def home_opened(user: str, event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"},
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }
    )


def test_http_mode_rejects_forged_and_replayed_requests(http_url: str, slack_server: FakeSlack) -> None:
    body = slash_body("help")
    now = int(time.time())
    forged = {**signed_headers(body, FORM, now), "x-slack-signature": "v0=" + "ab" * 32}
    other_body = {**signed_headers(slash_body("claim 1"), FORM, now)}  # a signature for another body
    replayed = signed_headers(body, FORM, now - 6 * 60)  # genuine, but captured 6 minutes ago
    future = signed_headers(body, FORM, now + 6 * 60)
    unsigned = {"content-type": FORM}

    for headers in (forged, other_body, replayed, future, unsigned):
        status, _ = post(http_url, body, headers)
        assert status == 401
    status, text = post(http_url, body, signed_headers(body, FORM))
    assert status == 200 and USAGE_MARK in text
    assert slack_server.calls("views.publish") == []


def test_a_retried_event_delivery_publishes_the_home_once(
    http_url: str, slack_server: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    first = home_opened("UALICE", "Ev0HOSTILE1")
    assert post(http_url, first, signed_headers(first, JSON))[0] == 200
    slack_server.wait_for("views.publish", 1)

    retry = {**signed_headers(first, JSON), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    assert post(http_url, first, retry)[0] == 200
    other = home_opened("UBOB", "Ev0HOSTILE2")
    assert post(http_url, other, signed_headers(other, JSON))[0] == 200

    def for_user(user: str) -> list[Call]:
        return [c for c in slack_server.calls("views.publish") if c.params.get("user_id") == user]

    wait_until(lambda: len(for_user("UBOB")) == 1, 5, "the other event handled")
    wait_until(
        lambda: (
            len(for_user("UALICE")) > 1 or any("delivered again" in r.getMessage() for r in caplog.records)
        ),
        5,
        "the retry handled",
    )
    assert len(for_user("UALICE")) == 1
