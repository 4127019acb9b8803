"""The backlog summary card (issue #16): one message for a catch-up's old mail, not a card each.

    *312 inquiries from the last 24 h*: 41 A · 130 B · 141 C
    12 held for a check · 80 filtered
    By market: EU 120 · US 90 · SEA 80 · OTHER 22
    [Post the A and B cards (171)] [Show in App Home]
    SLA clocks start when a card is posted or someone acts on it; new mail gets its card at once.

After *Post the A and B cards* the button gives way to a line naming who asked and how many
cards are owed. Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks.common import Block, actions, button, context, section, user_mention
from bot.core.i18n import t, tn
from bot.core.models import BacklogCounts

ACTION_POST = "backlog_post"
ACTION_HOME = "backlog_home"
BLOCK_ACTIONS = "backlog-actions"
TIER_ORDER = ("A", "B", "C", "?")


def summary_message(
    batch: str, counts: BacklogCounts, state: dict[str, Any], now: datetime, lang: str
) -> tuple[str, list[Block]]:
    """The summary's fallback text and blocks; ``state`` is the batch record (released_by …)."""
    tiers = " · ".join(f"{counts.tiers[x]} {x}" for x in TIER_ORDER if counts.tiers.get(x))
    head = tn("backlog.summary", lang, counts.inquiries, hours=counts.hours(now))
    text = f"{head}: {tiers}" if tiers else head
    lines = [f"*{head}*" + (f": {tiers}" if tiers else "")]
    lines.append(t("backlog.others", lang, held=counts.held, filtered=counts.filtered))
    if counts.markets:
        markets = " · ".join(f"{m} {n}" for m, n in sorted(counts.markets.items(), key=lambda kv: -kv[1]))
        lines.append(t("backlog.markets", lang, markets=markets))
    blocks: list[Block] = [section("\n".join(lines))]
    released_by = state.get("released_by")
    buttons = [button(t("backlog.show_home", lang), ACTION_HOME, batch)]
    if released_by:
        owed = state.get("owed")
        blocks.append(
            context(
                t("backlog.released", lang, user=user_mention(str(released_by)), n=owed)
                if owed is not None
                else t("backlog.releasing", lang, user=user_mention(str(released_by)))
            )
        )
    elif counts.releasable or counts.held_unposted:
        buttons.insert(
            0, button(t("backlog.post_ab", lang, n=counts.releasable), ACTION_POST, batch, style="primary")
        )
    blocks.append(actions(buttons, BLOCK_ACTIONS))
    blocks.append(context(t("backlog.sla_note", lang)))
    return text, blocks
