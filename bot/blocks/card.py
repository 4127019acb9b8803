"""The inquiry card posted to the team channel, its thread story notes, and the daily
"filtered mail" summary. Pure functions: data in, ``(fallback_text, blocks)`` out.

Interactive elements and how a handler reads them back (see :func:`decode_action`):

- buttons ``inquiry_claim`` / ``inquiry_release`` / ``inquiry_draft`` / ``inquiry_replied``:
  ``value`` is the inquiry id;
- selects ``inquiry_reassign`` (users_select), ``inquiry_tier`` (A/B/C), ``inquiry_status``
  (``bot.core.models.Status`` values), ``inquiry_snooze`` (``SNOOZE_CHOICES``): the choice is the
  selected value, the inquiry id is the part of the ``block_id`` after the first ``:``;
- ``filtered_rescue`` buttons: ``value`` is the filtered record id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.blocks import localize
from bot.blocks.common import (
    Block,
    actions,
    block_id,
    button,
    context,
    divider,
    esc,
    fallback_text,
    flag_emoji,
    section,
    slack_date,
    static_select,
    user_mention,
    users_select,
)
from bot.core import i18n
from bot.core import names as display
from bot.core.i18n import has, t
from bot.core.models import Inquiry, MessageRecord, Status, Tier, Warning

ACTION_CLAIM = "inquiry_claim"
ACTION_RELEASE = "inquiry_release"
ACTION_REASSIGN = "inquiry_reassign"
ACTION_TIER = "inquiry_tier"
ACTION_STATUS = "inquiry_status"
ACTION_SNOOZE = "inquiry_snooze"
ACTION_DRAFT = "inquiry_draft"
ACTION_REPLIED = "inquiry_replied"
ACTION_FILTERED_RESCUE = "filtered_rescue"
ACTION_CLEAR_WARNING = "inquiry_clear_warning"
CLEAR_WARNING_CALLBACK_ID = "clear_warning_modal"
BLOCK_CLEAR_REASON = "clear_reason"
ACTION_CLEAR_REASON = "reason"
# Warnings that block Save and Send until a BOT_ADMINS member clears them.
BLOCKING_WARNINGS = ("sanctions_possible_match", "embargoed_country")
# Shown before any other warning, in this order, so a long list never hides them.
SHOW_FIRST_WARNINGS = ("sanctions_possible_match", "embargoed_country", "spoofed_own_domain", "dmarc_fail")
WARNINGS_SHOWN = 10
WARNINGS_MAX_CHARS = 2400  # the warnings section's lines (section limit 3000, "+N more" after)

SNOOZE_CHOICES: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "2d": timedelta(days=2),
    "1w": timedelta(weeks=1),
}
STATUS_ORDER: tuple[Status, ...] = tuple(Status)
TIER_BADGE: Mapping[str, str] = {"A": "🟥", "B": "🟧", "C": "⬜"}
SLA_STATE_EMOJI: Mapping[str, str] = {
    "on_track": "🟢",
    "at_risk": "🟠",
    "breached": "🔴",
    "answered": "✅",
    "snoozed": "💤",
    "paused": "⏸️",
}
SNIPPET_LIMIT = 600
FILTERED_ITEMS_MAX = 15

# Warning codes shown red; any other code is amber.
RED_WARNING_HINTS = ("fail", "spoof", "lookalike", "mismatch", "bank", "phish", "malware", "impersonat")


def reason_text(reason: str, lang: str) -> str:
    """A triage reason in the team's language (see :mod:`bot.blocks.localize`)."""
    return localize.reason_text(reason, lang)


def decode_action(action: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(inquiry_id, choice)`` from one entry of a block_actions payload's ``actions``.

    Buttons carry the id in ``value`` (choice ``None``); selects carry it in ``block_id``
    (``"<kind>:<id>"``) and the choice in ``selected_option.value`` / ``selected_user``.
    """
    kind = action.get("type")
    if kind == "button":
        return str(action.get("value", "")), None
    inquiry_id = str(action.get("block_id", "")).partition(":")[2]
    if kind == "users_select":
        return inquiry_id, action.get("selected_user")
    selected = action.get("selected_option") or {}
    return inquiry_id, selected.get("value")


# -- small renderers ----------------------------------------------------------------------------


def country_name(code: str | None, lang: str = "en") -> str:
    return display.country_name(code, lang)


def language_name(code: str | None, lang: str = "en") -> str:
    return display.language_name(code, lang)


def tier_label(tier: Tier | str | None, lang: str) -> str:
    if tier is None:
        return t("card.tier_none", lang)
    value = tier.value if isinstance(tier, Tier) else str(tier)
    return f"{TIER_BADGE.get(value, '')} {t('card.tier', lang, tier=esc(value, 5))}".strip()


def status_label(status: Status | str, lang: str) -> str:
    value = status.value if isinstance(status, Status) else str(status)
    key = f"status.{value}"
    return t(key, lang) if has(key) else esc(value, 50)


def sla_label(state: str, deadline: datetime | None, lang: str) -> str:
    key = f"sla.state.{state}"
    label = t(key, lang) if has(key) else esc(state, 50)
    emoji = SLA_STATE_EMOJI.get(state, "")
    if deadline is None or state == "answered":
        return f"{emoji} {label}".strip()
    return f"{emoji} {label} · {t('card.sla_due', lang, date=slack_date(deadline))}".strip()


def latest_inbound(inq: Inquiry) -> MessageRecord | None:
    inbound = [m for m in inq.messages if m.direction == "in"]
    return max(inbound, key=lambda m: m.received_at) if inbound else None


def quote(text: str, limit: int = SNIPPET_LIMIT) -> str:
    """Untrusted text as an escaped mrkdwn quote (``>`` on every line), at most ``limit`` chars of it."""
    body = esc(text.strip(), limit)
    lines = [ln for ln in body.splitlines()][:20] or [""]
    return "\n".join(f">{ln}" for ln in lines)


def ordered_warnings(warnings: Sequence[Warning]) -> list[Warning]:
    """Warnings in the order a rep must read them: screening, embargo and spoofing first
    (``SHOW_FIRST_WARNINGS`` order), then the red ones, then the rest (each as it came)."""

    def rank(item: tuple[int, Warning]) -> tuple[int, int, int]:
        i, w = item
        n = len(SHOW_FIRST_WARNINGS)
        first = SHOW_FIRST_WARNINGS.index(w.code) if w.code in SHOW_FIRST_WARNINGS else n
        red = any(h in w.code.lower() for h in RED_WARNING_HINTS)
        return first, 0 if red else 1, i

    return [w for _, w in sorted(enumerate(warnings), key=rank)]


def warning_lines(
    warnings: Sequence[Warning],
    lang: str,
    *,
    max_lines: int = WARNINGS_SHOWN,
    max_chars: int = WARNINGS_MAX_CHARS,
    detail_limit: int = 300,
) -> list[str]:
    """One line per warning, most serious first; when they do not all fit (``max_lines``,
    ``max_chars`` of text), a last line "+N more: code, code" names the rest."""
    lines: list[str] = []
    used = 0
    ordered = ordered_warnings(warnings)
    for w in ordered:
        red = any(h in w.code.lower() for h in RED_WARNING_HINTS)
        key = f"warning.{w.code}"
        title = t(key, lang) if has(key) else esc(w.code, 80)
        detail = f" — {esc(w.detail, detail_limit)}" if w.detail else ""
        line = f"{'🔴' if red else '🟠'} *{title}*{detail}"
        if len(lines) >= max_lines or used + len(line) > max_chars:
            break
        lines.append(line)
        used += len(line) + 1
    rest = ordered[len(lines) :]
    if rest:
        codes = esc(", ".join(w.code for w in rest), 400)
        lines.append(t("card.warnings_more", lang, n=len(rest), codes=codes))
    return lines


def _warning_lines(inq: Inquiry, lang: str) -> list[str]:
    return warning_lines(inq.triage.warnings, lang)


def _routed(routed_to: str) -> str:
    if routed_to[:1] in ("C", "G") and routed_to[1:].isalnum() and routed_to.isupper():
        return f"<#{routed_to}>"
    return esc(routed_to, 200)


# -- the card ---------------------------------------------------------------------------------


def inquiry_card(
    inq: Inquiry,
    *,
    now: datetime,
    lang: str,
    sla_deadline: datetime | None,
    sla_state: str,
    owner_name: str | None = None,
) -> tuple[str, list[Block]]:
    """The channel card for one inquiry: ``(fallback_text, blocks)`` (≤ 50 blocks).

    ``sla_state`` is one of ``on_track | at_risk | breached | answered | snoozed | paused``.
    ``owner_name`` is only used in the notification text (no mention there).
    """
    if inq.status.closed:
        return _closed_card(inq, lang=lang, owner_name=owner_name)

    tier = inq.tier or inq.triage.tier
    subject = esc(inq.subject or t("card.no_subject", lang), 500)
    buyer = esc(inq.buyer_name or inq.buyer_addr, 200)
    text = fallback_text(
        t("card.fallback", lang, tier=tier.value if tier else "-", buyer=buyer, subject=esc(inq.subject, 300))
    )

    tr = inq.triage
    flag = flag_emoji(tr.country)
    where = " ".join(p for p in (flag, esc(country_name(tr.country, lang), 100)) if p) or "?"
    owner = user_mention(inq.owner) if inq.owner else t("card.unclaimed", lang)
    buyer_line = f"{esc(inq.buyer_name, 200)} {esc('<' + inq.buyer_addr + '>', 300)}".strip()
    fields = [
        f"*{t('card.buyer', lang)}*\n{buyer_line}",
        f"*{t('card.company', lang)}*\n{esc(tr.company, 300) or '—'}",
        f"*{t('card.country', lang)}*\n{where} · {esc(display.market_label(tr.market.value, lang), 20)}",
        f"*{t('card.language', lang)}*\n{esc(language_name(tr.language, lang), 100)}",
        f"*{t('card.tier_heading', lang)}*\n{tier_label(tier, lang)}",
        f"*{t('card.sla', lang)}*\n{sla_label(sla_state, sla_deadline, lang)}",
        f"*{t('card.owner', lang)}*\n{owner}",
        f"*{t('card.status', lang)}*\n{status_label(inq.status, lang)}",
    ]
    blocks: list[Block] = [
        section(f"📨 *{subject}*", bid=block_id("subject", inq.id)),
        section(fields=fields),
    ]
    meta = [t("card.received", lang, date=slack_date(inq.created_at))]
    if inq.snoozed_until is not None and inq.snoozed_until > now:
        meta.append(t("card.snoozed_until", lang, date=slack_date(inq.snoozed_until)))
    if inq.routed_to:
        meta.append(t("card.routed_to", lang, target=_routed(inq.routed_to)))
    if inq.extra.get("found_in"):
        meta.append(t("card.found_in", lang, folder=esc(inq.extra["found_in"], 100)))
    if tr.reasons:
        reasons = "; ".join(esc(reason_text(r, lang), 200) for r in tr.reasons[:8])
        meta.append(t("card.reasons", lang, reasons=reasons))
    blocks.append(context(*meta))

    latest = latest_inbound(inq)
    if latest is not None and latest.new_text.strip():
        blocks.append(section(f"{t('card.latest', lang)}\n{quote(latest.new_text)}"))
    attachments = latest.attachments if latest is not None else ()
    if attachments:
        names = ", ".join(esc(a.filename, 120) for a in attachments[:10])
        more = f" (+{len(attachments) - 10})" if len(attachments) > 10 else ""
        blocks.append(context(f"📎 {names}{more}"))

    if latest is not None and latest.defects:
        # The mail was stored and is shown with what could be read; the original is kept.
        detail = "; ".join(esc(d, 120) for d in latest.defects[:3])
        blocks.append(context(f"⚠️ {t('warning.decode_defects', lang)}: {detail}"))

    warnings = _warning_lines(inq, lang)
    if warnings:
        blocks.append(section(f"*{t('card.warnings', lang)}*\n" + "\n".join(warnings)))

    blocks.extend(card_actions(inq, lang))
    return text, blocks


def blocking_warnings(inq: Inquiry) -> list[str]:
    return [w.code for w in inq.triage.warnings if w.code in BLOCKING_WARNINGS]


def warning_label(code: str, lang: str) -> str:
    key = f"warning.{code}"
    return t(key, lang) if has(key) else esc(code, 80)


def clear_warning_modal(inquiry_id: str, codes: Sequence[str], lang: str) -> dict[str, Any]:
    """An admin clears a screening warning; the reason is required and audited."""
    return {
        "type": "modal",
        "callback_id": CLEAR_WARNING_CALLBACK_ID,
        "private_metadata": inquiry_id,
        "title": {"type": "plain_text", "text": t("clear.title", lang)[:24]},
        "submit": {"type": "plain_text", "text": t("clear.submit", lang)[:24]},
        "close": {"type": "plain_text", "text": t("common.cancel", lang)[:24]},
        "blocks": [
            section(t("clear.explain", lang, codes=", ".join(warning_label(c, lang) for c in codes))),
            {
                "type": "input",
                "block_id": BLOCK_CLEAR_REASON,
                "label": {"type": "plain_text", "text": t("clear.reason", lang)[:2000]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ACTION_CLEAR_REASON,
                    "multiline": True,
                    "min_length": 10,
                    "max_length": 1000,
                },
            },
        ],
    }


def card_actions(inq: Inquiry, lang: str) -> list[Block]:
    """The two actions rows of an open card."""
    tier = inq.tier or inq.triage.tier
    claim = (
        button(t("card.release", lang), ACTION_RELEASE, inq.id)
        if inq.owner
        else button(t("card.claim", lang), ACTION_CLAIM, inq.id, style="primary")
    )
    row1 = [
        claim,
        users_select(ACTION_REASSIGN, t("card.reassign", lang), inq.owner),
        static_select(
            ACTION_TIER,
            t("card.tier_placeholder", lang),
            [(x.value, tier_label(x, lang)) for x in Tier],
            tier.value if tier else None,
        ),
        static_select(
            ACTION_STATUS,
            t("card.status_placeholder", lang),
            [(s.value, status_label(s, lang)) for s in STATUS_ORDER],
            inq.status.value,
        ),
    ]
    row2 = [
        button(t("card.draft", lang), ACTION_DRAFT, inq.id),
        button(t("card.replied", lang), ACTION_REPLIED, inq.id),
        static_select(
            ACTION_SNOOZE,
            t("card.snooze", lang),
            [(k, t(f"snooze.{k}", lang)) for k in SNOOZE_CHOICES],
        ),
    ]
    if blocking_warnings(inq) and not inq.extra.get("warnings_cleared"):
        row2.append(button(t("card.clear_warning", lang), ACTION_CLEAR_WARNING, inq.id, style="danger"))
    return [actions(row1, block_id("inquiry", inq.id)), actions(row2, block_id("inquiry2", inq.id))]


def _closed_card(inq: Inquiry, *, lang: str, owner_name: str | None) -> tuple[str, list[Block]]:
    subject = esc(inq.subject or t("card.no_subject", lang), 500)
    buyer = esc(inq.buyer_name or inq.buyer_addr, 200)
    status = status_label(inq.status, lang)
    text = fallback_text(
        t("card.fallback_closed", lang, status=status, buyer=buyer, subject=esc(inq.subject, 300))
    )
    owner = user_mention(inq.owner) if inq.owner else t("card.unclaimed", lang)
    blocks = [
        section(f"🗂️ *{subject}*\n{buyer} · {status} · {owner}", bid=block_id("subject", inq.id)),
        actions(
            [
                static_select(
                    ACTION_STATUS,
                    t("card.status_placeholder", lang),
                    [(s.value, status_label(s, lang)) for s in STATUS_ORDER],
                    inq.status.value,
                )
            ],
            block_id("inquiry", inq.id),
        ),
    ]
    return text, blocks


# -- thread story -------------------------------------------------------------------------------


def _note(text: str) -> tuple[str, list[Block]]:
    return fallback_text(text), [context(text)]


def followup_note(msg: MessageRecord, lang: str) -> tuple[str, list[Block]]:
    """A buyer follow-up arrived: heading + quoted snippet + attachment names."""
    head = t("note.followup_at", lang, date=slack_date(msg.received_at))
    blocks = [section(f"{head}\n{quote(msg.new_text)}")]
    if msg.attachments:
        blocks.append(context("📎 " + ", ".join(esc(a.filename, 120) for a in msg.attachments[:10])))
    return fallback_text(t("note.followup_plain", lang)), blocks


def claimed_note(user: str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.claimed", lang, user=user_mention(user)))


def released_note(user: str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.released", lang, user=user_mention(user)))


def reassigned_note(user: str, new_owner: str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.reassigned", lang, user=user_mention(user), owner=user_mention(new_owner)))


def tier_changed_note(user: str, tier: str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.tier", lang, user=user_mention(user), tier=tier_label(tier, lang)))


def status_changed_note(user: str, status: Status | str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.status", lang, user=user_mention(user), status=status_label(status, lang)))


def snoozed_note(user: str, until: datetime, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.snoozed", lang, user=user_mention(user), until=slack_date(until)))


def replied_note(user: str, lang: str) -> tuple[str, list[Block]]:
    return _note(t("note.replied", lang, user=user_mention(user)))


def answered_note(how: str, lang: str) -> tuple[str, list[Block]]:
    """Our reply was seen in Sent (``how`` e.g. "reply from sales@…"): the SLA clock stopped."""
    return _note(t("note.answered", lang, how=esc(how, 200)))


def note_added(user: str, text: str, lang: str) -> tuple[str, list[Block]]:
    head = t("note.note", lang, user=user_mention(user), text="").rstrip(" :：")
    return fallback_text(head), [section(f"{head}\n{quote(text, 2500)}")]


# -- filtered mail summary ----------------------------------------------------------------------


def filtered_summary(
    counts: Mapping[str, int], items: Sequence[tuple[str, str, str, str]], lang: str
) -> tuple[str, list[Block]]:
    """The daily "12 filtered: 5 newsletters, 4 auto-replies, …" message.

    ``items`` are ``(record_id, category, from, subject)``; each gets a ``filtered_rescue`` button
    (value = record id). At most ``FILTERED_ITEMS_MAX`` items are listed.
    """
    total = sum(counts.values())
    parts = t("list.sep", lang).join(
        localize.category_count(cat, n, lang)
        for cat, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    )
    line = i18n.tn("filtered.summary", lang, total, parts=parts or "—")
    blocks: list[Block] = [section(f"🧹 {line}")]
    shown = list(items)[:FILTERED_ITEMS_MAX]
    for i, (rid, cat, sender, subject) in enumerate(shown):
        blocks.append(
            section(
                f"*{esc(subject or t('card.no_subject', lang), 300)}*\n"
                f"{esc(sender, 200)} · {category_label(cat, lang)}",
                accessory=button(t("filtered.rescue", lang), ACTION_FILTERED_RESCUE, rid),
                bid=block_id("filtered", str(i)),
            )
        )
    if len(items) > len(shown):
        blocks.append(context(t("common.more", lang, n=len(items) - len(shown))))
    if shown:
        blocks.insert(1, divider())
    return fallback_text(line), blocks


def category_label(category: str, lang: str) -> str:
    key = f"category.{category}"
    return t(key, lang) if has(key) else esc(category, 50)
