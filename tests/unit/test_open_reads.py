"""The desk's open reads by query (:mod:`bot.desk.open_reads`) give the views exactly what they
showed when they read every open inquiry: the App Home page of every queue, market, tier and
page against :func:`bot.blocks.home_queue.queue_page` over all of them; the overdue listing of
``/inquiries``; each owner's digest. Run on the memory twin and TinyDB here and on PostgreSQL
from tests/integration/test_pg_open_reads.py (the same functions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.blocks.home_queue import ANY, MARKETS, PAGE_SIZE, QUEUES, TIERS, HomeFilter, queue_page
from bot.core.models import Inquiry, Market, Status
from bot.desk import open_reads
from bot.desk.commands import list_inquiries
from bot.desk.ports import Store, summarize
from bot.sla.calendar import BusinessCalendar
from bot.sla.digest import owner_digest
from bot.sla.engine import SlaPolicy, SlaState, parse_warn_at, sla_state
from tests.store_backends import LOCAL_BACKENDS
from tests.unit.test_blocks_home import ME, NOW, OTHER, QUEUE

POLICIES = {
    "default": SlaPolicy(),
    "calendars": SlaPolicy(
        calendars={Market.EU: BusinessCalendar("Europe/Berlin"), Market.SEA: BusinessCalendar("Asia/Bangkok")}
    ),
    "breach only": SlaPolicy(warn_at=parse_warn_at("none")),
    "a market from triage": SlaPolicy(hours={Market.EU: 2.0, Market.US: 8.0, Market.SEA: 4.0}),
}


def desk() -> list[Inquiry]:
    """The Home tests' queue of 60, its arrival times spread (ties kept in pairs), plus closed
    inquiries, filtered mail and backlog mail with and without a card."""
    rows = [replace(i, created_at=NOW - timedelta(minutes=(int(i.id) // 2) * 13 % 300)) for i in QUEUE]
    extra = [
        replace(QUEUE[0], id="61", status=Status.WON),
        replace(QUEUE[4], id="62", status=Status.LOST, owner=ME),
        replace(QUEUE[1], id="63", triage=replace(QUEUE[1].triage, is_inquiry=False)),
        replace(QUEUE[2], id="64", sla_started_at=None, extra={"backlog": "b1"}, card_ts=None, owner=None),
        replace(QUEUE[3], id="65", sla_started_at=None, extra={"backlog": "b1"}, card_ts="9.9", owner=None),
        replace(QUEUE[5], id="66", status=Status.QUOTED, sla_started_at=NOW - timedelta(hours=30)),
    ]
    return rows + extra


@pytest.fixture(params=sorted(LOCAL_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = LOCAL_BACKENDS[request.param](tmp_path, None)
    yield backend
    backend.close()


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Inquiry]]:
    rows = desk()
    for inq in rows:
        store.add(inq)
    return store, rows


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_home_page_is_the_queue_page_over_every_open_inquiry(
    loaded: tuple[Store, list[Inquiry]], policy_name: str
) -> None:
    store, rows = loaded
    policy = POLICIES[policy_name]
    checked = 0
    for viewer in (ME, OTHER):
        for queue in QUEUES:
            for market, tier in ((ANY, ANY), (MARKETS[2], ANY), (ANY, TIERS[1]), (MARKETS[0], TIERS[0])):
                for page in (0, 1, 2, 5, 99):
                    flt = HomeFilter(queue=queue, market=market, tier=tier, page=page)
                    want = queue_page(rows, NOW, policy, viewer, flt)
                    assert open_reads.home_page(store, NOW, policy, viewer, flt) == want, flt
                    checked += 1
    assert checked == 2 * len(QUEUES) * 4 * 5
    first = open_reads.home_page(store, NOW, policy, ME, HomeFilter())
    assert len(first.rows) == PAGE_SIZE and first.counts.total == 63  # 60, quoted 66, backlog 64 and 65


def test_home_page_every_page_at_small_page_sizes(loaded: tuple[Store, list[Inquiry]]) -> None:
    """Every page of every queue, where the page needs more reads (rows dropped as not at risk,
    the deadline bound of a deep page, the turn from running clocks to none)."""
    store, rows = loaded
    for policy in (POLICIES["default"], POLICIES["calendars"]):
        for queue in QUEUES:
            for size in (1, 4, 7):
                last = queue_page(rows, NOW, policy, ME, HomeFilter(queue=queue), size).pages
                for page in range(last):
                    flt = HomeFilter(queue=queue, page=page)
                    want = queue_page(rows, NOW, policy, ME, flt, size)
                    assert open_reads.home_page(store, NOW, policy, ME, flt, size) == want, (
                        queue,
                        size,
                        page,
                    )


def test_home_page_follows_changes(loaded: tuple[Store, list[Inquiry]]) -> None:
    store, _ = loaded
    policy = POLICIES["default"]
    store.update("7", lambda i: replace(i, owner=ME, sla_started_at=NOW - timedelta(days=9)))
    store.update("10", lambda i: replace(i, status=Status.WON))
    flt = HomeFilter(queue="mine")
    got = open_reads.home_page(store, NOW, policy, ME, flt)
    assert got == queue_page(store.open_inquiries(), NOW, policy, ME, flt)
    assert got.rows[0].id == "7"  # overdue longest: on top


def test_overdue_listing_is_the_breached_open_inquiries_newest_first(
    loaded: tuple[Store, list[Inquiry]],
) -> None:
    store, rows = loaded
    for policy in POLICIES.values():
        for limit in (1, 3, 15, 100):
            overdue = [i for i in rows if not i.status.closed and i.triage.is_inquiry]
            overdue = [i for i in overdue if sla_state(i, NOW, policy) is SlaState.BREACHED]
            want = sorted(overdue, key=lambda i: int(i.id))
            want.sort(key=lambda i: i.created_at, reverse=True)  # what /inquiries listed
            got = list_inquiries(store, "overdue", ME, NOW, policy, limit=limit)
            assert got == [summarize(i) for i in want[:limit]]
            assert [i.id for i in open_reads.breached(store, NOW, policy, limit)] == [s.id for s in got]
    overdue_all = list_inquiries(store, "overdue", ME, NOW, POLICIES["default"], limit=100)
    assert len(overdue_all) == 15 and "66" in {s.id for s in overdue_all}  # 12 of 60 run 3 days, SEA, 66


def test_open_listings_newest_first(loaded: tuple[Store, list[Inquiry]]) -> None:
    store, rows = loaded
    open_ = sorted((i for i in rows if not i.status.closed and i.triage.is_inquiry), key=lambda i: int(i.id))
    open_.sort(key=lambda i: i.created_at, reverse=True)
    picks = {
        "open": open_,
        "mine": [i for i in open_ if i.owner == ME],
        "unclaimed": [i for i in open_ if i.owner is None],
    }
    for which, want in picks.items():
        assert list_inquiries(store, which, ME, NOW) == [summarize(i) for i in want[:15]], which


def test_digest_reads_are_what_each_owner_digest_needs(loaded: tuple[Store, list[Inquiry]]) -> None:
    store, rows = loaded
    open_ = [i for i in rows if not i.status.closed and i.triage.is_inquiry]
    assert open_reads.open_owners(store) == sorted({i.owner for i in open_ if i.owner}) == [ME, OTHER]
    unclaimed = open_reads.unclaimed_waiting(store)
    for policy in POLICIES.values():
        for owner in (ME, OTHER, "U0NOBODY"):
            for at in (NOW, NOW + timedelta(hours=3), NOW + timedelta(days=2)):
                read = open_reads.digest_inquiries(store, owner, unclaimed)
                assert owner_digest(owner, read, at, policy, "Asia/Tokyo") == owner_digest(
                    owner, open_, at, policy, "Asia/Tokyo"
                )
    assert open_reads.digest_inquiries(store, ME) == open_reads.digest_inquiries(store, ME, unclaimed)
