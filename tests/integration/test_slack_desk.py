"""End-to-end: the real composition root (bot.app.wiring.build) against the fake Slack Web API.

Mail is ingested through the Ingestor, cards go out through the DeliveryWorker, clicks and
events come in as signed requests through Bolt's ``app.dispatch``; every assertion is about
what the store holds and what Slack was asked to do.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.wiring import Desktop
from bot.core.models import Event, ParsedEmail, Status, Tier
from bot.core.prefs import MemberPrefs
from bot.sla.engine import ladder
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import (
    ADMIN,
    CHANNEL,
    FORM,
    JSON,
    T_ARRIVED,
    Headers,
    block_actions,
    cards,
    choose,
    click,
    dispatch,
    drain,
    event_body,
    find_element,
    form_body,
    home_actions,
    signed_headers,
    slash_body,
    strings,
    thread_posts,
    view_submission,
    wait_until,
)
from tests.unit.test_blocks_home import submitted


def buyer_email(n: int = 1, **overrides: Any) -> ParsedEmail:
    fields: dict[str, Any] = {
        "subject": f"LED panels 600x600 quotation request {n}",
        "new_text": f"We need {n},000 pcs of 600x600 LED panels. Please quote your FOB price and MOQ.",
        "from_addr": f"buyer{n}@licht-{n}.de",
        "from_name": f"Anna Buyer {n}",
    }
    fields.update(overrides)
    return make_email(**fields)


def posted_card(desktop: Desktop, slack_server: FakeSlack, n: int = 1) -> tuple[str, str]:
    """Ingest buyer ``n``, deliver, and return ``(inquiry_id, card_ts)``."""
    result = desktop.ingestor.ingest(buyer_email(n), T_ARRIVED)
    assert result.outcome == "new" and result.inquiry_id is not None
    drain(desktop.worker)
    inq = desktop.store.require(result.inquiry_id)
    assert inq.card_ts is not None
    return inq.id, inq.card_ts


def card_blocks(slack_server: FakeSlack, ts: str) -> list[dict[str, Any]]:
    """The card as it stands on the fake Slack now (after any chat.update)."""
    blocks = slack_server.messages[(CHANNEL, ts)]["blocks"]
    assert isinstance(blocks, list)
    return blocks


def act(desktop: Desktop, user: str, action: dict[str, Any], ts: str) -> None:
    response = dispatch(desktop.app, form_body(block_actions(user, action, ts=ts)), FORM)
    assert response.status == 200, response.body


def events_of(desktop: Desktop, inq_id: str, action: str) -> list[Event]:
    return [e for e in desktop.store.require(inq_id).events if e.action == action]


def updates_of(slack_server: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [c.params for c in slack_server.calls("chat.update") if c.params.get("ts") == ts]


def ephemerals_to(slack_server: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.params for c in slack_server.calls("chat.postEphemeral") if c.params.get("user") == user]


# -- the card ---------------------------------------------------------------------------------


def test_a_stored_inquiry_becomes_exactly_one_card(desktop: Desktop, slack_server: FakeSlack) -> None:
    result = desktop.ingestor.ingest(buyer_email(1), T_ARRIVED)
    assert result.outcome == "new" and result.inquiry_id is not None

    drain(desktop.worker)

    posts = slack_server.calls("chat.postMessage")
    assert len(posts) == 1
    card = posts[0]
    assert card.params["channel"] == CHANNEL
    assert card.blocks, "the card has blocks"
    assert "thread_ts" not in card.params
    assert any("LED panels 600x600" in s for s in strings(card.blocks))
    inq = desktop.store.require(result.inquiry_id)
    assert inq.card_ts == card.response["ts"]
    assert inq.card_channel == CHANNEL

    assert drain(desktop.worker) == 0
    assert len(slack_server.calls("chat.postMessage")) == 1


def test_the_same_email_ingested_twice_still_makes_one_card(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    email = buyer_email(1)
    assert desktop.ingestor.ingest(email, T_ARRIVED).outcome == "new"
    assert desktop.ingestor.ingest(email, T_ARRIVED).outcome == "duplicate"

    drain(desktop.worker)

    assert len(cards(slack_server)) == 1


# -- claim / release / reassign ---------------------------------------------------------------


def test_claim_sets_the_owner_refreshes_the_card_and_notes_the_thread(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id, ts = posted_card(desktop, slack_server)

    act(desktop, "UALICE", click(card_blocks(slack_server, ts), "inquiry_claim"), ts)
    wait_until(lambda: desktop.store.require(inq_id).owner == "UALICE", what="owner set")
    drain(desktop.worker)

    assert [e.actor for e in events_of(desktop, inq_id, "claimed")] == ["UALICE"]
    updates = updates_of(slack_server, ts)
    assert updates, "the card was updated"
    assert any("<@UALICE>" in s for s in strings(updates[-1]["blocks"]))
    # The refreshed card offers "Release" in place of "Claim".
    action_ids = {e.get("action_id") for b in updates[-1]["blocks"] for e in b.get("elements", []) or []}
    assert "inquiry_release" in action_ids and "inquiry_claim" not in action_ids
    notes = thread_posts(slack_server, ts)
    assert len(notes) == 1
    assert "<@UALICE>" in notes[0].params["text"]
    assert ephemerals_to(slack_server, "UALICE") == []


def test_two_simultaneous_claims_end_with_one_owner_and_tell_the_other(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id, ts = posted_card(desktop, slack_server)
    action = click(card_blocks(slack_server, ts), "inquiry_claim")
    start = threading.Barrier(2)
    statuses: list[int] = []

    def claim_as(user: str) -> None:
        body = form_body(block_actions(user, action, ts=ts))
        headers = signed_headers(body, FORM)
        start.wait(timeout=5)
        statuses.append(dispatch(desktop.app, body, FORM, headers).status)

    threads = [threading.Thread(target=claim_as, args=(u,)) for u in ("UALICE", "UBOB")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=10)
    assert statuses == [200, 200]

    slack_server.wait_for("chat.postEphemeral", 1)
    owner = desktop.store.require(inq_id).owner
    assert owner in ("UALICE", "UBOB")
    loser = "UBOB" if owner == "UALICE" else "UALICE"
    refusals = ephemerals_to(slack_server, loser)
    assert len(refusals) == 1
    assert f"<@{owner}>" in refusals[0]["text"]
    assert refusals[0]["channel"] == CHANNEL
    assert ephemerals_to(slack_server, owner) == []
    assert [e.actor for e in events_of(desktop, inq_id, "claimed")] == [owner]


def test_release_is_refused_to_a_non_owner_and_allowed_to_the_owner(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id, ts = posted_card(desktop, slack_server)
    desktop.services.desk.claim(inq_id, "UALICE")
    drain(desktop.worker)
    release = click(card_blocks(slack_server, ts), "inquiry_release")

    act(desktop, "UBOB", release, ts)
    refusal = slack_server.wait_for("chat.postEphemeral", 1)[0].params
    assert refusal["user"] == "UBOB"
    assert "owner" in refusal["text"].lower()
    assert desktop.store.require(inq_id).owner == "UALICE"

    act(desktop, "UALICE", release, ts)
    wait_until(lambda: desktop.store.require(inq_id).owner is None, what="released")
    drain(desktop.worker)
    assert [e.actor for e in events_of(desktop, inq_id, "released")] == ["UALICE"]
    assert ephemerals_to(slack_server, "UALICE") == []
    # The card offers Claim again.
    assert click(card_blocks(slack_server, ts), "inquiry_claim")["value"] == inq_id


def test_reassign_is_refused_to_a_non_owner_and_accepted_from_an_admin(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id, ts = posted_card(desktop, slack_server)
    desktop.services.desk.claim(inq_id, "UALICE")
    drain(desktop.worker)
    blocks = card_blocks(slack_server, ts)

    act(desktop, "UBOB", choose(blocks, "inquiry_reassign", "UBOB"), ts)
    refusal = slack_server.wait_for("chat.postEphemeral", 1)[0].params
    assert refusal["user"] == "UBOB"
    assert desktop.store.require(inq_id).owner == "UALICE"

    act(desktop, ADMIN, choose(blocks, "inquiry_reassign", "UCAROL"), ts)
    wait_until(lambda: desktop.store.require(inq_id).owner == "UCAROL", what="reassigned")
    drain(desktop.worker)
    assert [(e.actor, e.detail) for e in events_of(desktop, inq_id, "reassigned")] == [(ADMIN, "UCAROL")]
    assert ephemerals_to(slack_server, ADMIN) == []
    assert any("<@UCAROL>" in s for s in strings(updates_of(slack_server, ts)[-1]["blocks"]))
    assert any("<@UCAROL>" in c.params["text"] for c in thread_posts(slack_server, ts))


def test_tier_status_and_snooze_selects_change_the_inquiry(desktop: Desktop, slack_server: FakeSlack) -> None:
    inq_id, ts = posted_card(desktop, slack_server)
    desktop.services.desk.claim(inq_id, "UALICE")
    drain(desktop.worker)
    before = desktop.services.clock()

    act(desktop, "UALICE", choose(card_blocks(slack_server, ts), "inquiry_tier", "C"), ts)
    wait_until(lambda: desktop.store.require(inq_id).tier is Tier.C, what="tier C")
    act(desktop, "UALICE", choose(card_blocks(slack_server, ts), "inquiry_status", "quoted"), ts)
    wait_until(lambda: desktop.store.require(inq_id).status is Status.QUOTED, what="status quoted")
    act(desktop, "UALICE", choose(card_blocks(slack_server, ts), "inquiry_snooze", "4h"), ts)
    wait_until(lambda: desktop.store.require(inq_id).snoozed_until is not None, what="snoozed")
    drain(desktop.worker)

    inq = desktop.store.require(inq_id)
    assert inq.snoozed_until is not None
    hours = (inq.snoozed_until - before).total_seconds() / 3600
    assert 3.99 < hours < 4.01
    assert [e.detail for e in events_of(desktop, inq_id, "tier")] == ["C"]
    assert [e.detail for e in events_of(desktop, inq_id, "status")] == ["quoted"]
    assert len(events_of(desktop, inq_id, "snoozed")) == 1
    assert slack_server.calls("chat.postEphemeral") == []
    # One thread note per change (claim, tier, status, snooze) and the card shows the new state.
    assert len(thread_posts(slack_server, ts)) == 4
    final = card_blocks(slack_server, ts)
    tier_select, _ = find_element(final, "inquiry_tier")
    status_select, _ = find_element(final, "inquiry_status")
    assert tier_select["initial_option"]["value"] == "C"
    assert status_select["initial_option"]["value"] == "quoted"


def test_a_non_owner_cannot_change_the_tier_of_a_claimed_inquiry(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    inq_id, ts = posted_card(desktop, slack_server)
    desktop.services.desk.claim(inq_id, "UALICE")
    drain(desktop.worker)

    act(desktop, "UBOB", choose(card_blocks(slack_server, ts), "inquiry_tier", "C"), ts)

    refusal = slack_server.wait_for("chat.postEphemeral", 1)[0].params
    assert refusal["user"] == "UBOB"
    assert desktop.store.require(inq_id).tier is not Tier.C


# -- follow-ups and hostile text ----------------------------------------------------------------


def test_a_follow_up_email_goes_into_the_cards_thread_and_refreshes_the_card(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    first = buyer_email(1)
    result = desktop.ingestor.ingest(first, T_ARRIVED)
    drain(desktop.worker)
    ts = desktop.store.require(result.inquiry_id or "").card_ts
    assert ts is not None
    updates_before = len(updates_of(slack_server, ts))

    follow = make_email(
        subject="Re: " + first.subject,
        new_text="Also, can you send samples of the 4000K version?",
        from_addr=first.from_addr,
        in_reply_to=first.message_id,
        references=(first.message_id,),
    )
    outcome = desktop.ingestor.ingest(follow, T_ARRIVED)
    assert outcome.outcome == "followup" and outcome.inquiry_id == result.inquiry_id
    drain(desktop.worker)

    in_thread = thread_posts(slack_server, ts)
    assert len(in_thread) == 1
    assert in_thread[0].params["channel"] == CHANNEL
    assert "samples of the 4000K version" in in_thread[0].params["text"]
    assert len(updates_of(slack_server, ts)) > updates_before
    assert len(cards(slack_server)) == 1
    inq = desktop.store.require(result.inquiry_id or "")
    recorded = [m for m in inq.messages if m.message_id == follow.message_id]
    assert recorded and recorded[0].slack_ts == in_thread[0].response["ts"]


HOSTILE = ("<!channel>", "<@U123>", "<https://evil")


def test_mentions_and_links_in_an_email_are_escaped_everywhere_on_the_card(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    hostile = "<!channel> <@U123> pay now <https://evil.example|Invoice> & thanks"
    email = make_email(
        subject=f"Quote for 500 LED panels {hostile}",
        new_text=f"Hello, we need 500 pcs of LED panels, please quote. {hostile}",
        from_name="<!channel> <@U123>",
        from_addr="buyer@licht.de",
    )
    result = desktop.ingestor.ingest(email, T_ARRIVED)
    assert result.outcome == "new"
    drain(desktop.worker)
    follow = make_email(
        subject="Re: " + email.subject,
        new_text=f"Any news? {hostile}",
        from_addr="buyer@licht.de",
        in_reply_to=email.message_id,
    )
    desktop.ingestor.ingest(follow, T_ARRIVED)
    drain(desktop.worker)

    calls = slack_server.calls("chat.postMessage") + slack_server.calls("chat.update")
    assert len(cards(slack_server)) == 1 and len(calls) >= 3
    texts = [s for c in calls for s in strings(c.params)]
    assert any("&lt;!channel&gt;" in s for s in texts), "the text is shown, escaped"
    for s in texts:
        for bad in HOSTILE:
            assert bad not in s, f"{bad!r} reached Slack unescaped in {s[:200]!r}"
    for c in calls:
        assert "link_names" not in c.params
    updates = slack_server.calls("chat.update")
    assert updates, "the follow-up updates the card"
    assert all(c.params.get("parse") == "none" for c in updates)


# -- signatures, App Home -----------------------------------------------------------------------


def test_requests_without_a_valid_recent_signature_are_rejected(desktop: Desktop) -> None:
    body = slash_body("help")
    now = int(time.time())
    good = signed_headers(body, FORM, timestamp=now)
    wrong: Headers = {**good, "x-slack-signature": "v0=" + "0" * 64}
    stale = signed_headers(body, FORM, timestamp=now - 6 * 60)
    unsigned: Headers = {"content-type": FORM, "x-slack-request-timestamp": str(now)}

    for headers in (unsigned, wrong, stale):
        assert dispatch(desktop.app, body, FORM, headers).status == 401
    ok = dispatch(desktop.app, body, FORM, good)
    assert ok.status == 200
    assert "/inquiries" in ok.body


def test_opening_the_app_home_publishes_the_members_queue(desktop: Desktop, slack_server: FakeSlack) -> None:
    mine, _ = posted_card(desktop, slack_server, 1)
    other, _ = posted_card(desktop, slack_server, 2)
    desktop.services.desk.claim(mine, "UALICE")
    event = {
        "type": "app_home_opened",
        "user": "UALICE",
        "channel": "DALICE",
        "tab": "home",
        "event_ts": "1.2",
    }

    response = dispatch(desktop.app, event_body(event), JSON)
    assert response.status == 200

    publish = slack_server.wait_for("views.publish", 1)[0].params
    assert publish["user_id"] == "UALICE"
    view = publish["view"]
    if isinstance(view, str):
        view = json.loads(view)
    assert view["type"] == "home"
    text = "\n".join(strings(view))
    assert desktop.store.require(mine).subject in text
    assert desktop.store.require(other).subject in text  # unclaimed, shown in that section


# -- App Home: filters, paging, preferences (issue #16 item 7) ----------------------------------


def published_homes(slack_server: FakeSlack, user: str) -> list[dict[str, Any]]:
    out = []
    for c in slack_server.calls("views.publish"):
        if c.params.get("user_id") == user:
            view = c.params["view"]
            out.append(json.loads(view) if isinstance(view, str) else view)
    return out


def next_home(slack_server: FakeSlack, user: str, count: int) -> dict[str, Any]:
    """Wait until ``user``'s Home was published ``count`` times; return the latest."""
    wait_until(lambda: len(published_homes(slack_server, user)) >= count, what=f"Home publish #{count}")
    return published_homes(slack_server, user)[-1]


def home_rows(view: dict[str, Any]) -> list[str]:
    prefix = "home-queue-row:"
    return [b["block_id"][len(prefix) :] for b in view["blocks"] if b.get("block_id", "").startswith(prefix)]


def home_click(desktop: Desktop, user: str, action: dict[str, Any], view: dict[str, Any]) -> None:
    response = dispatch(desktop.app, form_body(home_actions(user, action, view)), FORM)
    assert response.status == 200, response.body


def open_home(desktop: Desktop, user: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home", "event_ts": "1.2"}
    assert dispatch(desktop.app, event_body(event), JSON).status == 200


def test_a_member_filters_and_pages_the_home_queue(desktop: Desktop, slack_server: FakeSlack) -> None:
    ids = []
    for n in range(1, 24):
        result = desktop.ingestor.ingest(buyer_email(n), T_ARRIVED + timedelta(minutes=n))
        assert result.outcome == "new" and result.inquiry_id is not None
        ids.append(result.inquiry_id)
    alices = [ids[4], ids[12], ids[20]]
    for inq_id in alices:
        desktop.services.desk.claim(inq_id, "UALICE")

    open_home(desktop, "UALICE")
    first = next_home(slack_server, "UALICE", 1)
    assert home_rows(first) == ids[:10]  # the soonest deadlines: the oldest mail
    assert "Page 1 of 3 · 1–10 of 23" in "\n".join(strings(first))

    home_click(desktop, "UALICE", click(first["blocks"], "home_page_next"), first)
    second = next_home(slack_server, "UALICE", 2)
    assert home_rows(second) == ids[10:20]
    assert "Page 2 of 3 · 11–20 of 23" in "\n".join(strings(second))

    home_click(desktop, "UALICE", click(second["blocks"], "home_page_next"), second)
    third = next_home(slack_server, "UALICE", 3)
    assert home_rows(third) == ids[20:]
    assert "home_page_next" not in json.dumps(third)

    home_click(desktop, "UALICE", choose(third["blocks"], "home_queue", "mine"), third)
    mine = next_home(slack_server, "UALICE", 4)
    assert home_rows(mine) == alices  # a new filter starts on its first page
    assert "Page 1 of 1 · 1–3 of 3" in "\n".join(strings(mine))
    assert desktop.store.home_state("UALICE") == {"queue": "mine", "market": "any", "tier": "any", "page": 0}

    # Releasing from the Home refreshes it and keeps the member's filter.
    home_click(desktop, "UALICE", click(mine["blocks"], "inquiry_release"), mine)
    after = next_home(slack_server, "UALICE", 5)
    assert home_rows(after) == alices[1:]
    assert desktop.store.require(alices[0]).owner is None

    home_click(desktop, "UALICE", choose(after["blocks"], "home_market", "SEA"), after)
    sea = next_home(slack_server, "UALICE", 6)
    assert home_rows(sea) == [] and "Nothing here" in "\n".join(strings(sea))

    # Another member's Home is theirs: the default filter, the whole queue.
    open_home(desktop, "UBOB")
    bob = next_home(slack_server, "UBOB", 1)
    assert home_rows(bob) == ids[:10]


def test_preferences_saved_from_the_home_are_honoured_by_pings_digests_and_language(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    slack_server.set_user_tz("UALICE", "Asia/Shanghai")
    alice_inq, alice_ts = posted_card(desktop, slack_server, 1)
    bob_inq, _ = posted_card(desktop, slack_server, 2)
    desktop.services.desk.claim(alice_inq, "UALICE")
    desktop.services.desk.claim(bob_inq, "UBOB")
    drain(desktop.worker)

    # Alice opens her Home, then Preferences, and saves 07:30, thread-only pings, Chinese.
    open_home(desktop, "UALICE")
    home = next_home(slack_server, "UALICE", 1)
    home_click(desktop, "UALICE", click(home["blocks"], "home_prefs"), home)
    modal = slack_server.wait_for("views.open")[0].params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert modal["callback_id"] == "home_prefs"
    values = submitted(modal, "07:30", "off", "zh")
    response = dispatch(desktop.app, form_body(view_submission("UALICE", modal, values)), FORM)
    assert response.status == 200, response.body
    zh_home = next_home(slack_server, "UALICE", 2)
    zh_text = "\n".join(strings(zh_home))
    assert "偏好设置" in zh_text and "第 1 / 1 页" in zh_text and "摘要时间 07:30" in zh_text
    assert desktop.store.member_prefs("UALICE") == MemberPrefs(clock_time(7, 30), dm_pings=False, lang="zh")
    # Bob keeps DM pings on but reads Chinese.
    desktop.store.set_member_prefs("UBOB", MemberPrefs(lang="zh"))

    # The first SLA warning (an owner DM by default) falls due for both.
    policy = desktop.services.policy
    warn_at = max(ladder(desktop.store.require(i), policy)[0].at for i in (alice_inq, bob_inq))
    assert desktop.reminders.sla_tick(warn_at + timedelta(minutes=1)) == 2
    drain(desktop.worker)
    posts = slack_server.calls("chat.postMessage")
    assert [c for c in posts if c.params["channel"] == "DUALICE"] == [], "Alice turned DM pings off"
    in_thread = [c.params["text"] for c in thread_posts(slack_server, alice_ts)]
    assert any("<@UALICE>" in text and "is due" in text for text in in_thread), in_thread
    bob_dm = [c.params["text"] for c in posts if c.params["channel"] == "DUBOB"]
    assert len(bob_dm) == 1 and "的回复将于" in bob_dm[0] and "<@UBOB>" in bob_dm[0]

    # Alice's digest comes at 07:30 in Shanghai (23:30 UTC), not the team's 09:00.
    start = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 05:00 in Shanghai
    sent_at = None
    for minute in range(0, 8 * 60, 5):
        now = start + timedelta(minutes=minute)
        desktop.reminders.digest_tick(now)
        if desktop.store.get_meta("digest:UALICE"):
            sent_at = now
            break
    assert sent_at is not None
    assert sent_at.astimezone(ZoneInfo("Asia/Shanghai")).time() == clock_time(7, 30)
    drain(desktop.worker)
    digest = [c for c in slack_server.calls("chat.postMessage") if c.params["channel"] == "DUALICE"]
    assert len(digest) == 1
    assert "今日询盘" in "\n".join(strings(digest[0].blocks)) + digest[0].params["text"]


def test_preferences_left_at_the_team_defaults_follow_the_team(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    open_home(desktop, "UCAROL")
    home = next_home(slack_server, "UCAROL", 1)
    home_click(desktop, "UCAROL", click(home["blocks"], "home_prefs"), home)
    modal = slack_server.wait_for("views.open")[0].params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    bad = submitted(modal, "09:00", "on", "en")
    bad["prefs-lang"] = {}
    refused = dispatch(desktop.app, form_body(view_submission("UCAROL", modal, bad)), FORM)
    assert refused.status == 200 and json.loads(refused.body)["errors"].keys() == {"prefs-lang"}
    assert desktop.store.member_prefs("UCAROL") == MemberPrefs()

    values = submitted(modal, "09:00", "off", "en")  # the team's time and language, pings off
    assert dispatch(desktop.app, form_body(view_submission("UCAROL", modal, values)), FORM).status == 200
    wait_until(lambda: desktop.store.member_prefs("UCAROL").dm_pings is False, what="preferences saved")
    assert desktop.store.member_prefs("UCAROL") == MemberPrefs(digest_time=None, dm_pings=False, lang=None)
