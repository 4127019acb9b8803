"""The store contract: every port operation of :mod:`bot.desk.ports`, run against every backend
of :data:`tests.store_backends.BACKENDS`: the memory twin and TinyDB here, PostgreSQL (which needs
a server) through tests/integration/test_pg_contract.py, which runs these same functions; a new
backend is one entry there. What a backend must do is what these tests say, including the transaction rules of
the ports' module docstring."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import NotFound, StoreError
from bot.core.models import Event, Inquiry, Market, MessageRecord, Status, Tier
from bot.core.prefs import MemberPrefs
from bot.desk import ports
from bot.desk.ports import Store
from bot.sla.followup import FollowupPolicy
from tests.inquiries import make_inquiry, make_triage
from tests.store_backends import LOCAL_BACKENDS

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FU = FollowupPolicy()  # tier A: a reminder a day for 90 days


class RecordingAudit:
    """An audit sink that keeps what the store sends it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Event]] = []

    def record(self, inquiry_id: str, event: Event) -> None:
        self.entries.append((inquiry_id, event))


@pytest.fixture
def audit() -> RecordingAudit:
    return RecordingAudit()


@pytest.fixture(params=sorted(LOCAL_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path, audit: RecordingAudit) -> Iterator[Store]:
    backend = LOCAL_BACKENDS[request.param](tmp_path, audit)
    yield backend
    backend.close()


def _event(action: str, minutes: int = 0, detail: str = "") -> Event:
    return Event(NOW + timedelta(minutes=minutes), "U1", action, detail)


def _message(mid: str) -> MessageRecord:
    return MessageRecord(mid, "in", NOW, "anna@licht.de", "Re: LED panels", "more please")


# ---------------------------------------------------------------------- inquiries
def test_next_id_is_fresh_and_passes_every_stored_id(store: Store) -> None:
    first, second = store.next_id(), store.next_id()
    assert first.isdigit() and int(second) > int(first)
    store.add(make_inquiry("40"))
    assert int(store.next_id()) > 40


def test_add_get_and_require(store: Store) -> None:
    inq = make_inquiry("1", events=(_event("received"),))
    assert store.add(inq) == inq
    assert store.get("1") == inq
    assert store.require("1") == inq
    assert store.get("2") is None
    assert store.get("not-an-id") is None
    with pytest.raises(NotFound, match="no inquiry 2"):
        store.require("2")


def test_update_writes_the_change_and_returns_it(store: Store) -> None:
    store.add(make_inquiry("1"))
    new = store.update("1", lambda i: replace(i, owner="U7", status=Status.QUOTED))
    assert (new.owner, new.status) == ("U7", Status.QUOTED)
    assert store.require("1") == new
    assert store.set_fields("1", card_ts="1.2").card_ts == "1.2"
    assert store.require("1").owner == "U7"


def test_update_that_raises_writes_nothing(store: Store) -> None:
    store.add(make_inquiry("1"))

    def boom(_inq: Inquiry) -> Inquiry:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        store.update("1", boom)
    assert store.require("1") == make_inquiry("1")
    with pytest.raises(NotFound):
        store.update("9", lambda i: i)


def test_every_new_event_goes_to_the_audit_sink_once(store: Store, audit: RecordingAudit) -> None:
    store.add(make_inquiry("1", events=(_event("received"),)))
    store.update("1", lambda i: replace(i, events=(*i.events, _event("claimed", 1), _event("note", 2, "hi"))))
    store.update("1", lambda i: replace(i, owner="U2"))  # no new event: nothing audited
    store.update("1", lambda i: i)  # no change at all
    assert [(i, e.action) for i, e in audit.entries] == [("1", "received"), ("1", "claimed"), ("1", "note")]
    assert audit.entries[2][1].detail == "hi"


def test_look_ups_by_message_id_thread_and_buyer(store: Store) -> None:
    store.add(make_inquiry("1"))
    store.add(make_inquiry("2", subject_key="other subject"))
    filtered = make_inquiry("3", triage=make_triage(is_inquiry=False), status=Status.NOT_INQUIRY)
    store.add(filtered)
    assert store.find_by_message_id("<m1@buyer.de>") == "1"
    assert store.find_by_message_id("<nope@x>") is None
    store.update("1", lambda i: replace(i, messages=(*i.messages, _message("<r1@buyer.de>"))))
    assert store.find_by_message_id("<r1@buyer.de>") == "1"
    assert store.find_thread("anna@licht.de", "led panels 600x600") == "1"
    assert store.find_thread("anna@licht.de", "other subject") == "2"
    assert store.find_thread("bob@x.de", "led panels 600x600") is None
    assert store.latest_of_buyer("anna@licht.de") == "2"  # filtered mail is not an inquiry
    assert store.latest_of_buyer("nobody@x.de") is None
    assert store.latest_inquiry_of_buyer("anna@licht.de") == store.get("2")
    assert store.latest_inquiry_of_buyer("nobody@x.de") is None
    assert store.latest_inquiry_of_buyer("") is None
    store.set_fields("2", subject_key="renamed")  # the old thread key stops resolving to it
    assert store.find_thread("anna@licht.de", "other subject") is None
    assert store.find_thread("anna@licht.de", "renamed") == "2"


def test_buyer_domains_are_the_inquiry_buyers_domains(store: Store) -> None:
    assert store.buyer_domains() == set()
    store.add(make_inquiry("1"))  # anna@licht.de
    store.add(make_inquiry("2", buyer_addr="Bob@Ports.CO.UK"))
    store.add(make_inquiry("3", buyer_addr="carl@licht.de"))
    store.add(make_inquiry("4", buyer_addr="spam@junk.example", triage=make_triage(is_inquiry=False)))
    store.add(make_inquiry("5", buyer_addr=""))
    store.add(make_inquiry("6", buyer_addr="odd@name@deep.example"))
    assert store.buyer_domains() == {"licht.de", "ports.co.uk", "deep.example"}
    assert ports.domain_of("odd@name@deep.example") == "deep.example"
    assert ports.domain_of("no-at-sign") == ""


def test_summaries_counts_and_bulk_reads(store: Store) -> None:
    store.add(make_inquiry("1"))
    store.add(make_inquiry("2", status=Status.WON))
    store.add(make_inquiry("3", triage=make_triage(is_inquiry=False), status=Status.NOT_INQUIRY))
    store.add(make_inquiry("4", owner="U1", status=Status.QUOTED))
    assert store.count() == 4
    by_id = {s.id: s for s in store.summaries()}
    assert set(by_id) == {"1", "2", "3", "4"}
    assert by_id["1"] == ports.summarize(store.require("1"))
    assert by_id["1"].open and not by_id["2"].open and not by_id["3"].is_inquiry
    assert by_id["4"].owner == "U1" and by_id["4"].status == "quoted"
    assert sorted(i.id for i in store.open_inquiries()) == ["1", "4"]
    assert sorted(i.id for i in store.all_inquiries()) == ["1", "2", "3", "4"]
    assert sorted(i.id for i in store.load_many(["4", "2", "99"])) == ["2", "4"]


def test_due_candidates_are_what_may_owe_an_sla_or_follow_up_ping(store: Store) -> None:
    """The SLA tick's read: a buyer message waiting since the cut-off or earlier whose breach is
    not recorded, or no message waiting and our answer at the other cut-off or earlier."""
    hour = timedelta(hours=1)
    start = NOW - 5 * hour
    breach = f"sla:3:{start.isoformat()}:breach"
    store.add(make_inquiry("1", sla_started_at=start))  # waiting 5 h
    store.add(make_inquiry("2", sla_started_at=NOW - hour))  # waiting 1 h: not yet
    store.add(make_inquiry("3", sla_started_at=start, pings_sent=(breach,)))  # breach recorded
    store.add(make_inquiry("4", sla_started_at=None, answered_at=NOW - 30 * hour))  # answered long ago
    store.add(make_inquiry("5", sla_started_at=None, answered_at=NOW - hour))  # answered just now
    store.add(make_inquiry("6", sla_started_at=start, status=Status.WON))  # closed
    store.add(make_inquiry("7", sla_started_at=start, triage=make_triage(is_inquiry=False)))  # not one
    store.add(make_inquiry("8", sla_started_at=None, answered_at=None))  # nothing waits, never answered
    store.add(make_inquiry("9", sla_started_at=start, snoozed_until=NOW + hour, owner="U1"))
    old_cycle = "sla:10:2020-01-01T00:00:00+00:00:breach"
    store.add(make_inquiry("10", sla_started_at=start, pings_sent=(old_cycle,)))
    answered = NOW - 30 * hour  # tier C: reminders on days 30, 60 and 90, then none
    for inq_id, last in (("11", 3), ("12", 2)):
        cycle = f"fu:{inq_id}:{answered.isoformat()}:{last}"
        store.add(
            make_inquiry(inq_id, sla_started_at=None, answered_at=answered, tier=Tier.C, pings_sent=(cycle,))
        )
    waiting_before, answered_before = NOW - 4 * hour, NOW - 24 * hour

    def ids() -> list[str]:
        return [i.id for i in store.due_candidates(waiting_before, answered_before, FU)]

    assert ids() == ["1", "4", "9", "10", "12"]  # 10's breach is an old cycle's; 11 had its last
    assert store.due_candidates(waiting_before, answered_before, FU)[0] == store.require("1")
    assert ids() == sorted(
        (i.id for i in store.open_inquiries() if ports.may_owe_ping(i, waiting_before, answered_before, FU)),
        key=int,
    )
    store.update("1", lambda i: replace(i, pings_sent=(f"sla:1:{start.isoformat()}:breach",)))
    store.update("2", lambda i: replace(i, sla_started_at=start))  # an older start (re-dated)
    store.update("3", lambda i: replace(i, sla_started_at=NOW - 4 * hour))  # a new buyer message
    store.update("4", lambda i: replace(i, status=Status.LOST))
    store.update("5", lambda i: replace(i, answered_at=NOW - 25 * hour))
    assert ids() == ["2", "3", "5", "9", "10", "12"]
    assert store.due_candidates(NOW - 9 * hour, NOW - 99 * hour, FU) == []


def _open_rows(store: Store) -> list[Inquiry]:
    """A mixed desk for the open reads: owners, unclaimed, waiting or not, markets, tiers, backlog."""
    hour = timedelta(hours=1)
    rows = [
        make_inquiry("1", owner="U1", sla_started_at=NOW - 9 * hour, created_at=NOW - 9 * hour),
        make_inquiry("2", owner=None, sla_started_at=NOW - 2 * hour, created_at=NOW - 3 * hour),
        make_inquiry("3", owner="U2", sla_started_at=None, answered_at=NOW - hour, created_at=NOW - 5 * hour),
        make_inquiry(
            "4",
            owner=None,
            sla_started_at=NOW - 5 * hour,
            tier=None,
            triage=make_triage(market=Market.SEA, tier=Tier.B),
        ),
        make_inquiry("5", owner="U1", sla_started_at=None, created_at=NOW - 5 * hour, status=Status.QUOTED),
        make_inquiry("6", owner=None, sla_started_at=None, extra={"backlog": "b1"}, card_ts=None),
        make_inquiry("7", owner=None, sla_started_at=None, extra={"backlog": "b1"}, card_ts="1.2"),
        make_inquiry("8", owner="U1", sla_started_at=NOW - 9 * hour, status=Status.WON),  # closed
        make_inquiry("9", owner=None, triage=make_triage(is_inquiry=False)),  # filtered mail
        make_inquiry("10", owner="U1", sla_started_at=NOW - 9 * hour, created_at=NOW - 9 * hour),  # ties 1
        make_inquiry("11", owner=None, sla_started_at=NOW - 6 * hour, tier=Tier.C, created_at=NOW - 2 * hour),
    ]
    for inq in rows:
        store.add(inq)
    return rows


def test_open_where_selects_orders_and_pages_open_inquiries(store: Store) -> None:
    """The desk's open reads (App Home, digests, /inquiries): every condition, order and page,
    and each answer the rule :func:`ports.open_matches` gives over every inquiry."""
    rows = _open_rows(store)
    hour = timedelta(hours=1)

    def ids(**kw: object) -> list[str]:
        return [i.id for i in store.open_where(ports.OpenQuery(**kw))]  # type: ignore[arg-type]

    assert ids() == ["1", "2", "3", "4", "5", "6", "7", "10", "11"]
    assert ids(owner="U1") == ["1", "5", "10"]
    assert ids(owner="nobody") == []
    assert ids(unclaimed=True) == ["2", "4", "6", "7", "11"]
    assert ids(waiting=True) == ["1", "2", "4", "10", "11"]
    assert ids(waiting=False) == ["3", "5", "6", "7"]
    assert ids(waiting_before=NOW - 5 * hour) == ["1", "4", "10", "11"]
    assert ids(waiting_before=NOW - 5 * hour, unclaimed=True) == ["4", "11"]
    assert ids(market="SEA") == ["4"]
    assert ids(tier="B") == ["4"]  # no tier of its own: the triage's
    assert ids(tier="C") == ["11"]
    assert ids(tier="A", owner="U1", waiting=True) == ["1", "10"]
    assert ids(backlog=True) == ["6"]  # 7 has its card
    assert ids(order="waiting", waiting=True) == ["1", "10", "11", "4", "2"]
    assert ids(order="created", waiting=False) == ["3", "5", "6", "7"]
    assert ids(order="newest") == ["4", "6", "7", "11", "2", "3", "5", "1", "10"]  # ties: by id
    assert ids(order="newest", offset=2, limit=3) == ["7", "11", "2"]
    assert ids(order="created", offset=8, limit=5) == ["7"]
    assert ids(limit=0) == []
    assert store.open_where(ports.OpenQuery(owner="U2"))[0] == store.require("3")
    every = [
        ports.OpenQuery(),
        ports.OpenQuery(owner="U1", waiting=True, order="newest"),
        ports.OpenQuery(unclaimed=True, waiting_before=NOW - hour, order="waiting"),
        ports.OpenQuery(market="EU", tier="A", order="created", offset=1, limit=2),
        ports.OpenQuery(backlog=True, unclaimed=True),
    ]
    for q in every:
        assert store.open_where(q) == ports.select_open(rows, q), q
    store.update("2", lambda i: replace(i, owner="U2", sla_started_at=None))
    assert ids(unclaimed=True) == ["4", "6", "7", "11"]
    assert ids(owner="U2") == ["2", "3"]
    with pytest.raises(ValueError, match="unknown order"):
        ports.OpenQuery(order="sideways")


def test_count_open_counts_by_owner(store: Store) -> None:
    rows = _open_rows(store)
    hour = timedelta(hours=1)
    assert store.count_open(ports.OpenQuery()) == {"U1": 3, "U2": 1, None: 5}
    assert store.count_open(ports.OpenQuery(waiting=True)) == {"U1": 2, None: 3}
    assert store.count_open(ports.OpenQuery(waiting_before=NOW - 6 * hour, market="EU")) == {"U1": 2, None: 1}
    assert store.count_open(ports.OpenQuery(tier="B")) == {None: 1}
    assert store.count_open(ports.OpenQuery(backlog=True)) == {None: 1}
    assert store.count_open(ports.OpenQuery(owner="nobody")) == {}
    q = ports.OpenQuery(unclaimed=True, waiting=False, limit=1)  # paging does not apply to counts
    assert store.count_open(q) == ports.count_by_owner(rows, q) == {None: 2}


def test_rebuild_index_forgets_replaced_message_ids(store: Store) -> None:
    store.add(make_inquiry("1"))
    store.update("1", lambda i: replace(i, messages=(replace(i.messages[0], message_id="<erased@x>"),)))
    store.rebuild_index()
    assert store.find_by_message_id("<m1@buyer.de>") is None
    assert store.find_by_message_id("<erased@x>") == "1"
    assert [s.id for s in store.summaries()] == ["1"]
    assert store.latest_of_buyer("anna@licht.de") == "1"
    latest = store.latest_inquiry_of_buyer("anna@licht.de")
    assert latest is not None and latest.messages[0].message_id == "<erased@x>"


# ------------------------------------------------------------------------- outbox
def test_outbox_add_is_once_per_key(store: Store) -> None:
    box = store.outbox
    assert box.add("card:1", "card", "1", {"a": 1}, NOW)
    assert not box.add("card:1", "card", "1", {"a": 2}, NOW)  # pending
    assert box.pending_count() == 1
    box.done("card:1", NOW)
    assert box.pending_count() == 0
    assert not box.add("card:1", "card", "1", {}, NOW)  # done, once
    assert box.add("update:1", "card_update", "1", {}, NOW, once=False)
    box.done("update:1", NOW)
    assert box.add("update:1", "card_update", "1", {}, NOW, once=False)  # refreshes repeat
    box.done("nothing:pending", NOW)  # unknown keys are ignored
    assert box.pending_count() == 1


def test_outbox_due_orders_normal_before_low_then_by_time(store: Store) -> None:
    box = store.outbox
    box.add("low:early", "card", "1", {}, NOW - timedelta(minutes=9), low=True)
    box.add("normal:late", "card", "2", {}, NOW - timedelta(minutes=1))
    box.add("normal:early", "card", "3", {"x": [1, "y"]}, NOW - timedelta(minutes=5))
    box.add("future", "card", "4", {}, NOW + timedelta(minutes=5))
    items = box.due(NOW)
    assert [i.key for i in items] == ["normal:early", "normal:late", "low:early"]
    assert [i.key for i in box.due(NOW, limit=2)] == ["normal:early", "normal:late"]
    first = items[0]
    assert (first.kind, first.inquiry_id, first.payload, first.attempts, first.tried, first.low) == (
        "card",
        "3",
        {"x": [1, "y"]},
        0,
        False,
        False,
    )
    assert first.not_before == (NOW - timedelta(minutes=5)).timestamp()
    assert items[2].low
    assert box.next_due_at() == (NOW - timedelta(minutes=9)).timestamp()
    # Owed again at normal priority: the low item goes first among equals now.
    assert not box.add("low:early", "card", "1", {}, NOW)
    assert [i.key for i in box.due(NOW)] == ["low:early", "normal:early", "normal:late"]


def test_outbox_retry_tried_and_give_up(store: Store) -> None:
    box = store.outbox
    box.add("ping:1", "ping", "1", {}, NOW)
    box.mark_tried("ping:1")
    assert box.due(NOW)[0].tried
    box.retry("ping:1", NOW + timedelta(minutes=2), "x" * 400)
    assert box.due(NOW) == []
    (item,) = box.due(NOW + timedelta(minutes=2))
    assert (item.attempts, item.last_error) == (1, "x" * 300)
    assert box.next_due_at() == (NOW + timedelta(minutes=2)).timestamp()
    box.give_up("ping:1", NOW, "channel_not_found")
    assert box.pending_count() == 0 and box.next_due_at() is None
    (dead,) = box.dead()
    assert (dead["key"], dead["kind"], dead["last_error"]) == ("ping:1", "ping", "channel_not_found")
    assert dead["dead_at"] == NOW.timestamp()
    box.retry("ping:1", NOW, "gone")  # no longer pending: ignored
    box.give_up("ping:1", NOW, "again")
    assert len(box.dead()) == 1


def test_outbox_forgets_done_keys_past_the_ttl_once_it_holds_enough(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "DONE_KEEP", 2)
    box = store.outbox
    for key, days in (("old", 20), ("older", 15), ("new", 0)):
        box.add(key, "note", None, {}, NOW)
        box.done(key, NOW - timedelta(days=days))
    box.reload()  # as after a restart: read back from storage
    assert box.add("old", "note", None, {}, NOW)  # forgotten: past DONE_TTL
    assert box.add("older", "note", None, {}, NOW)
    assert not box.add("new", "note", None, {}, NOW)  # still remembered


def test_outbox_survives_reload(store: Store) -> None:
    box = store.outbox
    box.add("a", "card", "1", {"k": "v"}, NOW, low=True)
    box.add("b", "card", "2", {}, NOW)
    box.done("b", NOW)
    box.reload()
    assert [(i.key, i.low, i.payload) for i in box.due(NOW)] == [("a", True, {"k": "v"})]
    assert not box.add("b", "card", "2", {}, NOW)


def test_outbox_renew_extends_only_what_this_instance_holds(store: Store) -> None:
    """A claim (due) is held until done, retried or dead; renew says which keys are still held."""
    box = store.outbox
    assert box.lease_s > 0
    for key in ("a", "b", "c", "d"):
        box.add(key, "note", None, {}, NOW)
    box.add("later", "note", None, {}, NOW + timedelta(minutes=5))
    assert box.renew(["a", "b"]) == set()  # pending but not claimed: nobody holds them
    assert sorted(i.key for i in box.due(NOW)) == ["a", "b", "c", "d"]  # equal due times: any order
    assert box.renew(["a", "b", "c", "d", "later", "unknown"]) == {"a", "b", "c", "d"}
    assert box.renew([]) == set()
    assert box.renew(["d"]) == {"d"}  # renewed again and again while it is held
    box.done("a", NOW)
    box.retry("b", NOW, "slack down")  # due again, nobody's until claimed again
    box.give_up("c", NOW, "gone")
    assert box.renew(["a", "b", "c", "d"]) == {"d"}
    assert sorted((i.key, i.attempts) for i in box.due(NOW)) == [("b", 1), ("d", 0)]  # d: its holder's
    assert box.renew(["b", "d"]) == {"b", "d"}
    box.reload()  # claims are this instance's, not a cache of storage
    assert box.renew(["b", "d"]) == {"b", "d"}
    assert box.add("a", "note", None, {}, NOW, once=False)  # owed again as a refresh: a new item …
    assert box.renew(["a", "b", "d"]) == {"b", "d"}  # … that nobody claimed yet
    assert box.pending_count() == 4


def test_outbox_renew_drops_an_item_removed_and_owed_again(store: Store) -> None:
    """An erased item is nobody's; the same key owed again afterwards is a new, unclaimed item."""
    store.outbox.add("note:1", "note", "1", {}, NOW)
    store.outbox.add("note:2", "note", "2", {}, NOW)
    assert [i.key for i in store.outbox.due(NOW)] == ["note:1", "note:2"]
    assert store.rewrite_records(lambda _t, r: None if r.get("inquiry_id") == "1" else r) == (1, 0)
    assert store.outbox.renew(["note:1", "note:2"]) == {"note:2"}
    assert store.outbox.add("note:1", "note", "1", {}, NOW)
    assert store.outbox.renew(["note:1"]) == set()
    assert {i.key for i in store.outbox.due(NOW)} == {"note:1", "note:2"}
    assert store.outbox.renew(["note:1", "note:2"]) == {"note:1", "note:2"}


# ------------------------------------------------------------------------- drafts
def test_draft_update_if_acts_only_on_the_status_asked_for(store: Store) -> None:
    drafts = store.drafts
    d = drafts.add({"inquiry_id": "1", "body": "Hi", "status": "scheduled"})
    assert not drafts.update_if(d, {"status": "sending"}, only=("drafted",))
    assert drafts.update_if(d, {"status": "sending", "by": "a"}, only=("scheduled",), exclude=("sent",))
    assert not drafts.update_if(d, {"status": "sending", "by": "b"}, only=("scheduled",))  # taken
    assert not drafts.update_if(d, {"status": "sending"}, exclude=("sent", "sending"))
    assert drafts.get(d) == {"id": d, "inquiry_id": "1", "body": "Hi", "status": "sending", "by": "a"}
    assert drafts.update_if(d, {"status": "sent"})  # no condition: any status
    assert drafts.scheduled() == []
    assert not drafts.update_if("d99", {"status": "sent"})  # no such draft


def test_drafts(store: Store) -> None:
    drafts = store.drafts
    first = drafts.add({"inquiry_id": "1", "body": "Dear Anna", "status": "drafted"})
    second = drafts.add({"inquiry_id": "2", "body": "Hello", "status": "drafted"})
    assert (first, second) == ("d1", "d2")
    assert drafts.get("d1") == {"id": "d1", "inquiry_id": "1", "body": "Dear Anna", "status": "drafted"}
    assert drafts.get("d9") is None
    drafts.update("d2", {"status": "scheduled", "send_at": NOW.isoformat()})
    drafts.update("d9", {"status": "sent"})  # no such draft: nothing
    assert drafts.get("d2") == {
        "id": "d2",
        "inquiry_id": "2",
        "body": "Hello",
        "status": "scheduled",
        "send_at": NOW.isoformat(),
    }
    assert [d["id"] for d in drafts.scheduled()] == ["d2"]
    got = drafts.get("d1")
    assert got is not None
    got["body"] = "changed by the caller"
    assert drafts.get("d1") == {"id": "d1", "inquiry_id": "1", "body": "Dear Anna", "status": "drafted"}


# ---------------------------------------------------------------- meta and friends
def test_checkpoints(store: Store) -> None:
    assert store.checkpoint("INBOX") is None
    store.save_checkpoint("INBOX", 7, 100)
    store.save_checkpoint("Sent", 9, 3)
    store.save_checkpoint("INBOX", 7, 120)
    assert store.checkpoint("INBOX") == (7, 120)
    assert store.checkpoint("Sent") == (9, 3)


def test_meta_values_and_keys(store: Store) -> None:
    assert store.get_meta("tz:U1") is None
    assert store.get_meta("tz:U1", "UTC") == "UTC"
    store.set_meta("tz:U1", "Asia/Shanghai")
    store.set_meta("digest:U2", {"at": "08:00", "days": [1, 2]})
    store.set_meta("erasures", 1)
    store.set_meta("erasures", 2)
    assert store.get_meta("tz:U1") == "Asia/Shanghai"
    assert store.get_meta("digest:U2") == {"at": "08:00", "days": [1, 2]}
    assert store.get_meta("erasures") == 2
    assert sorted(store.meta_keys()) == ["digest:U2", "erasures", "tz:U1"]
    assert store.meta_keys("tz:") == ["tz:U1"]


def test_reputation_records(store: Store) -> None:
    assert store.reputation("sender", "anna@licht.de") is None
    assert store.reputation("sender", "") is None
    store.set_reputation("sender", "anna@licht.de", {"real": 1, "junk": 0})
    store.set_reputation("domain", "licht.de", {"real": 2})
    store.set_reputation("sender", "", {"real": 9})  # no key: nothing stored
    store.set_reputation("sender", "anna@licht.de", {"real": 2})  # fields are merged
    assert store.reputation("sender", "anna@licht.de") == {"real": 2, "junk": 0}
    assert store.reputation("domain", "licht.de") == {"real": 2}
    assert store.reputation("domain", "anna@licht.de") is None
    with pytest.raises(StoreError, match="unknown reputation kind"):
        store.reputation("company", "x")


def test_text_model(store: Store) -> None:
    assert store.text_model() is None
    store.set_text_model({"counts": {"inquiry": {"led": 3}}, "docs": 1})
    store.set_text_model({"counts": {"inquiry": {"led": 4}}, "docs": 2})
    assert store.text_model() == {"counts": {"inquiry": {"led": 4}}, "docs": 2}


def test_member_prefs_and_home_state(store: Store) -> None:
    assert store.member_prefs("U1") == MemberPrefs.from_doc(None)
    prefs = MemberPrefs.from_doc({"lang": "zh", "dm_pings": False, "digest_time": "07:30"})
    assert prefs != MemberPrefs.from_doc(None)
    store.set_member_prefs("U1", prefs)
    assert store.member_prefs("U1") == prefs
    assert store.member_prefs("U2") == MemberPrefs.from_doc(None)
    assert store.home_state("U1") == {}
    store.set_home_state("U1", {"filter": "mine", "page": 2})
    store.set_home_state("U1", {"page": 3})  # fields are merged
    assert store.home_state("U1") == {"filter": "mine", "page": 3}
    with pytest.raises(StoreError, match="user id"):
        store.set_home_state("", {"page": 1})


# ----------------------------------------------------------------------- raw mail
def test_raw_mail(store: Store) -> None:
    h1, h2 = "ab" + "1" * 62, "cd" + "2" * 62
    assert not store.has_raw(h1) and store.load_raw(h1) is None
    store.save_raw(h2, b"From: b\r\n\r\nsecond")
    store.save_raw(h1, b"From: a\r\n\r\nfirst")
    assert store.has_raw(h1)
    assert store.load_raw(h1) == b"From: a\r\n\r\nfirst"
    store.save_raw(h1, b"From: a\r\n\r\nfirst")  # the same mail again: nothing changes
    assert store.load_raw(h1) == b"From: a\r\n\r\nfirst"
    assert store.raw_hashes() == [h1, h2]
    assert store.raw_label(h1) == f"mail/ab/{h1}.eml"
    assert store.delete_raw([h1, "ef" + "3" * 62]) == 1
    assert store.raw_hashes() == [h2]
    with pytest.raises(StoreError):
        store.save_raw("../escape", b"x")


# ------------------------------------------------------------------------ records
def test_other_records_and_rewrite(store: Store) -> None:
    store.outbox.add("note:1", "note", "1", {"who": "anna@licht.de"}, NOW)
    store.outbox.add("note:2", "note", "2", {"who": "bob@x.de"}, NOW)
    store.drafts.add({"inquiry_id": "3", "to": "anna@licht.de", "body": "Dear Anna"})
    store.set_meta("tz:U1", "UTC")
    store.save_checkpoint("INBOX", 1, 2)  # checkpoints hold no personal data: not listed
    records = list(store.other_records())
    tables = {t for t, _ in records}
    assert {"outbox", "drafts", "kv"} <= tables
    assert not tables & {"mailbox", "folders", "counters"}
    assert {"key": "tz:U1", "value": "UTC"} in [r for t, r in records if t == "kv"]

    def decide(table: str, record: dict[str, object]) -> dict[str, object] | None:
        if record.get("inquiry_id") == "1":
            return None
        if table == "drafts":
            return {**record, "to": "[erased]", "body": "[erased]"}
        return record

    assert store.rewrite_records(decide) == (1, 1)
    assert [i.key for i in store.outbox.due(NOW)] == ["note:2"]
    assert store.outbox.add("note:1", "note", "1", {}, NOW)  # the removed item is not pending
    assert store.drafts.get("d1") == {"id": "d1", "inquiry_id": "3", "to": "[erased]", "body": "[erased]"}
    assert store.get_meta("tz:U1") == "UTC"
    assert store.checkpoint("INBOX") == (1, 2)
    store.scrub_leftovers(lambda raw: b"anna@licht.de" in raw)  # no copy of a record is kept


# ------------------------------------------------------------------- transactions
def test_transaction_nests(store: Store) -> None:
    with store.transaction():
        store.set_meta("a", 1)
        with store.transaction():
            store.set_meta("b", store.get_meta("a") + 1)
        store.add(make_inquiry("1"))
    assert (store.get_meta("a"), store.get_meta("b"), store.count()) == (1, 2, 1)


def test_transaction_makes_read_modify_write_safe_across_threads(store: Store) -> None:
    store.set_meta("turn", 0)
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(50):
                with store.transaction():
                    store.set_meta("turn", store.get_meta("turn") + 1)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert store.get_meta("turn") == 200


def test_exception_in_a_transaction_keeps_or_discards_by_rolls_back(store: Store) -> None:
    store.set_meta("before", 1)
    with pytest.raises(RuntimeError, match="abort"), store.transaction():
        store.set_meta("inside", 1)
        store.outbox.add("card:1", "card", "1", {}, NOW)
        raise RuntimeError("abort")
    kept = 0 if store.rolls_back else 1
    assert store.get_meta("inside", 0) == kept
    assert store.outbox.pending_count() == kept
    assert store.get_meta("before") == 1
    with store.transaction():  # the store is usable after
        store.set_meta("after", 1)
    assert store.get_meta("after") == 1


def test_batch_groups_writes(store: Store) -> None:
    with store.batch():
        for n in range(1, 4):
            store.add(make_inquiry(str(n)))
    assert store.count() == 3
