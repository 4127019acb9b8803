"""Two instances in Socket Mode, one desk (issue #15): each holds its own connection, Slack spreads.

Two ``python -m bot run`` processes on the suite's PostgreSQL and one Dovecot mailbox, both with
``SLACK_APP_TOKEN`` set: each asks the fake Web API's ``apps.connections.open`` for a URL of its
own and connects to the loopback WebSocket server (``tests/fakes/socket_server.py``), which, like
Slack, spreads envelopes round robin over the open connections and never sends to a closed one.

- each instance opens one connection: two ``apps.connections.open`` calls, two live sockets;
- 200 members click *Claim* on the same card at once (the ``block_actions`` payload Slack
  sends), 100 envelopes on each connection: every envelope is acked once, on the connection it
  went to; exactly one owner in the store, every member refused is told who owns it, and every
  version of the card Slack was sent shows that owner and nobody else;
- one instance is frozen (SIGSTOP) while two App Home events go out, one per connection, then
  SIGKILLed: the server sees its connection close, sends the event it never acked again on the
  survivor (as Slack retries an event) and everything new to the survivor, which handles both
  Homes once, a *Release* and a new *Claim* (the card follows) without opening a connection again.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app.store import open_postgres
from tests.fakes.slack_server import FakeSlack
from tests.fakes.socket_server import FakeSocketMode
from tests.fixtures_dovecot import Mailbox
from tests.integration.test_faults import Bot, new_inquiry
from tests.slack_helpers import CHANNEL, block_actions, bot_env, cards, click, find_element

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

N_CLICKS = 200
CLICKERS = [f"UCLK{i:03d}" for i in range(N_CLICKS)]
LATE = "UCLKLATE"  # claims after the kill, on the survivor
MENTION = re.compile(r"<@(UCLK\w+)>")
CONNECTED = "connected to Slack in Socket Mode"


def _wait(predicate: Callable[[], object], timeout: float, what: str, bots: list[Bot]) -> None:
    """Wait for the asserted state, failing with the bots' log tails at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for bot in bots:
            bot.check_alive()
        if time.monotonic() > deadline:
            tails = "\n\n".join(b.tail() for b in bots)
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")
        time.sleep(0.05)


def _shown(blocks: Any) -> set[str]:
    """The clicking members a version of the card mentions (its owner, when claimed)."""
    return set(MENTION.findall(json.dumps(blocks or [])))


def _acked_once_where_sent(server: FakeSocketMode, envelope_ids: list[str]) -> None:
    for envelope_id in envelope_ids:
        sent_on = server.sent_on(envelope_id)
        assert len(sent_on) == 1, f"envelope {envelope_id} sent on links {sent_on}"
        acked_on = server.acked_on.get(envelope_id)
        assert acked_on == sent_on[0], f"{envelope_id}: sent on link {sent_on[0]}, acked on {acked_on}"
    assert server.duplicate_acks == [] and server.unparsed == [] and server.undelivered == []


def test_two_socket_mode_instances_share_the_clicks_and_survive_a_kill(
    mailbox: Mailbox, slack_server: FakeSlack, socket_mode: FakeSocketMode, pg_url: str, tmp_path: Path
) -> None:
    bots: list[Bot] = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        env = bot_env(mailbox, slack_server, workdir / "data", STORE_URL=pg_url, SLACK_APP_TOKEN="xapp-test")
        bots.append(Bot(env, workdir))
    a, b = bots
    # In the mailbox before the first start: the first watcher's catch-up takes it.
    mailbox.append("INBOX", new_inquiry(1).raw)
    store, _audit = open_postgres(pg_url)
    t0 = time.monotonic()
    try:
        # -- each instance opens its own connection ----------------------------------------------
        a.start()
        _wait(lambda: len(socket_mode.open_links()) == 1, 60, "a's Socket Mode connection", bots)
        b.start()
        _wait(lambda: len(socket_mode.open_links()) == 2, 60, "b's Socket Mode connection", bots)
        link_a, link_b = socket_mode.wait_open(2)
        assert (link_a.number, link_b.number) == (1, 2) and link_a.ticket != link_b.ticket
        assert len(slack_server.calls("apps.connections.open")) == 2
        _wait(lambda: CONNECTED in a.logs() and CONNECTED in b.logs(), 30, "both to log the connection", bots)
        assert a.logs().count(CONNECTED) == 1 and b.logs().count(CONNECTED) == 1
        _wait(lambda: cards(slack_server), 60, "the card", bots)
        (card,) = cards(slack_server)
        card_ts = str(card.response["ts"])
        inq_id = str(find_element(card.blocks, "inquiry_claim")[0]["value"])
        print(f"{time.monotonic() - t0:5.1f}s both connected, card {card_ts} for inquiry {inq_id}")

        # -- 200 claims at once, spread over both connections -----------------------------------
        claim = click(card.blocks, "inquiry_claim")
        clicks = [socket_mode.send_interactive(block_actions(user, claim, ts=card_ts)) for user in CLICKERS]
        _wait(lambda: all(socket_mode.sent_on(e) for e in clicks), 30, "every click on the wire", bots)
        spread = Counter(n for e in clicks for n in socket_mode.sent_on(e))
        assert spread == {1: N_CLICKS // 2, 2: N_CLICKS // 2}, spread
        _wait(lambda: all(e in socket_mode.acks for e in clicks), 90, "every click acked", bots)
        print(f"{time.monotonic() - t0:5.1f}s all {N_CLICKS} clicks acked")
        _acked_once_where_sent(socket_mode, clicks)

        def refusals() -> list[Any]:
            return [c for c in slack_server.calls("chat.postEphemeral") if c.params.get("user") in CLICKERS]

        _wait(lambda: len(refusals()) >= N_CLICKS - 1, 90, "every refused member told", bots)
        winner = store.require(inq_id).owner
        assert winner in CLICKERS
        _wait(
            lambda: _shown(slack_server.messages[(CHANNEL, card_ts)].get("blocks")) == {winner},
            60,
            "the card to show its owner",
            bots,
        )
        print(f"{time.monotonic() - t0:5.1f}s one owner ({winner}), {N_CLICKS - 1} told, card updated")
        told = refusals()
        assert sorted(str(c.params["user"]) for c in told) == sorted(u for u in CLICKERS if u != winner)
        assert all(f"Already claimed by <@{winner}>" in str(c.params.get("text")) for c in told)
        stored = store.require(inq_id)
        assert [e.actor for e in stored.events if e.action == "claimed"] == [winner]
        versions = [c for c in slack_server.calls("chat.update") if c.params.get("ts") == card_ts]
        assert versions, "the card was never updated"
        assert all(_shown(c.blocks) <= {winner} for c in versions), "a card version shows a loser"

        # -- one instance frozen, then killed: everything goes to the survivor -------------------
        # Two App Home events while a is stopped: one goes on each connection; a cannot ack
        # its one, so when a dies Slack sends that one again on b (an event is retried, a click
        # would not be: none is sent to a while it is frozen).
        assert a.proc is not None
        a.proc.send_signal(signal.SIGSTOP)
        homes = [
            socket_mode.send_event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"})
            for user in ("UHOMEA", "UHOMEB")
        ]
        _wait(lambda: all(socket_mode.sent_on(e) for e in homes), 30, "the two events on the wire", [b])
        assert sorted(n for e in homes for n in socket_mode.sent_on(e)) == [1, 2]
        held = next(e for e in homes if socket_mode.sent_on(e) == [link_a.number])
        _wait(lambda: all(e in socket_mode.acks for e in homes if e != held), 30, "b's event acked", [b])
        assert held not in socket_mode.acks
        a.sigkill()
        _wait(lambda: not link_a.open, 15, "the server to see a's connection close", [b])
        assert link_a.closed_by == "client" and link_b.open
        print(f"{time.monotonic() - t0:5.1f}s a frozen, then killed; its connection closed")
        assert socket_mode.wait_ack(held, timeout=30)["envelope_id"] == held
        assert socket_mode.sent_on(held) == [link_a.number, link_b.number]
        assert socket_mode.acked_on[held] == link_b.number
        assert socket_mode.envelope(held)["retry_attempt"] == 1

        def published(user: str) -> int:
            return sum(c.params.get("user_id") == user for c in slack_server.calls("views.publish"))

        _wait(lambda: published("UHOMEA") and published("UHOMEB"), 30, "both Homes published", [b])

        def card_blocks() -> list[dict[str, Any]]:
            return list(slack_server.messages[(CHANNEL, card_ts)].get("blocks") or [])

        release = socket_mode.send_interactive(
            block_actions(winner, click(card_blocks(), "inquiry_release"), ts=card_ts)
        )
        assert socket_mode.wait_ack(release, timeout=30)["envelope_id"] == release
        _wait(lambda: store.require(inq_id).owner is None, 30, "the release stored", [b])
        _wait(lambda: not _shown(card_blocks()), 60, "the card released", [b])
        late = socket_mode.send_interactive(
            block_actions(LATE, click(card_blocks(), "inquiry_claim"), ts=card_ts)
        )
        assert socket_mode.wait_ack(late, timeout=30)["envelope_id"] == late
        _wait(lambda: _shown(card_blocks()) == {LATE}, 60, "the card to show the new owner", [b])
        assert store.require(inq_id).owner == LATE
        print(f"{time.monotonic() - t0:5.1f}s the survivor handled a release and a claim")
        after_kill = [release, late]
        assert all(socket_mode.sent_on(e) == [link_b.number] for e in after_kill)
        _acked_once_where_sent(socket_mode, clicks + [e for e in homes if e != held] + after_kill)
        assert (published("UHOMEA"), published("UHOMEB")) == (1, 1)  # the retried event handled once
        # No reconnect: the survivor kept its one connection, the killed one opened nothing more.
        assert [x.number for x in socket_mode.links] == [1, 2] and link_b.open
        assert len(slack_server.calls("apps.connections.open")) == 2 and socket_mode.refused == []
        assert b.logs().count(CONNECTED) == 1
        _wait(lambda: store.outbox.pending_count() == 0, 60, "an empty outbox", [b])
        code = b.stop()
    finally:
        for bot in bots:
            if bot.proc is not None and bot.proc.poll() is None:
                bot.proc.kill()
                bot.proc.wait(timeout=10)
        store.close()
    assert code == 0, b.tail()
    assert not link_b.open and link_b.closed_by == "client"  # SIGTERM closes the connection cleanly
    logged = a.logs() + b.logs()
    assert "Traceback" not in logged, logged[-3000:]
    assert "xoxb-test" not in logged and "xapp-test" not in logged
