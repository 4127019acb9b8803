"""The App Home tab: one page of the open queue with filters, paging and the member's preferences.

Layout (≤ 100 blocks; a full page is about 30)::

    header · greeting and counts (open / mine / unclaimed / at risk)
    [Queue ▾] [Market ▾] [Tier ▾] [Preferences]          block "home-filters"
    *Unclaimed · EU · A* (23)
    row × ≤ 10: a section and its Claim/Release + Draft buttons (value = inquiry id)
    Page 2 of 3 · 11–20 of 23     [← Previous] [Next →]  block "home-paging"
    your preferences · help

The Preferences modal (:func:`prefs_modal`, callback ``home_prefs``) edits the digest time,
DM pings on/off and the language; :func:`read_prefs` turns its submitted state back into a
:class:`~bot.core.prefs.MemberPrefs`. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from bot.blocks.card import ACTION_CLAIM, ACTION_DRAFT, ACTION_RELEASE, TIER_BADGE, sla_label, status_label
from bot.blocks.common import (
    MAX_BLOCKS_VIEW,
    MAX_VIEW_TITLE,
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
    plain,
    section,
    slack_date,
    static_select,
    user_mention,
)
from bot.blocks.home_queue import ANY, MARKETS, QUEUES, TIERS, HomeFilter, QueuePage
from bot.core.i18n import SUPPORTED, t
from bot.core.models import Inquiry
from bot.core.names import market_label
from bot.core.prefs import MemberPrefs, parse_hhmm
from bot.sla.engine import SlaState

ACTION_QUEUE = "home_queue"
ACTION_MARKET = "home_market"
ACTION_TIER = "home_tier"
ACTION_PAGE_PREV = "home_page_prev"
ACTION_PAGE_NEXT = "home_page_next"
ACTION_PREFS = "home_prefs"
BLOCK_FILTERS = "home-filters"
BLOCK_PAGING = "home-paging"

PREFS_CALLBACK_ID = "home_prefs"
BLOCK_DIGEST_TIME = "prefs-digest-time"
ACTION_DIGEST_TIME = "prefs_digest_time"
BLOCK_DM_PINGS = "prefs-dm-pings"
ACTION_DM_PINGS = "prefs_dm_pings"
BLOCK_LANG = "prefs-lang"
ACTION_LANG = "prefs_lang"

# Filter select action id -> HomeFilter field.
FILTER_ACTIONS = {ACTION_QUEUE: "queue", ACTION_MARKET: "market", ACTION_TIER: "tier"}


def lang_name(lang: str) -> str:
    """A language's own name (the same in every catalog, so a member always finds theirs)."""
    return {"en": "English", "zh": "中文"}.get(lang, lang)


def inquiry_row(
    inq: Inquiry,
    *,
    viewer: str,
    lang: str,
    list_name: str,
    deadline: datetime | None = None,
    state: SlaState | None = None,
) -> list[Block]:
    """Two blocks for one inquiry: a one-line summary and its Claim/Release + Draft buttons."""
    tier = inq.tier or inq.triage.tier
    badge = TIER_BADGE.get(tier.value, "") if tier else ""
    subject = esc(inq.subject or t("card.no_subject", lang), 150)
    who = esc(inq.buyer_name or inq.buyer_addr, 80)
    bits = [f"{flag_emoji(inq.triage.country)} {who}".strip(), status_label(inq.status, lang)]
    if inq.owner:
        bits.append(user_mention(inq.owner))
    if state is not None and state in (SlaState.AT_RISK, SlaState.BREACHED, SlaState.ON_TRACK):
        bits.append(sla_label(state.value, deadline, lang))
    elif deadline is not None:
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


QUEUE_LABELS = {"mine": "home.mine", "unclaimed": "home.unclaimed", "at_risk": "home.at_risk"}
QUEUE_LABELS["backlog"] = "home.backlog"  # mail of a backlog summary with no card yet (bot.desk.backlog)


def queue_label(queue: str, lang: str) -> str:
    return t(QUEUE_LABELS.get(queue, "home.queue.all"), lang)


def filter_selects(flt: HomeFilter, lang: str) -> list[Block]:
    """The three selects, each showing the current choice."""
    queues = [(q, queue_label(q, lang)) for q in QUEUES]
    markets = [(ANY, t("home.market.any", lang)), *((m, market_label(m, lang)) for m in MARKETS)]
    tiers = [(ANY, t("home.tier.any", lang)), *((x, f"{TIER_BADGE.get(x, '')} {x}".strip()) for x in TIERS)]
    return [
        static_select(ACTION_QUEUE, t("home.queue", lang), queues, flt.queue),
        static_select(ACTION_MARKET, t("home.market", lang), markets, flt.market),
        static_select(ACTION_TIER, t("home.tier", lang), tiers, flt.tier),
    ]


def paging(page: QueuePage, lang: str) -> list[Block]:
    """The page indicator, and Previous/Next buttons when there is more than one page."""
    indicator = t(
        "home.page",
        lang,
        page=page.page + 1,
        pages=page.pages,
        first=page.first,
        last=page.last,
        n=page.matching,
    )
    blocks: list[Block] = [context(indicator)]
    buttons = []
    if page.page > 0:
        buttons.append(button(t("home.prev", lang), ACTION_PAGE_PREV, str(page.page - 1)))
    if page.page < page.pages - 1:
        buttons.append(button(t("home.next", lang), ACTION_PAGE_NEXT, str(page.page + 1)))
    if buttons:
        blocks.append(actions(buttons, BLOCK_PAGING))
    return blocks


def prefs_summary(prefs: MemberPrefs, default_time: time, default_lang: str, lang: str) -> str:
    return t(
        "home.prefs.summary",
        lang,
        time=prefs.digest_time_or(default_time).strftime("%H:%M"),
        pings=t("home.prefs.pings_on" if prefs.dm_pings else "home.prefs.pings_off", lang),
        language=lang_name(prefs.lang_or(default_lang)),
    )


def home_view(
    user_id: str,
    page: QueuePage,
    now: datetime,
    lang: str,
    *,
    prefs: MemberPrefs | None = None,
    default_digest_time: time = time(9, 0),
    default_lang: str = "en",
) -> dict[str, Any]:
    """The ``views.publish`` payload's ``view`` for ``user_id`` (type ``home``, ≤ 100 blocks)."""
    flt = page.filter
    c = page.counts
    blocks: list[Block] = [
        header(t("home.title", lang)),
        context(
            t("home.updated", lang, user=user_mention(user_id), date=slack_date(now)),
            t("home.counts", lang, total=c.total, mine=c.mine, unclaimed=c.unclaimed, at_risk=c.at_risk),
        ),
        actions(
            [*filter_selects(flt, lang), button(t("home.prefs.button", lang), ACTION_PREFS, "open")],
            BLOCK_FILTERS,
        ),
        divider(),
    ]
    title = [queue_label(flt.queue, lang)]
    if flt.market != ANY:
        title.append(flt.market)
    if flt.tier != ANY:
        title.append(t("home.tier_named", lang, tier=flt.tier))
    blocks.append(section(f"*{' · '.join(title)}* ({page.matching})"))
    if not page.rows:
        blocks.append(context(t("home.empty", lang)))
    for inq in page.rows:
        blocks.extend(
            inquiry_row(
                inq,
                viewer=user_id,
                lang=lang,
                list_name="queue",
                deadline=page.deadlines.get(inq.id),
                state=page.states.get(inq.id),
            )
        )
    blocks += paging(page, lang)
    blocks.append(divider())
    blocks.append(
        context(
            prefs_summary(prefs or MemberPrefs(), default_digest_time, default_lang, lang),
            t("home.help", lang),
        )
    )
    return {
        "type": "home",
        "blocks": cap_blocks(blocks, MAX_BLOCKS_VIEW, context(t("home.truncated", lang))),
    }


# -- preferences modal --------------------------------------------------------------------------


def prefs_modal(prefs: MemberPrefs, default_time: time, default_lang: str, lang: str) -> dict[str, Any]:
    """The Preferences modal, filled in with the member's current (or the team's) settings."""
    on = {"text": plain(t("home.prefs.pings_on", lang), 75), "value": "on"}
    off = {"text": plain(t("home.prefs.pings_off", lang), 75), "value": "off"}
    languages = [(code, lang_name(code)) for code in SUPPORTED]
    return {
        "type": "modal",
        "callback_id": PREFS_CALLBACK_ID,
        "title": plain(t("home.prefs.title", lang), MAX_VIEW_TITLE),
        "submit": plain(t("home.prefs.save", lang), MAX_VIEW_TITLE),
        "close": plain(t("home.prefs.cancel", lang), MAX_VIEW_TITLE),
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK_DIGEST_TIME,
                "label": plain(t("home.prefs.digest_time", lang), 2000),
                "hint": plain(t("home.prefs.digest_time_hint", lang), 2000),
                "element": {
                    "type": "timepicker",
                    "action_id": ACTION_DIGEST_TIME,
                    "initial_time": prefs.digest_time_or(default_time).strftime("%H:%M"),
                },
            },
            {
                "type": "input",
                "block_id": BLOCK_DM_PINGS,
                "label": plain(t("home.prefs.dm_pings", lang), 2000),
                "hint": plain(t("home.prefs.dm_pings_hint", lang), 2000),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ACTION_DM_PINGS,
                    "options": [on, off],
                    "initial_option": on if prefs.dm_pings else off,
                },
            },
            {
                "type": "input",
                "block_id": BLOCK_LANG,
                "label": plain(t("home.prefs.language", lang), 2000),
                "element": static_select(
                    ACTION_LANG, t("home.prefs.language", lang), languages, prefs.lang_or(default_lang)
                ),
            },
        ],
    }


def read_prefs(values: Mapping[str, Mapping[str, Any]]) -> MemberPrefs:
    """The :class:`MemberPrefs` a submitted Preferences modal holds (``view.state.values``).

    Raises ``ValueError`` naming the block when a value is missing or malformed."""

    def element(bid: str, aid: str) -> Mapping[str, Any]:
        found = (values.get(bid) or {}).get(aid)
        if not isinstance(found, Mapping):
            raise ValueError(bid)
        return found

    raw_time = element(BLOCK_DIGEST_TIME, ACTION_DIGEST_TIME).get("selected_time")
    try:
        digest_time = parse_hhmm(str(raw_time or ""))
    except ValueError as e:
        raise ValueError(BLOCK_DIGEST_TIME) from e
    pings = (element(BLOCK_DM_PINGS, ACTION_DM_PINGS).get("selected_option") or {}).get("value")
    if pings not in ("on", "off"):
        raise ValueError(BLOCK_DM_PINGS)
    chosen = (element(BLOCK_LANG, ACTION_LANG).get("selected_option") or {}).get("value")
    if chosen not in SUPPORTED:
        raise ValueError(BLOCK_LANG)
    return MemberPrefs(digest_time=digest_time, dm_pings=pings == "on", lang=str(chosen))
