"""Text replies to ``/inquiries`` (ephemeral mrkdwn): the listings and an inquiry's history.

Pure: rows and events in, text out; everything a member or a buyer wrote is escaped and capped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.blocks import localize
from bot.blocks.common import esc, slack_date
from bot.core.i18n import t, tn
from bot.core.models import Inquiry


class ListedRow(Protocol):
    """One inquiry in a listing (the store's summaries have these)."""

    @property
    def id(self) -> str: ...

    @property
    def tier(self) -> str | None: ...

    @property
    def subject(self) -> str: ...

    @property
    def buyer_addr(self) -> str: ...

    @property
    def owner(self) -> str | None: ...


def listing_reply(rows: Sequence[ListedRow], lang: str) -> str:
    """``/inquiries mine|open|unclaimed|overdue|search``: a heading and one line per inquiry."""
    if not rows:
        return t("cmd.none", lang)
    lines = [
        f"• #{r.id} [{r.tier or '-'}] {esc(r.subject, 120)} — {esc(r.buyer_addr, 120)}"
        + (f" <@{r.owner}>" if r.owner else "")
        for r in rows
    ]
    return tn("cmd.list_heading", lang, len(rows)) + "\n" + "\n".join(lines)


def history_reply(inq: Inquiry, lang: str, last: int = 40) -> str:
    """``/inquiries history ID``: the inquiry's last ``last`` events, one a line, localized."""
    lines = [
        f"{slack_date(e.at)} {localize.event_actor(e.actor, lang)} {localize.event_action(e.action, lang)} "
        f"{esc(localize.event_detail(e.action, e.detail, lang), 200)}"
        for e in inq.events[-last:]
    ]
    return f"#{inq.id} {esc(inq.subject, 150)}\n" + "\n".join(lines)
