"""Digests and statistics, rendered from plain data (lists of inquiries and numbers).

The SLA engine decides *what* is overdue or due; these functions only lay it out.
Each returns ``(fallback_text, blocks)`` within the 50-block message limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot import localize
from bot.blocks.card import TIER_BADGE, category_label
from bot.blocks.common import (
    MAX_BLOCKS_MESSAGE,
    Block,
    cap_blocks,
    context,
    esc,
    fallback_text,
    flag_emoji,
    header,
    section,
    slack_date,
    user_mention,
)
from bot.i18n import has, t, tn
from bot.models import Inquiry

ITEMS_PER_SECTION = 8


def inquiry_line(inq: Inquiry, lang: str, deadline: datetime | None = None) -> str:
    """One mrkdwn line: badge, subject, buyer, owner, a link to the card's channel when known."""
    tier = inq.tier or inq.triage.tier
    badge = TIER_BADGE.get(tier.value, "") if tier else ""
    subject = esc(inq.subject or t("card.no_subject", lang), 120)
    who = esc(inq.buyer_name or inq.buyer_addr, 60)
    parts = [f"{badge} *{subject}*".strip(), f"{flag_emoji(inq.triage.country)} {who}".strip()]
    if inq.owner:
        parts.append(user_mention(inq.owner))
    if deadline is not None:
        parts.append(t("card.sla_due", lang, date=slack_date(deadline)))
    parts.append(f"`{esc(inq.id, 40)}`")
    return " · ".join(parts)


def _group(title: str, items: Sequence[Inquiry], lang: str, deadlines: Mapping[str, datetime]) -> list[Block]:
    if not items:
        return []
    lines = [f"• {inquiry_line(i, lang, deadlines.get(i.id))}" for i in items[:ITEMS_PER_SECTION]]
    if len(items) > ITEMS_PER_SECTION:
        lines.append(t("common.more", lang, n=len(items) - ITEMS_PER_SECTION))
    return [section(f"*{title}* ({len(items)})\n" + "\n".join(lines))]


def followup_label(key: str, lang: str) -> str:
    k = f"followup.{key}"
    return t(k, lang) if has(k) else esc(key, 60)


def owner_digest_blocks(
    lang: str,
    overdue: Sequence[Inquiry],
    due_today: Sequence[Inquiry],
    followups: Mapping[str, Sequence[Inquiry]],
    unclaimed: Sequence[Inquiry],
    now: datetime,
    deadlines: Mapping[str, datetime] | None = None,
) -> tuple[str, list[Block]]:
    """A person's morning digest. ``followups`` maps a cadence key (e.g. ``"quotation_followup"``)
    to the inquiries due for that follow-up."""
    dl = deadlines or {}
    n_follow = sum(len(v) for v in followups.values())
    summary = t(
        "digest.owner.summary",
        lang,
        overdue=len(overdue),
        due=len(due_today),
        followups=tn("digest.followups", lang, n_follow),
        unclaimed=len(unclaimed),
    )
    blocks: list[Block] = [
        header(t("digest.owner.title", lang)),
        context(summary, slack_date(now, "{date_long}")),
    ]
    body: list[Block] = []
    body += _group(t("digest.overdue", lang), overdue, lang, dl)
    body += _group(t("digest.due_today", lang), due_today, lang, dl)
    for key, items in followups.items():
        body += _group(localize.followup_heading(key, lang), items, lang, dl)
    body += _group(t("digest.unclaimed", lang), unclaimed, lang, dl)
    if not body:
        body = [section(t("digest.all_clear", lang))]
    blocks += body
    return fallback_text(f"{t('digest.owner.title', lang)}: {summary}"), cap_blocks(
        blocks, MAX_BLOCKS_MESSAGE
    )


def team_digest_blocks(
    lang: str,
    *,
    open_count: int,
    unclaimed: Sequence[Inquiry],
    overdue: Sequence[Inquiry],
    by_owner: Mapping[str, int],
    now: datetime,
    answered_within_sla: tuple[int, int] | None = None,
    deadlines: Mapping[str, datetime] | None = None,
) -> tuple[str, list[Block]]:
    """The team channel's digest. ``by_owner`` maps Slack user id -> open inquiries;
    ``answered_within_sla`` is ``(within, answered)`` for yesterday, when known."""
    dl = deadlines or {}
    summary = t("digest.team.summary", lang, open=open_count, unclaimed=len(unclaimed), overdue=len(overdue))
    blocks: list[Block] = [
        header(t("digest.team.title", lang)),
        context(summary, slack_date(now, "{date_long}")),
    ]
    if answered_within_sla is not None:
        within, answered = answered_within_sla
        pct = round(100 * within / answered) if answered else 100
        blocks.append(section(t("digest.team.sla", lang, within=within, answered=answered, pct=pct)))
    blocks += _group(t("digest.overdue", lang), overdue, lang, dl)
    blocks += _group(t("digest.unclaimed", lang), unclaimed, lang, dl)
    if by_owner:
        rows = [
            f"• {user_mention(u)}: {n}"
            for u, n in sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        ]
        blocks.append(section(f"*{t('digest.team.by_owner', lang)}*\n" + "\n".join(rows)))
    return fallback_text(f"{t('digest.team.title', lang)}: {summary}"), cap_blocks(blocks, MAX_BLOCKS_MESSAGE)


def _counts(counts: Mapping[str, int], label: str = "") -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{label}{esc(k, 40)} {v}" for k, v in items) or "—"


def stats_text(
    lang: str,
    *,
    days: int,
    received: int,
    answered: int,
    within_sla: int,
    median_first_response_minutes: float | None,
    by_tier: Mapping[str, int],
    by_market: Mapping[str, int],
    won: int,
    lost: int,
    filtered: Mapping[str, int] | None = None,
    overturned: Mapping[str, int] | None = None,
    in_review: int = 0,
) -> str:
    """``/inquiries stats`` as mrkdwn (one short paragraph per figure)."""
    pct = round(100 * within_sla / answered) if answered else 100
    if median_first_response_minutes is None:
        median = "—"
    elif median_first_response_minutes < 120:
        median = t("stats.minutes", lang, n=round(median_first_response_minutes))
    else:
        median = t("stats.hours", lang, n=round(median_first_response_minutes / 60, 1))
    lines = [
        f"*{tn('stats.title', lang, days, days=days)}*",
        t("stats.received", lang, n=received),
        t("stats.answered", lang, n=answered, within=within_sla, pct=pct),
        t("stats.median_first_response", lang, value=median),
        t("stats.by_tier", lang, counts=_counts(by_tier)),
        t("stats.by_market", lang, counts=_counts(by_market)),
        t("stats.won_lost", lang, won=won, lost=lost),
    ]
    if filtered:
        parts = ", ".join(f"{category_label(k, lang)} {v}" for k, v in sorted(filtered.items()))
        lines.append(t("stats.filtered", lang, counts=parts))
    if in_review:
        lines.append(t("stats.in_review", lang, n=in_review))
    if overturned is not None:
        lines.append(t("stats.overturned", lang, **{k: int(v) for k, v in overturned.items()}))
    return "\n".join(lines)


def stats_blocks(lang: str, text: str) -> tuple[str, list[Block]]:
    """Wrap :func:`stats_text` output in a message."""
    title = text.splitlines()[0].strip("*") if text else t("stats.title", lang, days=0)
    return fallback_text(title), [section(text)]
