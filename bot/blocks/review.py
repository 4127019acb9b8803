"""The "check first" card of a mail held for review (issue #12), in its three states.

Pure: ``review_card(inq, lang=...)`` -> ``(fallback_text, blocks)``.

- lane ``review``: why it is held (each risk signal with its weight and evidence), the trust
  warnings, a short quote of the mail, its attachments, and the buttons ``review_real_buyer``
  (*Real buyer*) and ``review_junk`` (*Junk*), both with ``value`` = the record id;
- lane ``filtered`` (a person junked it): who did, and a ``filtered_rescue`` button to undo;
- lane ``inquiry`` (a person called it a real buyer, and its normal card went to the desk
  channel): who did, and where the card is.

Every piece of mail text and every signal's evidence is escaped; signal names are labelled from
the catalogs (``signal.<name>``) when known, else shown as they are.
"""

from __future__ import annotations

from bot.blocks import localize
from bot.blocks.card import (
    ACTION_FILTERED_RESCUE,
    country_name,
    latest_inbound,
    quote,
    warning_lines,
)
from bot.blocks.common import (
    Block,
    actions,
    block_id,
    button,
    context,
    esc,
    fallback_text,
    flag_emoji,
    section,
    slack_date,
    user_mention,
)
from bot.core.i18n import has, t
from bot.core.models import Inquiry, Lane, RiskSignal

ACTION_REAL_BUYER = "review_real_buyer"
ACTION_JUNK = "review_junk"
LURE_SUSPECTED = "lure_suspected"
MAX_SIGNALS = 8
SNIPPET = 300


def signal_label(name: str, lang: str) -> str:
    key = f"signal.{name}"
    return t(key, lang) if has(key) else esc(name.replace("_", " "), 80)


def signal_line(s: RiskSignal, lang: str) -> str:
    weight = f"{s.weight:+g}".replace("-", "−")
    evidence = f" — {esc(localize.evidence_text(s.name, s.evidence, lang), 250)}" if s.evidence else ""
    return f"• *{signal_label(s.name, lang)}* ({weight}){evidence}"


def _who(inq: Inquiry, actions_: tuple[str, ...]) -> str | None:
    for e in reversed(inq.events):
        if e.action in actions_:
            return e.actor
    return None


def _sender(inq: Inquiry) -> str:
    return f"{esc(inq.buyer_name, 200)} {esc('<' + inq.buyer_addr + '>', 300)}".strip()


def review_card(inq: Inquiry, *, lang: str) -> tuple[str, list[Block]]:
    """The review card of ``inq`` as it stands (see the module docstring for the states)."""
    subject = esc(inq.subject or t("card.no_subject", lang), 300)
    if inq.triage.lane is Lane.FILTERED:
        who = user_mention(_who(inq, ("junked",)) or "")
        text = t("review.junked", lang, user=who, subject=subject)
        junked: list[Block] = [
            section(f"🗑️ {text}", bid=block_id("review", inq.id)),
            context(_sender(inq)),
            actions(
                [button(t("filtered.rescue", lang), ACTION_FILTERED_RESCUE, inq.id)],
                block_id("review_actions", inq.id),
            ),
        ]
        return fallback_text(text), junked
    if inq.triage.lane is Lane.INQUIRY:
        who = user_mention(_who(inq, ("real_buyer", "rescued")) or "")
        where = f"<#{inq.card_channel}>" if inq.card_channel else t("review.desk", lang)
        text = t("review.moved", lang, user=who, subject=subject, channel=where)
        return fallback_text(text), [
            section(f"✅ {text}", bid=block_id("review", inq.id)),
            context(_sender(inq)),
        ]

    tr = inq.triage
    title = t("review.title", lang)
    fallback = fallback_text(
        t("review.fallback", lang, buyer=esc(inq.buyer_name or inq.buyer_addr, 200), subject=subject)
    )
    where = " ".join(p for p in (flag_emoji(tr.country), esc(country_name(tr.country, lang), 100)) if p)
    meta = [_sender(inq)]
    if tr.company:
        meta.append(esc(tr.company, 200))
    if where:
        meta.append(where)
    meta.append(t("card.received", lang, date=slack_date(inq.created_at)))
    blocks: list[Block] = [
        section(f"🛡️ *{title}* · {subject}", bid=block_id("review", inq.id)),
        context(" · ".join(meta)),
    ]
    held = [s for s in tr.risk.signals if s.weight != 0 or s.evidence][:MAX_SIGNALS]
    lines = [signal_line(s, lang) for s in held] or [esc(localize.filter_reason(tr.reason, lang), 300)]
    head = t("review.why", lang, score=f"{tr.risk.score:g}")
    blocks.append(section(f"*{head}*\n" + "\n".join(lines)))
    others = [w for w in tr.warnings if w.code != LURE_SUSPECTED]
    if others:  # the most serious first; "+N more" names what does not fit
        warn = warning_lines(others, lang, max_lines=6, detail_limit=200)
        blocks.append(section(f"*{t('card.warnings', lang)}*\n" + "\n".join(warn)))
    latest = latest_inbound(inq)
    if latest is not None and latest.new_text.strip():
        blocks.append(section(quote(latest.new_text, SNIPPET)))
    if latest is not None and latest.attachments:
        names = ", ".join(esc(a.filename, 120) for a in latest.attachments[:10])
        blocks.append(context(f"📎 {names}"))
    blocks.append(context(t("review.no_clock", lang)))
    blocks.append(
        actions(
            [
                button(t("review.real_buyer", lang), ACTION_REAL_BUYER, inq.id, style="primary"),
                button(t("review.junk", lang), ACTION_JUNK, inq.id, style="danger"),
            ],
            block_id("review_actions", inq.id),
        )
    )
    return fallback, blocks
