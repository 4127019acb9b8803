"""The desk end to end in both of Slack's connection modes: the real ``python -m bot run``.

The same scenario runs twice, once in Socket Mode (``SLACK_APP_TOKEN=xapp-test``: the fake Web
API's ``apps.connections.open`` hands out a ``ws://`` URL of the loopback WebSocket server in
``tests/fakes/socket_server.py``) and once in HTTP mode (signed POSTs to ``/slack/events``):

mail in Dovecot → card; two members claim it at once → exactly one owner, the other told;
``/inquiries mine``; *Draft reply* → a draft in the card's thread; App Home opened → published;
the SLA warning; SIGTERM and a restart → nothing posted twice, the desk still answers.

Socket Mode only: the server drops the WebSocket (the bot reconnects on a fresh URL and an
event that came meanwhile is delivered once, as Slack retries it) and sends ``disconnect``
(``refresh_requested``: the bot opens a new connection and closes the old one), with nothing
lost or repeated.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.factories import raw_mail
from tests.fakes.slack_server import Call, FakeSlack
from tests.fakes.socket_server import FakeSocketMode
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    JSON,
    block_actions,
    bot_env,
    cards,
    click,
    event_body,
    find_element,
    form_body,
    signed_headers,
    slash_body,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail(subject: str, body: str, sender: str) -> bytes:
    return raw_mail(
        body,
        subject=subject,
        from_=sender,
        message_id=make_msgid(domain="dienquang.com.vn"),
        date=format_datetime(datetime.now(UTC)),
    )


class Bot:
    """``python -m bot run`` in ``tmp``, its output in ``bot-N.log``."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp, self.runs = env, tmp, 0
        self.proc: subprocess.Popen[str] | None = None
        self.log = tmp / "bot-0.log"

    def start(self) -> None:
        self.runs += 1
        self.log = self.tmp / f"bot-{self.runs}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.tmp,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the bot did not stop within 20 s of SIGTERM:\n{self.log.read_text()[-3000:]}")

    def wait(self, predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the bot exited ({self.proc.returncode}) waiting for {what}:\n{self.log.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)


class Transport(Protocol):
    """How Slack reaches the bot: each call returns what the bot acknowledged with (a dict)."""

    def ready(self, bot: Bot) -> None: ...
    def interactive(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def command(self, text: str, user: str) -> dict[str, Any]: ...
    def event(self, event: dict[str, Any]) -> dict[str, Any]: ...


class Http:
    def __init__(self, port: int) -> None:
        self.port = port

    def _post(self, body: str, content_type: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers={k: str(v[0]) for k, v in signed_headers(body, content_type).items()},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            text = answer.read().decode()
        if not text.strip():
            return {}
        # Bolt answers an ack with only a text as that text, anything more as JSON.
        return dict(json.loads(text)) if text.lstrip().startswith("{") else {"text": text}

    def ready(self, bot: Bot) -> None:
        def answers() -> bool:
            try:
                return "/inquiries" in str(self.command("help", "UALICE"))
            except (urllib.error.URLError, ConnectionError):
                return False

        bot.wait(answers, "HTTP mode to answer", 30)

    def interactive(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = [{} for _ in payloads]

        def one(i: int) -> None:
            answers[i] = self._post(form_body(payloads[i]), FORM)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(payloads))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=15)
        return answers

    def command(self, text: str, user: str) -> dict[str, Any]:
        return self._post(slash_body(text, user), FORM)

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._post(event_body(event), JSON)


class Socket:
    def __init__(self, server: FakeSocketMode) -> None:
        self.server = server
        self.connections_seen = 0

    def ready(self, bot: Bot) -> None:
        self.connections_seen += 1
        bot.wait(
            lambda: len(self.server.links) >= self.connections_seen and self.server.links[-1].open,
            f"Socket Mode connection {self.connections_seen}",
            30,
        )

    def _payload(self, envelope_id: str) -> dict[str, Any]:
        payload = self.server.wait_ack(envelope_id).get("payload") or {}
        assert isinstance(payload, dict)
        return payload

    def interactive(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [self.server.send_interactive(p) for p in payloads]  # back to back: handled concurrently
        return [self._payload(i) for i in ids]

    def command(self, text: str, user: str) -> dict[str, Any]:
        form = dict(urllib.parse.parse_qsl(slash_body(text, user)))
        return self._payload(self.server.send_command(form))

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._payload(self.server.send_event(event))


def _env(mailbox: Any, slack: FakeSlack, tmp: Path, mode: str) -> dict[str, str]:
    env = bot_env(
        mailbox, slack, tmp / "data", SLA_HOURS_SEA="0.008"
    )  # 28.8 s: the 50 % warning after 14.4 s
    if mode == "socket":
        env["SLACK_APP_TOKEN"] = "xapp-test"
    else:
        env["SLACK_SIGNING_SECRET"] = "test-secret"
        env["BOT_HTTP_PORT"] = str(_free_port())
    return env


def _thread(slack: FakeSlack, ts: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts") == ts]


def _has_draft(slack: FakeSlack, card_ts: str) -> bool:
    for message in slack.thread(CHANNEL, card_ts):
        try:
            find_element(message.get("blocks") or [], "draft_send")
            return True
        except LookupError:
            continue
    return False


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_the_desk_end_to_end(
    mode: str, mailbox: Any, slack_server: FakeSlack, socket_mode: FakeSocketMode, tmp_path: Path
) -> None:
    env = _env(mailbox, slack_server, tmp_path, mode)
    transport: Transport = Socket(socket_mode) if mode == "socket" else Http(int(env["BOT_HTTP_PORT"]))
    # In the mailbox before the first start (the first start's backfill takes it): appended
    # while the watcher is between its catch-up and IDLE, Dovecot would tell it only later.
    mailbox.append(
        "INBOX",
        _mail(
            "Yêu cầu báo giá đèn pha LED 100W",
            "Kính gửi Brightway LED,\n\nCông ty chúng tôi cần 1.000 cái đèn pha LED 100W, IP65. "
            "Vui lòng báo giá CIF Hải Phòng.\n\nTrân trọng,\nNguyễn Văn An\n+84 28 3822 1234",
            "An Nguyen <an@dienquang.com.vn>",
        ),
    )
    bot = Bot(env, tmp_path)
    bot.start()
    try:
        transport.ready(bot)
        bot.wait(lambda: cards(slack_server), "the card")
        (card,) = cards(slack_server)
        card_ts = str(card.response["ts"])
        inq_id = str(find_element(card.blocks, "inquiry_claim")[0]["value"])

        # Two members claim at the same moment: one owner, the other is told who.
        claims = [
            block_actions(user, click(card.blocks, "inquiry_claim"), ts=card_ts)
            for user in ("UALICE", "UBOB")
        ]
        transport.interactive(claims)

        def owner() -> str | None:
            text = json.dumps(slack_server.messages[(CHANNEL, card_ts)].get("blocks"))
            found = [u for u in ("UALICE", "UBOB") if f"<@{u}>" in text]
            return found[0] if len(found) == 1 else None

        bot.wait(owner, "the card to show its one owner")
        bot.wait(lambda: slack_server.calls("chat.postEphemeral"), "the loser told")
        winner = owner()
        loser = "UBOB" if winner == "UALICE" else "UALICE"
        (told,) = slack_server.calls("chat.postEphemeral")
        assert told.params["user"] == loser and "Already claimed" in told.params["text"]
        assert f"<@{winner}>" in told.params["text"]

        mine = transport.command("mine", winner)
        assert f"#{inq_id}" in mine["text"]
        assert "No inquiries found" in transport.command("mine", loser)["text"]

        # Draft reply: acknowledged at once, the draft lands in the card's thread.
        transport.interactive([block_actions(winner, click(card.blocks, "inquiry_draft"), ts=card_ts)])
        bot.wait(lambda: _has_draft(slack_server, card_ts), "the draft in the thread")

        # App Home opened: the owner's Home is published with the inquiry on it.
        transport.event({"type": "app_home_opened", "user": winner, "tab": "home", "channel": "D1"})
        bot.wait(
            lambda: any(c.params.get("user_id") == winner for c in slack_server.calls("views.publish")),
            "App Home published",
        )
        home = next(c for c in slack_server.calls("views.publish") if c.params.get("user_id") == winner)
        buttons = [
            e
            for b in home.params["view"]["blocks"]
            for e in b.get("elements", [])
            if e.get("type") == "button"
        ]
        assert any(e.get("value") == inq_id for e in buttons), "the owner's inquiry is on the Home"

        # The SLA warning, once.
        def warnings() -> list[Call]:
            return [c for c in slack_server.calls("chat.postMessage") if "⏰" in str(c.params.get("text"))]

        bot.wait(warnings, "the SLA warning", 40)
        assert bot.stop() == 0

        # Restart on the same data: nothing posted again, the desk still answers.
        cards_before, warnings_before = len(cards(slack_server)), len(warnings())
        bot.start()
        transport.ready(bot)
        bot.wait(
            lambda: any("🔴" in str(c.params.get("text")) for c in slack_server.calls("chat.postMessage")),
            "the breach after the restart",
            40,
        )
        assert len(cards(slack_server)) == cards_before == 1
        assert len(warnings()) == warnings_before == 1
        assert f"#{inq_id}" in transport.command("mine", winner)["text"]

        if isinstance(transport, Socket):
            _socket_faults(bot, transport, socket_mode, slack_server, inq_id, card_ts, winner)
        assert bot.stop() == 0
    finally:
        if bot.proc is not None and bot.proc.poll() is None:
            bot.proc.kill()
    for run in range(1, bot.runs + 1):
        logged = (tmp_path / f"bot-{run}.log").read_text()
        assert "Kính gửi" not in logged and "xoxb-test" not in logged and "xapp-test" not in logged
        assert "Traceback" not in logged, logged


def _socket_faults(
    bot: Bot,
    transport: Socket,
    server: FakeSocketMode,
    slack: FakeSlack,
    inq_id: str,
    card_ts: str,
    owner: str,
) -> None:
    """A dropped WebSocket and a ``refresh_requested`` disconnect: nothing lost, nothing twice."""

    def notes(text: str) -> int:
        return sum(text in str(c.params.get("text")) for c in _thread(slack, card_ts))

    opened = len(slack.calls("apps.connections.open"))
    links = len(server.links)
    transport.command(f"note {inq_id} before-the-drop", owner)
    bot.wait(lambda: notes("before-the-drop"), "the first note")

    # Slack drops the socket; an event that comes meanwhile is held and retried on the new one.
    dropped = server.drop()
    held = server.send_event({"type": "app_home_opened", "user": "UCAROL", "tab": "home", "channel": "D2"})
    fresh = server.wait_links(links + 1, timeout=10)  # the builtin client notices within a ping interval
    assert server.wait_ack(held, timeout=15)["envelope_id"] == held
    assert server.envelope(held)["retry_attempt"] == 1  # resent by "Slack", not lost
    bot.wait(
        lambda: [c for c in slack.calls("views.publish") if c.params.get("user_id") == "UCAROL"],
        "the Home of the event retried after the drop",
    )
    assert dropped.closed_by == "server" and fresh.ticket != dropped.ticket
    assert len(slack.calls("apps.connections.open")) == opened + 1  # a fresh URL, not the dead one
    transport.command(f"note {inq_id} after-the-drop", owner)
    bot.wait(lambda: notes("after-the-drop"), "the note after the drop")

    old = server.refresh()
    newest = server.wait_links(links + 2)
    bot.wait(lambda: not old.open, "the bot to close the refreshed connection")
    assert old.closed_by == "client" and newest.ticket not in (old.ticket, dropped.ticket)
    transport.command(f"note {inq_id} after-the-refresh", owner)
    bot.wait(lambda: notes("after-the-refresh"), "the note after the refresh")

    for text in ("before-the-drop", "after-the-drop", "after-the-refresh"):
        assert notes(text) == 1, text
    assert len([c for c in slack.calls("views.publish") if c.params.get("user_id") == "UCAROL"]) == 1
    assert server.duplicate_acks == [] and server.refused == [] and server.unparsed == []
    assert server.undelivered == []
    assert all(server.times_sent(e) == 1 for e in server.acks)
