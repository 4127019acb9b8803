"""Two hundred concurrent button clicks across 20 cards: one owner each, and a truthful story.

The real composition root (:func:`bot.app.wiring.build`) runs against the loopback fake Slack; every
click is a signed ``block_actions`` request handed to Bolt from a 24-thread pool, all released
at once. Per inquiry there are ten clicks by the ten members: seven "Claim" (each member claims
an inquiry at most once), two "Release" and one tier change, in random order.

Each click in a card's payload names a channel of its own (``C<n>``), so the ephemeral a
refused member gets can be tied to the inquiry it was about.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bot.app.wiring import Desktop
from bot.core.models import Event
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    T_ARRIVED,
    block_actions,
    choose,
    click,
    dispatch,
    drain,
    form_body,
    signed_headers,
    strings,
    wait_until,
)

N_INQUIRIES = 20
USERS = [
    f"U{name}"
    for name in ("ALICE", "BOB", "CAROL", "DAVE", "ERIN", "FRANK", "GRACE", "HEIDI", "IVAN", "JUDY")
]
DESK_ACTIONS = ("claimed", "released", "tier")


def _post_cards(desktop: Desktop, slack_server: FakeSlack) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Ingest 20 buyer mails and deliver their cards: ``[(inquiry_id, card_ts, blocks)]``."""
    ids = []
    for n in range(N_INQUIRIES):
        email = make_email(
            subject=f"LED panels 600x600 quotation request {n}",
            new_text=f"We need {n + 1},000 pcs of 600x600 LED panels. Please quote your FOB price and MOQ.",
            from_addr=f"buyer{n}@licht-{n}.de",
            from_name=f"Anna Buyer {n}",
        )
        result = desktop.ingestor.ingest(email, T_ARRIVED)
        assert result.outcome == "new" and result.inquiry_id is not None
        ids.append(result.inquiry_id)
    drain(desktop.worker, timeout=20)
    out = []
    for inq_id in ids:
        ts = desktop.store.require(inq_id).card_ts
        assert ts is not None
        out.append((inq_id, ts, slack_server.messages[(CHANNEL, ts)]["blocks"]))
    return out


def _clicks(
    cards: list[tuple[str, str, list[dict[str, Any]]]], rng: random.Random
) -> list[tuple[int, str, str, dict[str, Any]]]:
    """``[(card index, user, kind, action)]``: 10 per card, 200 in all, shuffled."""
    plan = []
    for i, (_inq_id, _ts, blocks) in enumerate(cards):
        claim = click(blocks, "inquiry_claim")
        release = {**claim, "action_id": "inquiry_release"}  # the button a claimed card shows
        for user in rng.sample(USERS, 7):
            plan.append((i, user, "claim", claim))
        for user in rng.choices(USERS, k=2):
            plan.append((i, user, "release", release))
        plan.append((i, rng.choice(USERS), "tier", choose(blocks, "inquiry_tier", rng.choice("ABC"))))
    rng.shuffle(plan)
    return plan


def _desk_events(events: tuple[Event, ...]) -> list[Event]:
    return [e for e in events if e.action in DESK_ACTIONS]


def test_two_hundred_concurrent_clicks_leave_one_owner_per_inquiry_and_an_ordered_story(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    rng = random.Random(6)
    cards = _post_cards(desktop, slack_server)
    plan = _clicks(cards, rng)
    assert len(plan) == 200
    bodies = [
        form_body(block_actions(user, action, channel=f"C{i}", ts=cards[i][1]))
        for i, user, _k, action in plan
    ]
    start = threading.Barrier(24)

    def send(j: int) -> int:
        if j < 24:
            start.wait(timeout=10)  # the first wave leaves together
        return dispatch(desktop.app, bodies[j], FORM, signed_headers(bodies[j], FORM)).status

    before = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(send, range(len(plan))))
    assert statuses == [200] * len(plan), Counter(statuses)

    # Every click ends in exactly one desk event or one ephemeral refusal; wait for all 200.
    def outcomes() -> int:
        events = sum(len(_desk_events(desktop.store.require(c[0]).events)) for c in cards)
        return events + len(slack_server.calls("chat.postEphemeral"))

    wait_until(lambda: outcomes() >= len(plan), 30, f"all {len(plan)} clicks handled")
    after = datetime.now(UTC)
    assert outcomes() == len(plan)

    ephemerals = [c.params for c in slack_server.calls("chat.postEphemeral")]
    for i, (inq_id, _ts, _blocks) in enumerate(cards):
        inq = desktop.store.require(inq_id)
        story = _desk_events(inq.events)
        clicked = [(user, kind) for j, user, kind, _a in plan if j == i]

        # The events tell who clicked, when, in order.
        assert [e.at for e in story] == sorted(e.at for e in story)
        assert all(before <= e.at <= after for e in story)
        kinds = {"claimed": "claim", "released": "release", "tier": "tier"}
        assert not Counter((e.actor, kinds[e.action]) for e in story) - Counter(clicked)

        # Claims and releases alternate; only the owner of the moment releases.
        owner: str | None = None
        for e in story:
            if e.action == "claimed":
                assert owner is None, f"inquiry {inq_id}: {e.actor} claimed while {owner} owned it"
                owner = e.actor
            elif e.action == "released":
                assert owner == e.actor, f"inquiry {inq_id}: {e.actor} released {owner}'s inquiry"
                owner = None
        assert inq.owner == owner, f"inquiry {inq_id}: stored owner {inq.owner}, story says {owner}"
        last_release = max((k for k, e in enumerate(story) if e.action == "released"), default=-1)
        since = [e.actor for e in story[last_release + 1 :] if e.action == "claimed"]
        assert since == ([inq.owner] if inq.owner else [])

        # Everyone else heard why, in the card's channel; a lost claim names a real claimer.
        told = [p for p in ephemerals if p["channel"] == f"C{i}"]
        assert len(story) + len(told) == len(clicked)
        claimers = {e.actor for e in story if e.action == "claimed"}
        lost_claims = Counter(u for u, k in clicked if k == "claim") - Counter(
            e.actor for e in story if e.action == "claimed"
        )
        already = [p for p in told if p["text"].startswith("Already claimed by")]
        assert Counter(p["user"] for p in already) == lost_claims
        for p in already:
            named = {u for u in USERS if f"<@{u}>" in p["text"]}
            assert len(named) == 1 and named <= claimers and p["user"] not in named, p["text"]

    # The cards catch up with the store: each shows its owner (or Claim when released).
    drain(desktop.worker, timeout=30)
    for inq_id, ts, _blocks in cards:
        inq = desktop.store.require(inq_id)
        final = slack_server.messages[(CHANNEL, ts)]["blocks"]
        action_ids = {e.get("action_id") for b in final for e in b.get("elements", []) or []}
        if inq.owner:
            assert any(f"<@{inq.owner}>" in s for s in strings(final))
            assert "inquiry_release" in action_ids and "inquiry_claim" not in action_ids
        else:
            assert "inquiry_claim" in action_ids
