"""The App Home's queue: which open inquiries a member sees, in what order, one page at a time.

Pure: given the open inquiries, ``now``, the SLA policy, the viewer and a :class:`HomeFilter`,
:func:`queue_page` returns one :class:`QueuePage`. Ordering is stable: SLA deadline first
(soonest, overdue ones on top), inquiries with no running clock after them, then by arrival and
id, so paging never shows a row twice or skips one while nothing changes.

    >>> HomeFilter.from_doc({"queue": "mine", "page": 2}).page
    2
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.models import Inquiry, Market, Tier
from bot.sla.engine import SlaPolicy, SlaState, deadline, sla_state

PAGE_SIZE = 10
QUEUES = ("all", "mine", "unclaimed", "at_risk", "backlog")  # backlog: no card yet (bot.desk.backlog)
MARKETS = tuple(m.value for m in Market)
TIERS = tuple(t.value for t in Tier)
ANY = "any"


@dataclass(frozen=True)
class HomeFilter:
    queue: str = "all"  # one of QUEUES
    market: str = ANY  # ANY or a Market value
    tier: str = ANY  # ANY or a Tier value
    page: int = 0  # 0-based

    def with_choice(self, field: str, value: str) -> HomeFilter:
        """A new filter with one select changed; the page goes back to the first.
        Unknown fields or values leave the filter as it was."""
        allowed = {"queue": QUEUES, "market": (ANY, *MARKETS), "tier": (ANY, *TIERS)}.get(field)
        if allowed is None or value not in allowed:
            return self
        return replace(self, **{field: value}, page=0)

    def to_doc(self) -> dict[str, Any]:
        return {"queue": self.queue, "market": self.market, "tier": self.tier, "page": self.page}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> HomeFilter:
        doc = doc or {}
        f = cls()
        for name in ("queue", "market", "tier"):
            f = f.with_choice(name, str(doc.get(name, "")))
        page = doc.get("page", 0)
        return replace(f, page=max(0, page) if isinstance(page, int) else 0)


@dataclass(frozen=True)
class QueueCounts:
    total: int
    mine: int
    unclaimed: int
    at_risk: int


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[Inquiry, ...]
    page: int  # 0-based, clamped to the last page
    pages: int  # at least 1
    matching: int  # rows matching the filter, over all pages
    filter: HomeFilter
    counts: QueueCounts
    deadlines: dict[str, datetime]
    states: dict[str, SlaState]

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when empty)."""
        return self.page * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.page * PAGE_SIZE + len(self.rows)


def at_risk(state: SlaState) -> bool:
    """What the "at risk" queue and count hold: warned or overdue."""
    return state in (SlaState.AT_RISK, SlaState.BREACHED)


def queue_order(inq: Inquiry, dl: datetime | None) -> tuple[int, float, float, int, str]:
    """The queue's sort key of an inquiry whose deadline is ``dl`` (see the module docstring)."""
    return (
        0 if dl is not None else 1,
        dl.timestamp() if dl is not None else 0.0,
        inq.created_at.timestamp(),
        int(inq.id) if inq.id.isdigit() else 0,
        inq.id,
    )


def _tier(inq: Inquiry) -> str | None:
    tier = inq.tier or inq.triage.tier
    return tier.value if tier else None


def queue_page(
    inquiries: Iterable[Inquiry],
    now: datetime,
    policy: SlaPolicy,
    viewer: str,
    flt: HomeFilter,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """The page of the open queue ``viewer`` asked for (see the module docstring)."""
    open_ = [i for i in inquiries if i.triage.is_inquiry and not i.status.closed]
    states = {i.id: sla_state(i, now, policy) for i in open_}
    deadlines = {i.id: d for i in open_ if (d := deadline(i, policy)) is not None}
    counts = QueueCounts(
        total=len(open_),
        mine=sum(1 for i in open_ if i.owner == viewer),
        unclaimed=sum(1 for i in open_ if i.owner is None),
        at_risk=sum(1 for i in open_ if at_risk(states[i.id])),
    )

    def keep(inq: Inquiry) -> bool:
        if flt.queue == "mine" and inq.owner != viewer:
            return False
        if flt.queue == "unclaimed" and inq.owner is not None:
            return False
        if flt.queue == "at_risk" and not at_risk(states[inq.id]):
            return False
        if flt.queue == "backlog" and not (inq.extra.get("backlog") and not inq.card_ts):
            return False
        if flt.market != ANY and inq.triage.market.value != flt.market:
            return False
        return not (flt.tier != ANY and _tier(inq) != flt.tier)

    def order(inq: Inquiry) -> tuple[int, float, float, int, str]:
        return queue_order(inq, deadlines.get(inq.id))

    matching = sorted((i for i in open_ if keep(i)), key=order)
    pages = max(1, -(-len(matching) // page_size))
    page = min(flt.page, pages - 1)
    rows = tuple(matching[page * page_size : (page + 1) * page_size])
    shown = {i.id for i in rows}
    return QueuePage(
        rows=rows,
        page=page,
        pages=pages,
        matching=len(matching),
        filter=replace(flt, page=page),
        counts=counts,
        deadlines={k: v for k, v in deadlines.items() if k in shown},
        states={k: v for k, v in states.items() if k in shown},
    )
