"""The desk's reads of open inquiries by query: the App Home's page, the breached list of
``/inquiries`` and an owner's digest ask the store (:class:`~bot.desk.ports.OpenQuery`) for the
rows they show, and the SLA maths (:mod:`bot.sla.engine`) decides among them. Nothing here
reads every open inquiry (``InquiryRepo.open_inquiries``): at 1,000,000 stored on PostgreSQL
that was 13 s and 330 MB a call.

* :func:`home_page` returns exactly the :class:`~bot.blocks.home_queue.QueuePage` that
  :func:`~bot.blocks.home_queue.queue_page` computes over every open inquiry (the reference).
  Counts are counted by the store; a page of inquiries whose clock runs is the soonest
  deadlines: the ``k`` longest-waiting rows bound the ``k``-th deadline ``D``, and every row
  due by ``D`` waits since ``D`` minus the shortest window or earlier (deadlines only come later
  than that), so one read by that cut-off holds the page; rows with no clock follow, a page of
  them by arrival. The "at risk" count is a count per market by its exact cut-off where there
  is one (no calendar), else judged over the candidates waiting longer than the first warning of
  any market; the "at risk" queue is the soonest deadlines among those candidates.
* :func:`breached` pages newest first through the inquiries waiting longer than the shortest
  window until it has the breached ones it shows.
* :func:`digest_inquiries` is what one owner's digest needs: theirs and the unclaimed waiting
  ones; :func:`open_owners` whom a digest may be owed.

Counts and rows come from separate queries, so a change landing between them may show in one
and not the other until the next refresh (the views are refreshed on every change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.blocks.home_queue import ANY, PAGE_SIZE, HomeFilter, QueueCounts, QueuePage, at_risk, queue_order
from bot.core.models import Inquiry, Market
from bot.desk.ports import InquiryRepo, OpenQuery
from bot.sla.engine import (
    SlaPolicy,
    SlaState,
    at_risk_offset,
    deadline,
    earliest_event_offset,
    shortest_window,
    sla_state,
)


def _count(store: InquiryRepo, q: OpenQuery) -> int:
    return sum(store.count_open(q).values())


def _sorted(inquiries: list[Inquiry], policy: SlaPolicy) -> list[Inquiry]:
    return sorted(inquiries, key=lambda i: queue_order(i, deadline(i, policy)))


def at_risk_count(store: InquiryRepo, now: datetime, policy: SlaPolicy, base: OpenQuery) -> int:
    """How many inquiries ``base`` selects are at risk or breached at ``now``."""
    n = 0
    for market in Market:
        if base.market is not None and base.market != market.value:
            continue
        q = replace(base, market=market.value, order="id", offset=0, limit=None)
        offset = at_risk_offset(market, policy)
        if offset is not None:  # exact: a count by the market's cut-off
            n += _count(store, replace(q, waiting_before=now - offset))
        else:  # a calendar or a window per inquiry: the candidates, judged one by one
            rows = store.open_where(replace(q, waiting_before=now - earliest_event_offset(policy)))
            n += sum(1 for i in rows if at_risk(sla_state(i, now, policy)))
    return n


def _soonest(
    store: InquiryRepo,
    policy: SlaPolicy,
    q: OpenQuery,
    k: int,
    keep: Callable[[Inquiry], bool] = lambda _: True,
) -> list[Inquiry]:
    """The ``k`` waiting inquiries ``q`` selects and ``keep`` keeps with the soonest deadlines,
    in queue order. The longest-waiting rows read first (more while ``keep`` drops rows) bound
    the ``k``-th deadline ``D``; every row due by ``D`` waits since ``D`` minus the shortest
    window or earlier, so one read by that cut-off holds the answer."""
    if k <= 0:
        return []
    q = replace(q, waiting=True, offset=0, limit=None)
    limit = k
    while True:
        first = store.open_where(replace(q, order="waiting", limit=limit))
        kept = [i for i in first if keep(i)]
        if len(kept) >= k or len(first) < limit:
            break
        limit *= 4
    if len(first) < limit:  # every row q selects was read
        return _sorted(kept, policy)[:k]
    dls = sorted(d for i in kept if (d := deadline(i, policy)) is not None)
    cut = dls[k - 1] - shortest_window(policy)
    if q.waiting_before is not None:
        cut = min(cut, q.waiting_before)
    found = store.open_where(replace(q, waiting_before=cut))
    return _sorted([i for i in found if keep(i)], policy)[:k]


def _queue_query(flt: HomeFilter, viewer: str) -> OpenQuery:
    return OpenQuery(
        owner=viewer if flt.queue == "mine" else None,
        unclaimed=flt.queue == "unclaimed",
        backlog=flt.queue == "backlog",
        market=None if flt.market == ANY else flt.market,
        tier=None if flt.tier == ANY else flt.tier,
    )


def home_page(
    store: InquiryRepo,
    now: datetime,
    policy: SlaPolicy,
    viewer: str,
    flt: HomeFilter,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """The page of the open queue ``viewer`` asked for, read by queries (module docstring)."""
    by_owner = store.count_open(OpenQuery())
    counts = QueueCounts(
        total=sum(by_owner.values()),
        mine=by_owner.get(viewer, 0),
        unclaimed=by_owner.get(None, 0),
        at_risk=at_risk_count(store, now, policy, OpenQuery()),
    )
    base = _queue_query(flt, viewer)

    def risky(inq: Inquiry) -> bool:
        return flt.queue != "at_risk" or at_risk(sla_state(inq, now, policy))

    if flt.queue == "at_risk":  # all waiting: a candidate waits longer than any first warning
        base = replace(base, waiting_before=now - earliest_event_offset(policy))
        waiting = matching = at_risk_count(store, now, policy, base)
    else:
        waiting = _count(store, replace(base, waiting=True))
        matching = waiting + _count(store, replace(base, waiting=False))
    pages = max(1, -(-matching // page_size))
    page = min(flt.page, pages - 1)
    lo, hi = page * page_size, (page + 1) * page_size
    rows = _soonest(store, policy, base, min(hi, waiting), risky)[lo:] if lo < waiting else []
    if flt.queue != "at_risk" and hi > waiting:  # then the rows with no clock running, by arrival
        idle = replace(base, waiting=False, order="created", offset=max(0, lo - waiting))
        rows += store.open_where(replace(idle, limit=hi - max(lo, waiting)))
    return QueuePage(
        rows=tuple(rows),
        page=page,
        pages=pages,
        matching=matching,
        filter=replace(flt, page=page),
        counts=counts,
        deadlines={i.id: d for i in rows if (d := deadline(i, policy)) is not None},
        states={i.id: sla_state(i, now, policy) for i in rows},
    )


def breached(store: InquiryRepo, now: datetime, policy: SlaPolicy, limit: int) -> list[Inquiry]:
    """The open inquiries overdue at ``now``, newest first (ties by id), at most ``limit``."""
    q = OpenQuery(waiting_before=now - shortest_window(policy), order="newest")
    out: list[Inquiry] = []
    offset, batch = 0, max(limit, 1) * 2
    while len(out) < limit:
        rows = store.open_where(replace(q, offset=offset, limit=batch))
        out += [i for i in rows if sla_state(i, now, policy) is SlaState.BREACHED]
        if len(rows) < batch:
            break
        offset += batch
        batch = min(batch * 2, 2000)
    return out[:limit]


def open_owners(store: InquiryRepo) -> list[str]:
    """Everyone who owns an open inquiry, sorted."""
    return sorted(o for o in store.count_open(OpenQuery()) if o)


def digest_inquiries(store: InquiryRepo, owner: str, unclaimed: list[Inquiry] | None = None) -> list[Inquiry]:
    """What ``owner``'s digest is made of (:func:`bot.sla.digest.owner_digest` picks from it):
    their open inquiries and the unclaimed ones whose buyer waits (pass ``unclaimed`` read once
    when several digests go out together)."""
    if unclaimed is None:
        unclaimed = unclaimed_waiting(store)
    return [*store.open_where(OpenQuery(owner=owner)), *unclaimed]


def unclaimed_waiting(store: InquiryRepo) -> list[Inquiry]:
    """The open inquiries nobody owns whose buyer message waits (every digest lists them)."""
    return store.open_where(OpenQuery(unclaimed=True, waiting=True))
