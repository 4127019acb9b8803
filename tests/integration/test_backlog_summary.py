"""Backfill as a summary (issue #16): a catch-up's old mail makes one summary card, not a card each.

- 10,000 old mails ingested directly (old INTERNALDATEs injected, as the watcher hands them
  over) against the real desk and the loopback fake Slack: one summary card, no inquiry card,
  no SLA ping; a new mail is still carded within 2 s; *Post the A and B cards* owes exactly
  the A and B cards (and the held-for-a-check cards) once, A first, oldest first, and a new
  mail's card jumps ahead of them.
- Through the real watcher and the suite's Dovecot: 300 APPENDed old mails and one new mail
  after start: one summary, the new card within 2 s, the click (twice) posts each A/B card once.
- Restarts: a crash in the middle of the backfill, or after the summary, posts no second
  summary and loses no owed card; old follow-ups wait for their card, fresh ones wake it.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.mail.imap_source import MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink
from bot.app.wiring import Desktop
from bot.blocks.backlog import ACTION_HOME, ACTION_POST
from bot.blocks.home import home_view
from bot.blocks.home_queue import HomeFilter, queue_page
from bot.core.errors import UsageError
from bot.core.models import Attachment, Lane, ParsedEmail, RiskSignal, Triage
from bot.desk.backlog import RELEASE_CHUNK, RELEASE_KIND, Backlog, batch_of, tier_of
from bot.desk.ingest import Ingestor
from bot.intake.parse import parse_email
from bot.triage import ThreadHints, triage
from bot.triage.lanes import with_signals
from tests.factories import make_email
from tests.fakes.slack_server import Call, FakeSlack
from tests.fixtures_dovecot import Mailbox, settings_for
from tests.paths import SAMPLES as SAMPLE_DIR
from tests.slack_helpers import (
    CHANNEL,
    FORM,
    block_actions,
    click,
    dispatch,
    form_body,
    home_actions,
    make_desktop,
    wait_until,
)

SAMPLES = sorted(SAMPLE_DIR.glob("*.eml"))
FAR = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def desktop_env() -> dict[str, str]:
    # FILTER_AT high: the lure below is held for a check rather than filtered.
    return {"OWN_DOMAINS": "brightway-led.com", "FILTER_AT": "30"}


def lure(n: int) -> ParsedEmail:
    return make_email(
        subject=f"NEW PO please quote {n}",
        new_text=(
            "Dear sales,\n\nKindly see attached PO and quote your best price urgently. "
            "Open the attachment with your email password to view the document.\n\nRegards"
        ),
        from_addr=f"purchase{n}@global-sourcing-hub.example",
        from_name="Purchasing Dept",
        to=("undisclosed-recipients:;",),
        attachments=(Attachment("PO.xlsx.htm", "text/html", 3150),),
        message_id=f"<lure-{n}@test.invalid>",
    )


def card_of(call: Call) -> str | None:
    meta = call.params.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("inquiry_id") if isinstance(meta, dict) else None


def top_posts(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if not c.params.get("thread_ts")]


def has_action(call: Call, action_id: str) -> bool:
    return any(
        isinstance(e, dict) and e.get("action_id") == action_id
        for b in call.blocks
        for e in (b.get("elements") or [])
    )


def summaries(slack: FakeSlack) -> list[Call]:
    return [c for c in top_posts(slack) if has_action(c, ACTION_HOME)]


def inquiry_cards(slack: FakeSlack) -> list[Call]:
    return [c for c in top_posts(slack) if card_of(c) is not None]


def summary_text(call: Call) -> str:
    return "\n".join(
        str((b.get("text") or {}).get("text", "")) for b in call.blocks if b.get("type") == "section"
    )


def run_worker(desktop: Desktop) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    th = threading.Thread(target=desktop.worker.run, args=(stop,), name="delivery", daemon=True)
    th.start()
    return stop, th


def press(desktop: Desktop, call: Call, action_id: str, user: str = "UALICE") -> None:
    body = block_actions(user, click(call.blocks, action_id), ts=str(call.response.get("ts", "")))
    assert dispatch(desktop.app, form_body(body), FORM).status == 200


def ephemerals(slack: FakeSlack, user: str) -> list[str]:
    return [
        str(c.params.get("text", ""))
        for c in slack.calls("chat.postEphemeral")
        if c.params.get("user") == user
    ]


# -- 10,000 old mails, ingested directly ----------------------------------------------------------


def test_ten_thousand_old_mails_make_one_summary_and_new_mail_is_carded_at_once(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    backlog = desktop.ingestor.backlog
    assert backlog is not None, "on by default (BACKFILL_SUMMARY_AFTER_MINUTES=10)"
    assert backlog.after == timedelta(minutes=10)
    now = datetime.now(UTC)
    config = desktop.ingestor.config
    # The desk's store, outbox and backlog; an injected clock, and triage computed once per sample
    # (handed over as the watcher's workers do), so 10,000 mails are quick.
    ingestor = Ingestor(desktop.store, desktop.outbox, config, lambda: now, backlog=backlog)
    kinds: list[tuple[ParsedEmail, Triage]] = []
    for path in SAMPLES:
        email = parse_email(path.read_bytes())
        kinds.append((email, triage(email, config, ThreadHints())))
    held_email = lure(0)
    held_verdict = with_signals(
        triage(held_email, config), [RiskSignal("probe", 0.0, "test")], config.thresholds
    )
    assert held_verdict.lane is Lane.REVIEW
    kinds.append((held_email, held_verdict))

    total = 10_000
    start = now - timedelta(hours=20)
    expected: Counter[str] = Counter()
    t0 = time.monotonic()
    for chunk in range(0, total, 500):
        with desktop.store.batch():
            for n in range(chunk, chunk + 500):
                email, verdict = kinds[n % len(kinds)]
                email = replace(
                    email, message_id=f"<old-{n}@test.invalid>", subject=f"{email.subject} [#{n}]"
                )
                arrived = start + timedelta(seconds=n * 7)
                result = ingestor.ingest(email, arrived, catch_up=True, verdict=verdict)
                assert result.outcome in ("new", "review", "filtered")
                expected[verdict.lane.value] += 1
                if verdict.lane is Lane.INQUIRY:
                    expected[f"tier:{verdict.tier.value if verdict.tier else '?'}"] += 1
    ingest_s = time.monotonic() - t0
    assert desktop.outbox.pending_count() == 0, "no card, review card or note is owed for old mail"

    # The watcher caught up: the batch closes and owes ONE summary; a second catch-up owes nothing.
    assert backlog.caught_up("INBOX") == "1"
    assert backlog.caught_up("INBOX") is None
    # Nobody is paged for 10,000 old mails: no clock runs until a card is posted.
    assert desktop.reminders.sla_tick(now + timedelta(days=3)) == 0

    stop, worker = run_worker(desktop)
    try:
        wait_until(lambda: len(summaries(slack_server)) == 1, 30, "the summary card")
        summary = summaries(slack_server)[0]
        assert summary.params["channel"] == CHANNEL
        text = summary_text(summary)
        inquiries = expected["inquiry"]
        assert (
            f"{inquiries} inquiries from the last 20 h" in text
            or f"{inquiries} inquiries from the last 21 h" in text
        )
        for tier in ("A", "B", "C"):
            assert f"{expected[f'tier:{tier}']} {tier}" in text, text
        assert f"{expected['review']} held for a check" in text
        assert f"{expected['filtered']} filtered" in text
        assert "By market:" in text
        releasable = expected["tier:A"] + expected["tier:B"]
        post_button = next(
            e for b in summary.blocks for e in b.get("elements", []) if e.get("action_id") == ACTION_POST
        )
        assert f"({releasable})" in post_button["text"]["text"]

        # New mail still gets its card at once.
        fresh = replace(kinds[0][0], message_id="<fresh-1@test.invalid>", subject="Fresh inquiry one")
        posted_before = len(top_posts(slack_server))
        t_new = time.monotonic()
        new_id = ingestor.ingest(fresh, datetime.now(UTC), catch_up=True, verdict=kinds[0][1]).inquiry_id
        wait_until(lambda: any(card_of(c) == new_id for c in top_posts(slack_server)), 2, "the new card")
        new_card_s = time.monotonic() - t_new
        assert len(top_posts(slack_server)) == posted_before + 1
    finally:
        stop.set()
        worker.join(timeout=10)
    assert len(summaries(slack_server)) == 1
    assert [card_of(c) for c in inquiry_cards(slack_server)] == [new_id], "no card for the old mail"

    # *Post the A and B cards*, clicked twice: the release is owed once.
    press(desktop, summary, ACTION_POST)
    wait_until(lambda: ephemerals(slack_server, "UALICE"), 5, "the first click answered")
    press(desktop, summary, ACTION_POST, user="UBOB")
    wait_until(lambda: ephemerals(slack_server, "UBOB"), 5, "the second click answered")
    releases = [i for i in desktop.outbox.due(FAR, limit=10**6) if i.kind == RELEASE_KIND]
    assert len(releases) == 1
    assert any("already asked for" in text for text in ephemerals(slack_server, "UBOB"))
    # Owed a chunk per delivery pass; a crash mid-way (the item delivered again from the start
    # of its chunk) continues where it stopped and owes nothing twice.
    desktop.worker.deliver(releases[0])
    assert len([i for i in desktop.outbox.due(FAR, limit=10**6) if i.kind == "card"]) == RELEASE_CHUNK
    desktop.worker.deliver(releases[0])
    desktop.outbox.forget_index()
    passes = 2
    while rest := [i for i in desktop.outbox.due(FAR, limit=10**6) if i.kind == RELEASE_KIND]:
        desktop.worker.deliver(rest[0])
        passes += 1
    assert passes == -(-(expected["tier:A"] + expected["tier:B"] + expected["review"]) // RELEASE_CHUNK)
    owed = [i for i in desktop.outbox.due(FAR, limit=10**6) if i.kind in ("card", "review_card")]
    records = {i.id: i for i in desktop.store.all_inquiries()}
    ab = {
        i.id
        for i in records.values()
        if batch_of(i) == "1" and i.triage.is_inquiry and tier_of(i) in ("A", "B")
    }
    held = {i.id for i in records.values() if batch_of(i) == "1" and i.triage.lane is Lane.REVIEW}
    cards_owed = [i.inquiry_id for i in owed if i.kind == "card"]
    assert len(cards_owed) == len(set(cards_owed)) == len(ab) == releasable
    assert set(cards_owed) == ab
    assert {i.inquiry_id for i in owed if i.kind == "review_card"} == held
    assert all(i.low for i in owed)
    # A first, oldest first.
    order = [records[i] for i in cards_owed]
    assert [tier_of(i) for i in order] == sorted(tier_of(i) for i in order)
    for a, b in itertools.pairwise(order):
        assert tier_of(a) < tier_of(b) or a.created_at <= b.created_at
    # The summary now says who asked; its button is gone.
    updated = [c for c in slack_server.calls("chat.update") if c.params.get("ts") == summary.response["ts"]]
    assert updated and "UALICE" in str(updated[-1].blocks)
    assert not has_action(updated[-1], ACTION_POST)

    # The backlog cards go out paced; a new mail's card jumps ahead of the thousands owed.
    desktop.worker.min_interval = 0.02
    stop, worker = run_worker(desktop)
    try:
        wait_until(lambda: len(inquiry_cards(slack_server)) >= 5, 10, "backlog cards going out")
        fresh2 = replace(kinds[1][0], message_id="<fresh-2@test.invalid>", subject="Fresh inquiry two")
        t_new2 = time.monotonic()
        new2 = ingestor.ingest(fresh2, datetime.now(UTC), catch_up=True, verdict=kinds[1][1]).inquiry_id
        wait_until(lambda: any(card_of(c) == new2 for c in top_posts(slack_server)), 2, "the second new card")
        jump_s = time.monotonic() - t_new2
    finally:
        stop.set()
        worker.join(timeout=10)
    posted = [card_of(c) for c in inquiry_cards(slack_server)]
    assert len(posted) < releasable, "the new card did not wait for the backlog"
    assert len(posted) == len(set(posted))
    # A backlog inquiry's SLA clock starts when its card is posted, not at its old arrival.
    first_old = desktop.store.require(posted[1] or "")
    assert batch_of(first_old) == "1" and first_old.sla_started_at is not None
    assert first_old.sla_started_at > first_old.created_at + timedelta(hours=1)
    print(
        f"\n10,000 old mails: ingested in {ingest_s:.1f} s; new card after {new_card_s:.2f} s; "
        f"new card during the backlog after {jump_s:.2f} s"
    )


# -- the real watcher and Dovecot -------------------------------------------------------------------


_MID = re.compile(rb"(?im)^Message-ID:[^\r\n]*\r?\n")
_SUBJ = re.compile(rb"(?im)^(Subject:[^\r\n]*)")


def unique(raw: bytes, n: int) -> bytes:
    raw = _MID.sub(b"", raw, count=1)
    raw = _SUBJ.sub(lambda m: m.group(1) + b" [#%d]" % n, raw, count=1)
    return b"Message-ID: <append-%d@test.invalid>\r\n" % n + raw


def test_watcher_backlog_from_dovecot_one_summary_new_mail_carded_and_click_posts_ab_once(
    desktop: Desktop, slack_server: FakeSlack, mailbox: Mailbox
) -> None:
    now = datetime.now(UTC)
    sources = [p.read_bytes() for p in SAMPLES]
    client = mailbox.connect()
    try:
        for n in range(300):
            client.append(
                "INBOX",
                unique(sources[n % len(sources)], n),
                msg_time=now - timedelta(hours=3, seconds=-n * 30),
            )
    finally:
        client.logout()
    settings = settings_for(mailbox)
    watcher = MailboxWatcher(settings, StoreMailSink(desktop.store, desktop.ingestor))
    stop_watch = threading.Event()
    watch = threading.Thread(target=watcher.run, args=(stop_watch,), name="imap", daemon=True)
    stop, worker = run_worker(desktop)
    watch.start()
    try:
        wait_until(lambda: len(summaries(slack_server)) == 1, 120, "the summary card")
        assert desktop.store.count() == 300
        wait_until(lambda: watcher.state == "idle", 10, "the watcher idling")
        assert inquiry_cards(slack_server) == [], "no card for old mail"

        t0 = time.monotonic()
        mailbox.append("INBOX", unique(sources[4], 1000))
        wait_until(lambda: len(inquiry_cards(slack_server)) == 1, 2, "the new mail's card")
        new_card_s = time.monotonic() - t0
        new_id = card_of(inquiry_cards(slack_server)[0])
        assert new_id is not None and batch_of(desktop.store.require(new_id)) is None

        summary = summaries(slack_server)[0]
        records = list(desktop.store.all_inquiries())
        ab = {i.id for i in records if batch_of(i) and i.triage.is_inquiry and tier_of(i) in ("A", "B")}
        assert ab
        press(desktop, summary, ACTION_POST)
        wait_until(lambda: ephemerals(slack_server, "UALICE"), 5, "the first click answered")
        press(desktop, summary, ACTION_POST)
        wait_until(lambda: len(ephemerals(slack_server, "UALICE")) == 2, 5, "the second click answered")
        wait_until(lambda: len(inquiry_cards(slack_server)) == 1 + len(ab), 30, "the A and B cards")
        # Nothing more comes: each A/B card exactly once, no C card, still one summary.
        time_limit = time.monotonic() + 1.0
        wait_until(lambda: desktop.outbox.pending_count() == 0, 10, "the outbox drained")
        while time.monotonic() < time_limit:  # a window in which a double would show up
            assert len(inquiry_cards(slack_server)) == 1 + len(ab)
            time.sleep(0.05)
        posted = [card_of(c) for c in inquiry_cards(slack_server)]
        assert sorted(posted[1:], key=str) == sorted(ab) and len(set(posted)) == len(posted)
        assert len(summaries(slack_server)) == 1
        assert any("already asked for" in text for text in ephemerals(slack_server, "UALICE"))

        # *Show in App Home*: the clicker's Home lists the backlog (no card yet): the C ones.
        press(desktop, summary, ACTION_HOME, user="UCAROL")
        wait_until(lambda: ephemerals(slack_server, "UCAROL"), 5, "the Home click answered")
        views = [c for c in slack_server.calls("views.publish") if c.params.get("user_id") == "UCAROL"]
        assert views
        home = str(views[-1].params["view"])
        c_ids = [i.id for i in records if batch_of(i) and i.triage.is_inquiry and tier_of(i) == "C"]
        assert c_ids and "Backlog" in home
        assert f"({len(c_ids)})" in home
    finally:
        stop_watch.set()
        stop.set()
        watch.join(timeout=10)
        worker.join(timeout=10)
    print(f"\n300 old mails through Dovecot: one summary; the new mail's card after {new_card_s:.2f} s")


# -- restarts, follow-ups, the Home -----------------------------------------------------------------


def old_inquiry(n: int, arrived: datetime, tier_text: str = "We need 5,000 pcs") -> ParsedEmail:
    return make_email(
        subject=f"LED panels quotation {n}",
        new_text=f"{tier_text} of 600x600 LED panels 40W, project in Hamburg. Please quote FOB and MOQ.",
        from_addr=f"buyer{n}@firma.example",
        from_name="Anna Buyer",
        message_id=f"<q-{n}@firma.example>",
        date=arrived,
    )


def test_crash_mid_backfill_and_after_the_summary_posts_one_summary(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    d = make_desktop(slack_server, tmp_path)
    for n in range(5):
        d.ingestor.ingest(old_inquiry(n, now - timedelta(hours=2)), now - timedelta(hours=2), catch_up=True)
    d.store.close()  # the process dies in the middle of the backfill

    d = make_desktop(slack_server, tmp_path)
    assert d.ingestor.backlog is not None
    for n in range(3, 8):  # the watcher delivers some again (checkpoint not moved), then more
        d.ingestor.ingest(old_inquiry(n, now - timedelta(hours=2)), now - timedelta(hours=2), catch_up=True)
    assert d.outbox.pending_count() == 0
    assert d.ingestor.backlog.caught_up("INBOX") == "1"
    d.worker.run_once()
    assert len(summaries(slack_server)) == 1
    assert "8 inquiries" in summary_text(summaries(slack_server)[0])
    d.store.close()

    d = make_desktop(slack_server, tmp_path)  # restarted after the summary
    assert d.ingestor.backlog is not None
    assert d.ingestor.backlog.caught_up("INBOX") is None
    assert d.ingestor.backlog.state("1")["ts"] == summaries(slack_server)[0].response["ts"]
    # A later outage's old mail opens a new batch: its own summary.
    d.ingestor.ingest(old_inquiry(20, now - timedelta(hours=1)), now - timedelta(hours=1), catch_up=True)
    assert d.ingestor.backlog.caught_up("INBOX") == "2"
    d.worker.run_once()
    assert len(summaries(slack_server)) == 2
    assert inquiry_cards(slack_server) == []
    d.store.close()


def test_follow_ups_and_home_actions_wake_a_backlog_inquiry(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    now = datetime.now(UTC)
    backlog = desktop.ingestor.backlog
    assert isinstance(backlog, Backlog)
    old_at = now - timedelta(hours=3)
    first = desktop.ingestor.ingest(old_inquiry(1, old_at), old_at, catch_up=True).inquiry_id or ""
    second = desktop.ingestor.ingest(old_inquiry(2, old_at), old_at, catch_up=True).inquiry_id or ""
    # An old follow-up waits for the card (no retry loop, no clock restart).
    reply = make_email(
        subject="Re: LED panels quotation 1",
        new_text="Also 200 pcs of 1200x300, please.",
        from_addr="buyer1@firma.example",
        message_id="<q-1-re@firma.example>",
        in_reply_to="<q-1@firma.example>",
    )
    assert desktop.ingestor.ingest(reply, old_at + timedelta(minutes=30), catch_up=True).outcome == "followup"
    assert desktop.outbox.pending_count() == 0
    assert desktop.store.require(first).sla_started_at is None
    # Claimed from the App Home: its card is owed now; the old follow-up goes into its thread.
    home_click: dict[str, Any] = {"action_id": "inquiry_claim", "value": first, "type": "button"}
    assert dispatch(desktop.app, form_body(home_actions("UALICE", home_click)), FORM).status == 200
    wait_until(lambda: desktop.store.require(first).owner == "UALICE", 5, "the claim")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and desktop.worker.run_once():
        pass
    card = next(c for c in inquiry_cards(slack_server) if card_of(c) == first)
    thread = [
        c for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts") == card.response["ts"]
    ]
    assert thread, "the old follow-up was posted into the card's thread"
    claimed = desktop.store.require(first)
    assert (
        claimed.owner == "UALICE" and claimed.sla_started_at is not None and claimed.sla_started_at > old_at
    )
    # A fresh follow-up from the buyer wakes the other one at once.
    fresh = make_email(
        subject="Re: LED panels quotation 2",
        new_text="Any news on the price?",
        from_addr="buyer2@firma.example",
        message_id="<q-2-re@firma.example>",
        in_reply_to="<q-2@firma.example>",
    )
    desktop.ingestor.ingest(fresh, now, catch_up=True)
    while desktop.worker.run_once():
        pass
    assert any(card_of(c) == second for c in inquiry_cards(slack_server))
    assert len(summaries(slack_server)) == 0, "the batch is still open (no catch-up ended)"


def test_draft_from_the_home_posts_a_backlog_inquiry_card_first(
    desktop: Desktop, slack_server: FakeSlack
) -> None:
    now = datetime.now(UTC)
    old_at = now - timedelta(hours=5)
    inq_id = desktop.ingestor.ingest(old_inquiry(7, old_at), old_at, catch_up=True).inquiry_id or ""
    with pytest.raises(UsageError, match="being posted"):
        desktop.services.drafting.request(inq_id, "UALICE")
    while desktop.worker.run_once():
        pass
    inq = desktop.store.require(inq_id)
    assert inq.card_ts and inq.sla_started_at is not None and inq.sla_started_at > old_at
    assert [card_of(c) for c in inquiry_cards(slack_server)] == [inq_id]


def test_home_backlog_queue_lists_only_uncarded_backlog_inquiries(desktop: Desktop) -> None:
    now = datetime.now(UTC)
    old_at = now - timedelta(hours=5)
    ids = [
        desktop.ingestor.ingest(old_inquiry(n, old_at), old_at, catch_up=True).inquiry_id or ""
        for n in range(3)
    ]
    fresh = desktop.ingestor.ingest(old_inquiry(9, now), now, catch_up=True).inquiry_id
    desktop.store.set_fields(ids[0], card_ts="1.0", card_channel=CHANNEL)
    page = queue_page(
        desktop.store.open_inquiries(), now, desktop.services.policy, "UALICE", HomeFilter(queue="backlog")
    )
    assert {i.id for i in page.rows} == set(ids[1:])
    assert fresh not in {i.id for i in page.rows}
    assert HomeFilter.from_doc({"queue": "backlog"}).queue == "backlog"
    view = home_view("UALICE", page, now, "en")
    assert "Backlog (no card yet)" in str(view)


def test_a_released_card_acted_on_goes_before_the_rest_of_the_backlog(desktop: Desktop) -> None:
    now = datetime.now(UTC)
    outbox = desktop.outbox
    for n in range(5):
        outbox.enqueue(f"card:b{n}", "card", f"b{n}", None, now + timedelta(milliseconds=n), low=True)
    outbox.enqueue("card:x", "card", "x", None, now + timedelta(milliseconds=10))
    assert [i.key for i in outbox.due(FAR, 3)] == ["card:x", "card:b0", "card:b1"]
    assert not outbox.enqueue("card:b4", "card", "b4", None, now)  # a person acted on it: promoted
    assert [i.key for i in outbox.due(FAR, 3)] == ["card:b4", "card:x", "card:b0"]  # by due time
    outbox.forget_index()  # read back from the files, as after a restart
    assert [i.key for i in outbox.due(FAR, 3)] == ["card:b4", "card:x", "card:b0"]
    assert [i.low for i in outbox.due(FAR, 3)] == [False, False, True]
