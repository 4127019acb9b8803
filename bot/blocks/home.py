"""The App Home tab: the viewer's inquiries, those at risk, and the unclaimed queue.

Each inquiry is a compact row (a section plus a small actions block with the card's
``inquiry_claim`` / ``inquiry_release`` / ``inquiry_draft`` buttons, value = inquiry id).
The view stays within 100 blocks; longer lists end with "and N more".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.blocks.card import ACTION_CLAIM, ACTION_DRAFT, ACTION_RELEASE, TIER_BADGE, status_label
from bot.blocks.common import (
    MAX_BLOCKS_VIEW,
    Block,
    actions,
    block_id,
    button,
    cap_blocks,
    context,
    divider,
    esc,
    flag_emoji,
    header,
    section,
    slack_date,
    user_mention,
)
from bot.i18n import t
from bot.models import Inquiry

ROWS_PER_LIST = 10


def inquiry_row(
    inq: Inquiry,
    *,
    viewer: str,
    lang: str,
    list_name: str,
    deadline: datetime | None = None,
) -> list[Block]:
    """Two blocks for one inquiry: a one-line summary and its Claim/Release + Draft buttons."""
    tier = inq.tier or inq.triage.tier
    badge = TIER_BADGE.get(tier.value, "") if tier else ""
    subject = esc(inq.subject or t("card.no_subject", lang), 150)
    who = esc(inq.buyer_name or inq.buyer_addr, 80)
    bits = [f"{flag_emoji(inq.triage.country)} {who}".strip(), status_label(inq.status, lang)]
    if inq.owner:
        bits.append(user_mention(inq.owner))
    if deadline is not None:
        bits.append(t("card.sla_due", lang, date=slack_date(deadline)))
    text = f"{badge} *{subject}*\n{' · '.join(bits)}".strip()
    if inq.owner is None:
        first = button(t("card.claim", lang), ACTION_CLAIM, inq.id, style="primary")
    elif inq.owner == viewer:
        first = button(t("card.release", lang), ACTION_RELEASE, inq.id)
    else:
        first = None
    elements = [e for e in (first, button(t("card.draft", lang), ACTION_DRAFT, inq.id)) if e is not None]
    return [
        section(text, bid=block_id(f"home-{list_name}-row", inq.id)),
        actions(elements, block_id(f"home-{list_name}", inq.id)),
    ]


def _list(
    title: str,
    items: Sequence[Inquiry],
    *,
    viewer: str,
    lang: str,
    list_name: str,
    deadlines: Mapping[str, datetime],
) -> list[Block]:
    blocks: list[Block] = [divider(), section(f"*{title}* ({len(items)})")]
    if not items:
        blocks.append(context(t("home.empty", lang)))
        return blocks
    for inq in items[:ROWS_PER_LIST]:
        blocks.extend(
            inquiry_row(inq, viewer=viewer, lang=lang, list_name=list_name, deadline=deadlines.get(inq.id))
        )
    if len(items) > ROWS_PER_LIST:
        blocks.append(context(t("common.more", lang, n=len(items) - ROWS_PER_LIST)))
    return blocks


def home_view(
    user_id: str,
    mine: Sequence[Inquiry],
    unclaimed: Sequence[Inquiry],
    at_risk: Sequence[Inquiry],
    now: datetime,
    lang: str,
    deadlines: Mapping[str, datetime] | None = None,
) -> dict[str, Any]:
    """The ``views.publish`` payload's ``view`` for ``user_id`` (type ``home``, ≤ 100 blocks).

    ``deadlines`` maps inquiry id -> SLA deadline (computed by the SLA engine) when known.
    """
    dl = deadlines or {}
    blocks: list[Block] = [
        header(t("home.title", lang)),
        context(t("home.updated", lang, user=user_mention(user_id), date=slack_date(now))),
    ]
    blocks += _list(t("home.mine", lang), mine, viewer=user_id, lang=lang, list_name="mine", deadlines=dl)
    blocks += _list(
        t("home.at_risk", lang), at_risk, viewer=user_id, lang=lang, list_name="risk", deadlines=dl
    )
    blocks += _list(
        t("home.unclaimed", lang), unclaimed, viewer=user_id, lang=lang, list_name="unclaimed", deadlines=dl
    )
    blocks.append(context(t("home.help", lang)))
    return {"type": "home", "blocks": cap_blocks(blocks, MAX_BLOCKS_VIEW, context(t("home.truncated", lang)))}
