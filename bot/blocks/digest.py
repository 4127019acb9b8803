"""Digests and statistics, rendered from plain data (lists of inquiries and numbers).

The SLA engine decides *what* is overdue or due; these functions only lay it out.
Each returns ``(fallback_text, blocks)``, or a list of them (``*_messages``) when a long digest
is split over several messages; every message stays within Slack's limits (50 blocks, 3,000
characters per section, ``MAX_MESSAGE_TEXT`` characters of text in all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.blocks import localize
from bot.blocks.card import TIER_BADGE, category_label
from bot.blocks.common import (
    MAX_BLOCKS_MESSAGE,
    Block,
    context,
    esc,
    fallback_text,
    flag_emoji,
    header,
    pack_blocks,
    section,
    slack_date,
    split_text,
    truncate,
    user_mention,
)
from bot.core.i18n import has, t, tn
from bot.core.models import Inquiry

MAX_GROUP_ITEMS = 60  # per group; the rest is "…and N more" (the App Home lists them all)
MAX_DIGEST_MESSAGES = 4
GROUP_CHARS = 2800  # a group's lines per section (limit 3000)
HEAD_RESERVE = (300, 1)  # a "(2/3)" heading on every later message

Message = tuple[str, list[Block]]


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


def _line_sections(heading: str, lines: Sequence[str]) -> list[Block]:
    """``lines`` under ``heading``, as many sections as they need (none is cut)."""
    sections: list[Block] = []
    chunk: list[str] = []
    used = 0
    for line in lines:
        if chunk and used + len(line) + 1 > GROUP_CHARS - len(heading):
            sections.append(section(f"{heading}\n" + "\n".join(chunk)))
            chunk, used = [], 0
        chunk.append(line)
        used += len(line) + 1
    sections.append(section(f"{heading}\n" + "\n".join(chunk)))
    return sections


def _group(title: str, items: Sequence[Inquiry], lang: str, deadlines: Mapping[str, datetime]) -> list[Block]:
    if not items:
        return []
    lines = [f"• {inquiry_line(i, lang, deadlines.get(i.id))}" for i in items[:MAX_GROUP_ITEMS]]
    if len(items) > MAX_GROUP_ITEMS:
        lines.append(t("common.more", lang, n=len(items) - MAX_GROUP_ITEMS))
    return _line_sections(f"*{title}* ({len(items)})", lines)


def split_messages(fallback: str, head: list[Block], body: list[Block], lang: str) -> list[Message]:
    """``head`` + ``body`` as one message, or as up to ``MAX_DIGEST_MESSAGES`` numbered ones
    ("(2/3)") when it is too long for one; a last "…and N more" says what was left out."""
    groups = pack_blocks([*head, *body], first_reserve=HEAD_RESERVE, reserve=HEAD_RESERVE)
    if len(groups) > MAX_DIGEST_MESSAGES:
        dropped = [b for g in groups[MAX_DIGEST_MESSAGES:] for b in g]
        left = sum(str(b.get("text", {}).get("text", "")).count("\n• ") for b in dropped)
        groups = groups[:MAX_DIGEST_MESSAGES]
        groups[-1] = [*groups[-1], context(t("digest.sections_more", lang, n=left))]
    if len(groups) == 1:
        return [(fallback, groups[0])]
    total = len(groups)
    out: list[Message] = []
    for n, group in enumerate(groups, 1):
        label = f"({n}/{total})"
        if n > 1:
            group = [context(f"{esc(fallback, 250)} {label}"), *group]
        else:
            group = [*group, context(t("digest.continued", lang, total=total))]
        out.append((fallback_text(f"{fallback} {label}"), group))
    return out


def followup_label(key: str, lang: str) -> str:
    k = f"followup.{key}"
    return t(k, lang) if has(k) else esc(key, 60)


def owner_digest_messages(
    lang: str,
    overdue: Sequence[Inquiry],
    due_today: Sequence[Inquiry],
    followups: Mapping[str, Sequence[Inquiry]],
    unclaimed: Sequence[Inquiry],
    now: datetime,
    deadlines: Mapping[str, datetime] | None = None,
) -> list[Message]:
    """A person's morning digest, as one DM or several when long (each within Slack's limits).
    ``followups`` maps a cadence key (e.g. ``"quotation_followup"``) to the inquiries due for
    that follow-up."""
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
    head: list[Block] = [
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
    return split_messages(f"{t('digest.owner.title', lang)}: {summary}", head, body, lang)


def team_digest_messages(
    lang: str,
    *,
    open_count: int,
    unclaimed: Sequence[Inquiry],
    overdue: Sequence[Inquiry],
    by_owner: Mapping[str, int],
    now: datetime,
    answered_within_sla: tuple[int, int] | None = None,
    deadlines: Mapping[str, datetime] | None = None,
    yesterday: str | None = None,
) -> list[Message]:
    """The team channel's digest (several messages when long). ``by_owner`` maps Slack user id
    -> open inquiries; ``answered_within_sla`` is ``(within, answered)`` for yesterday, when
    known; ``yesterday`` a ready mrkdwn paragraph about yesterday's mail."""
    dl = deadlines or {}
    summary = t("digest.team.summary", lang, open=open_count, unclaimed=len(unclaimed), overdue=len(overdue))
    head: list[Block] = [
        header(t("digest.team.title", lang)),
        context(summary, slack_date(now, "{date_long}")),
    ]
    body: list[Block] = []
    if yesterday:
        body.append(section(truncate(yesterday, 2900)))
    if answered_within_sla is not None:
        within, answered = answered_within_sla
        pct = round(100 * within / answered) if answered else 100
        body.append(section(t("digest.team.sla", lang, within=within, answered=answered, pct=pct)))
    body += _group(t("digest.overdue", lang), overdue, lang, dl)
    body += _group(t("digest.unclaimed", lang), unclaimed, lang, dl)
    if by_owner:
        rows = [
            f"• {user_mention(u)}: {n}"
            for u, n in sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_GROUP_ITEMS]
        ]
        if len(by_owner) > MAX_GROUP_ITEMS:
            rows.append(t("common.more", lang, n=len(by_owner) - MAX_GROUP_ITEMS))
        body += _line_sections(f"*{t('digest.team.by_owner', lang)}*", rows)
    return split_messages(f"{t('digest.team.title', lang)}: {summary}", head, body, lang)


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
    """Wrap :func:`stats_text` output in a message (split over sections at line ends)."""
    title = text.splitlines()[0].strip("*") if text else t("stats.title", lang, days=0)
    pieces = split_text(text, 2800) or [("", "")]
    blocks = [section(p + sep) for p, sep in pieces][:MAX_BLOCKS_MESSAGE]
    return fallback_text(title), blocks
