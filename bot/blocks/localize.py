"""Render-time translation of the English phrases triage, the filter, the risk signals, the trust
checks and the desk write into their records (``"quantity: 2,000 pcs"``, ``"Date offset -0500
(weak)"``, ``"bounce: Content-Type multipart/report"``, ``"not claimed"``).

Those phrases are stored as they are (English, stable for tests, logs and the audit trail); a
team reading another language sees them through the catalogs here. Each phrase shape is a rule:
a regex over the whole phrase and a catalog key whose ``{placeholders}`` are the regex's named
groups (the English entry spells the phrase as the pipeline writes it; a test checks that both
languages use exactly the rule's groups), so the rule table also lists the shapes the pipeline
writes. The evidence inside a phrase (words quoted from the mail, numbers, codes, addresses) is
kept as it is; only our own words (labels, spec names, pitch topics) are translated. A phrase no
rule knows is shown unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from bot.blocks.common import esc
from bot.core.i18n import catalog, has, t, tn, ui_lang
from bot.core.models import Inquiry, Warning
from bot.core.names import market_label

Fill = Callable[[str, str], str]


def _keep(value: str, lang: str) -> str:
    return value


def _listed(prefix: str) -> Fill:
    """A ``", "``-separated list whose items are our own words, each looked up as ``prefix.<item>``."""

    def fill(value: str, lang: str) -> str:
        out = []
        for item in value.split(", "):
            key = f"{prefix}.{item}"
            out.append(t(key, lang) if has(key) else item)
        return t("list.sep", lang).join(out)

    return fill


def _specs(value: str, lang: str) -> str:
    """``"wattage 36 W, CCT 4000 K"``: each spec's name translated when the catalog knows it
    (``spec.<name>``), the evidence quoted from the mail kept."""
    out = []
    for item in value.split(", "):
        name, found = item, ""
        for cand in sorted(_spec_names(), key=len, reverse=True):
            if item.startswith(cand + " "):
                name, found = cand, item[len(cand) + 1 :]
                break
        out.append(f"{t('spec.' + name, lang)} {found}" if found else item)
    return t("list.sep", lang).join(out)


@cache
def _spec_names() -> tuple[str, ...]:
    return tuple(k[len("spec.") :] for k in catalog("en") if k.startswith("spec."))


def _market(value: str, lang: str) -> str:
    return market_label(value, lang)


def _lang_reason(value: str, lang: str) -> str:
    return translate(LANGUAGE_REASONS, value, lang)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    key: str
    fills: Mapping[str, Fill] = field(default_factory=dict)


def _rule(pattern: str, key: str, **fills: Fill) -> Rule:
    return Rule(re.compile(pattern, re.S), key, fills)


def translate(rules: Sequence[Rule], text: str, lang: str) -> str:
    """``text`` in ``lang`` by the first rule whose pattern matches all of it; unchanged in English
    or when no rule matches."""
    if ui_lang(lang) == "en" or not text:
        return text
    for rule in rules:
        m = rule.pattern.fullmatch(text)
        if m is None:
            continue
        values = {k: rule.fills.get(k, _keep)(v or "", lang) for k, v in m.groupdict().items()}
        if not has(rule.key) and "n" in values:  # a counted phrase: key.one / key.other
            return tn(rule.key, lang, int(values.pop("n")), **values)
        return t(rule.key, lang, **values)
    return text


# -- triage reasons (bot/triage/engine.py, region.py, tier.py, language.py) ---------------------

LANGUAGE_REASONS: tuple[Rule, ...] = (
    _rule(r"langdetect (?P<code>[\w-]+) (?P<p>[\d.]+) \(low confidence\)", "lreason.langdetect_low"),
    _rule(r"langdetect (?P<code>[\w-]+) (?P<p>[\d.]+)", "lreason.langdetect"),
    _rule(r"script: Cyrillic; langdetect (?P<code>[\w-]+) (?P<p>[\d.]+)", "lreason.cyrillic_langdetect"),
    _rule(r"script: (?P<script>.+)", "lreason.script", script=_listed("script")),
    _rule(r"keywords: (?P<words>.*)", "lreason.keywords"),
    _rule(r"Malay words: (?P<words>.*)", "lreason.malay_words"),
    _rule(r"Indonesian words: (?P<words>.*)", "lreason.indonesian_words"),
    _rule(r"Malay/Indonesian decided by country (?P<cc>\S*)", "lreason.ms_id_country"),
    _rule(r"Indonesian \(default\)", "lreason.id_default"),
    _rule(r"thread language (?P<code>\S+)", "lreason.thread_language"),
    _rule(r"short text; country (?P<cc>\S+) -> (?P<code>\S+)", "lreason.short_country"),
    _rule(r"short text; ccTLD (?P<cc>\S+) -> (?P<code>\S+)", "lreason.short_cctld"),
    _rule(r"no text", "lreason.no_text"),
    _rule(r"too little text", "lreason.too_little"),
)

TRIAGE_REASONS: tuple[Rule, ...] = (
    _rule(r"quantity: (?P<v>.*)", "reason.quantity"),
    _rule(r"Incoterms: (?P<v>.*)", "reason.incoterms"),
    _rule(r"target price mentioned: (?P<v>.*)", "reason.target_price_mentioned"),
    _rule(r"target price: (?P<v>.*)", "reason.target_price"),
    _rule(r"budget: (?P<v>.*)", "reason.budget"),
    _rule(r"delivery: (?P<v>.*)", "reason.delivery"),
    _rule(r"spec: (?P<v>.*)", "reason.spec", v=_specs),
    _rule(r"purchasing title: (?P<v>.*)", "reason.purchasing_title"),
    _rule(r"context: (?P<v>.*)", "reason.context"),
    _rule(r"company domain: (?P<v>.*)", "reason.company_domain"),
    _rule(r"company: (?P<v>.*)", "reason.company"),
    _rule(r"asks: (?P<v>.*)", "reason.asks"),
    _rule(r"information only: (?P<v>.*)", "reason.information_only"),
    _rule(r"free-mail one-liner", "reason.free_mail_one_liner"),
    _rule(r"free-mail short note", "reason.free_mail_short_note"),
    _rule(r"no business context", "reason.no_business_context"),
    _rule(r"ccTLD (?P<v>\S+)", "reason.cctld"),
    _rule(r"phone (?P<v>\+\d+)", "reason.phone"),
    _rule(r"signature mentions (?P<v>.+)", "reason.signature_mentions"),
    _rule(r"text mentions (?P<v>.+)", "reason.text_mentions"),
    _rule(r"Date offset (?P<off>\S+) breaks tie", "reason.offset_tie"),
    _rule(r"Date offset (?P<off>\S+) \(weak\)", "reason.offset_weak"),
    _rule(r"tie", "reason.tie"),
    _rule(r"thread country (?P<cc>\S+)", "reason.thread_country"),
    _rule(r"market (?P<m>\S+) \(country unknown\)", "reason.market_unknown", m=_market),
    _rule(r"market (?P<m>\S+) \((?P<cc>[A-Z]{2})\)", "reason.market", m=_market),
    _rule(r"language unknown: (?P<why>.*)", "reason.language_unknown", why=_lang_reason),
    _rule(r"language (?P<code>[\w-]+): (?P<why>.*)", "reason.language_why", why=_lang_reason),
    _rule(r"language (?P<code>[\w-]+)", "reason.language"),
)

# -- the filter's one-line reason (bot/triage/filter.py, engine.py, desk.py) ---------------------

FILTER_REASONS: tuple[Rule, ...] = (
    _rule(r"bounce: Content-Type (?P<v>.*)", "freason.bounce_ctype"),
    _rule(r"bounce: sender (?P<v>.*)", "freason.bounce_sender"),
    _rule(r"bounce: subject says (?P<v>.*)", "freason.bounce_subject"),
    _rule(r"bounce: X-Failed-Recipients header", "freason.bounce_failed_recipients"),
    _rule(r"bounce: delivery status report with no sender", "freason.bounce_dsn"),
    _rule(r"auto-reply: Auto-Submitted: (?P<v>.*)", "freason.auto_submitted"),
    _rule(r"auto-reply: (?P<v>X-[\w-]+) header", "freason.auto_header"),
    _rule(r"auto-reply: subject says (?P<v>.*)", "freason.auto_subject"),
    _rule(r"internal: sender domain (?P<d>\S+) is ours \((?P<own>[^)]*)\)", "freason.internal"),
    _rule(r"bulk mail: Precedence: (?P<v>.*)", "freason.precedence"),
    _rule(r"list mail: List-Id: (?P<v>.*)", "freason.list_id"),
    _rule(r"list mail: List-Unsubscribe header", "freason.list_unsubscribe"),
    _rule(r"no-reply sender: (?P<v>.*)", "freason.no_reply"),
    _rule(r"no sender address: nobody to reply to \(kept; rescue it if it matters\)", "freason.no_sender"),
    _rule(r"phishing: (?P<v>.*)", "freason.phishing", v=_listed("pitch")),
    _rule(r"cold pitch: (?P<v>.*)", "freason.cold_pitch", v=_listed("pitch")),
    _rule(r"inquiry: no filter rule matched", "freason.inquiry"),
    _rule(r"not internal: sender uses our domain but (?P<v>.*)", "freason.not_internal"),
)

# -- risk signal evidence (bot/triage/signals/*, reputation.py, textmodel.py, second_opinion.py) --

EVIDENCE: tuple[Rule, ...] = (
    _rule(r"double extension (?P<v>.*)", "evidence.double_extension"),
    _rule(r"macro document (?P<v>.*)", "evidence.macro_document"),
    _rule(r"archive with a password (?P<v>.*)", "evidence.archive_password"),
    _rule(r"archive (?P<v>.*)", "evidence.archive"),
    _rule(r"paperwork in an odd format (?P<v>.*)", "evidence.odd_format"),
    _rule(r"says (?P<v>'.*'|\".*\")", "evidence.says"),
    _rule(r"(?P<v>'.*'|\".*\"), no product of ours named", "evidence.vague"),
    _rule(r"asks for no price, quote, catalogue or sample", "evidence.no_request"),
    _rule(r"invisible characters or page styles in the text", "evidence.hidden_text"),
    _rule(r"(?P<n>\d+) links", "evidence.links"),
    _rule(r"(?P<which>DMARC|compauth) failed at the receiving server", "evidence.auth_failed"),
    _rule(r"SPF (?P<spf>\w+), no valid DKIM", "evidence.spf_no_dkim"),
    _rule(r"the mail server marked it as spam", "evidence.server_spam"),
    _rule(r"undisclosed recipients", "evidence.undisclosed"),
    _rule(r"sent to itself, we were Bcc", "evidence.self_addressed"),
    _rule(r"our address only in Bcc", "evidence.only_bcc"),
    _rule(r"greets (?P<v>.*)", "evidence.greets"),
    _rule(r"subject names the mailbox (?P<v>.*)", "evidence.subject_mailbox"),
    _rule(r"(?P<v>'.*'|\".*\") answers nothing we sent", "evidence.fake_reply"),
    _rule(r"(?P<v>'.*'|\".*\") forwards from nowhere", "evidence.fake_forward"),
    _rule(r"no From address", "evidence.no_from"),
    _rule(r"sender domain (?P<v>.*)", "evidence.sender_domain"),
    _rule(r"Reply-To free mail (?P<v>.*)", "evidence.reply_to_free"),
    _rule(r"Reply-To another domain (?P<v>.*)", "evidence.reply_to_other"),
    _rule(r"\.(?P<v>\S+) sender domain", "evidence.abused_tld"),
    _rule(r"(?P<name>'.*'|\".*\") from (?P<reg>\S+)", "evidence.name_from"),
    _rule(r"(?P<name>'.*'|\".*\") writes from (?P<d>\S+)", "evidence.writes_from"),
    _rule(r"signs as a company, writes from (?P<d>\S+)", "evidence.signs_company"),
    _rule(r"quantity (?P<v>.*)", "evidence.quantity"),
    _rule(r"the team junked mail from (?P<a>\S+) before", "evidence.junked_sender"),
    _rule(r"the team called (?P<a>\S+) a real buyer before", "evidence.trusted_sender"),
    _rule(r"the team marked mail from (?P<a>\S+) not an inquiry", "evidence.dismissed_sender"),
    _rule(r"the team junked (?P<n>\d+) mail\(s\) from (?P<d>\S+)", "evidence.junked_domain"),
    _rule(r"the team confirmed buyers at (?P<d>\S+)", "evidence.trusted_domain"),
    _rule(r"(?P<a>\S+) wrote inquiry #(?P<id>\S+) before", "evidence.known_buyer"),
    _rule(r"model says (?P<v>\w+): (?P<why>.*)", "evidence.model_says_why", v=_listed("verdict")),
    _rule(r"model says (?P<v>\w+)", "evidence.model_says", v=_listed("verdict")),
    _rule(
        r"reads like the (?P<n>\d+) mails the team called (?P<side>junk|buyer) "
        r"\(log-odds (?P<lo>\S+?)(?:; (?P<w>.*))?\)",
        "evidence.text_model",
        side=_listed("verdict"),
        w=lambda v, lang: f"; {v}" if v else "",
    ),
    _rule(r"(?P<which>DMARC|compauth) failed at our mail server", "evidence.own_auth_failed"),
    _rule(r"SPF (?P<spf>\w+) and no valid DKIM at our mail server", "evidence.own_spf"),
)


def reason_text(reason: str, lang: str) -> str:
    """One of a verdict's ``reasons`` in ``lang`` (``"quantity: 2,000 pcs"`` -> ``"数量：2,000 pcs"``)."""
    return translate(TRIAGE_REASONS, reason, lang)


def filter_reason(reason: str, lang: str) -> str:
    """The filter's one-line reason (``Triage.reason``) in ``lang``."""
    return translate(FILTER_REASONS, reason, lang)


def evidence_text(signal: str, evidence: str, lang: str) -> str:
    """A risk signal's evidence in ``lang``; quoted mail text, names and addresses kept."""
    if signal == "lure_phrasing":  # a list of our own names for the phrasing found
        return evidence if ui_lang(lang) == "en" else _listed("lure")(evidence, lang)
    return translate(EVIDENCE, evidence, lang)


# -- warnings (bot/trust/warnings.py, bot/triage/lanes.py) --------------------------------------

_LURE_DETAIL = re.compile(r"risk (?P<score>\S+): (?P<rest>.*)", re.S)


def warning_detail(code: str, detail: str, lang: str) -> str:
    """A warning's detail in ``lang``: the lure warning names its signals by their labels."""
    if ui_lang(lang) == "en" or not detail:
        return detail
    m = _LURE_DETAIL.fullmatch(detail) if code == "lure_suspected" else None
    if m is not None:
        parts = []
        for part in m.group("rest").split("; "):
            name, sep, ev = part.partition(": ")
            label = t(f"signal.{name}", lang) if has(f"signal.{name}") else name
            parts.append(f"{label}{t('label.sep', lang)}{evidence_text(name, ev, lang)}" if sep else label)
        return t("warning.lure_detail", lang, score=m.group("score"), signals="; ".join(parts))
    return translate(WARNING_DETAILS, detail, lang)


def _by(value: str, lang: str) -> str:
    return t("wdetail.our_server", lang) if value == "our server" else value


WARNING_DETAILS: tuple[Rule, ...] = (
    _rule(
        r"(?P<role>sender|Reply-To) domain (?P<d>\S+) imitates (?P<target>\S+) \((?P<kind>[^)]*)\)",
        "wdetail.lookalike",
        role=_listed("role"),
        kind=_listed("lookalike"),
    ),
    _rule(
        r"Reply-To goes to (?P<d>\S+?)(?P<free> \(free mail\))?, not the sender's domain (?P<reg>\S+)",
        "wdetail.reply_to",
        free=lambda v, lang: t("wdetail.free_mail", lang) if v else "",
    ),
    _rule(
        r"DMARC fail(?: for header.from=(?P<hf>\S+))? \(checked by (?P<by>[^)]*)\)",
        "wdetail.dmarc",
        by=_by,
        hf=lambda v, lang: t("wdetail.for_header_from", lang, v=v) if v else "",
    ),
    _rule(
        r"SPF (?P<spf>\S+) and DKIM (?P<dkim>\S+) \(checked by (?P<by>[^)]*)\)", "wdetail.spf_dkim", by=_by
    ),
    _rule(r"buyer country (?P<cc>[A-Z]{2}) is embargoed", "wdetail.embargo_country"),
    _rule(r"address mentions (?P<w>.*): sanctioned region (?P<region>.*)", "wdetail.embargo_region"),
    _rule(r"bank details differ from earlier mail: (?P<ids>.*)", "wdetail.bank_changed"),
    _rule(r"(?P<entry>.+) on (?P<list>.+), score (?P<score>\d+) \((?P<on>[^)]*)\)", "wdetail.sanctions"),
    _rule(r"asks to pay into changed bank details \((?P<code>[\w-]+): (?P<words>.*)\)", "wdetail.bank"),
    _rule(
        r"(?P<addr>\S+@\S+): (?P<why>.*)", "wdetail.spoofed", why=lambda v, lang: evidence_text("", v, lang)
    ),
)


# -- refusals and errors (desk/desk.py, desk/commands.py, desk/drafting_jobs.py, desk/draft_sending.py) --

ERRORS: tuple[Rule, ...] = (
    _rule(r"not claimed", "err.not_claimed"),
    _rule(r"its card is being posted now: click Draft again in a moment", "err.card_being_posted"),
    _rule(r"pick a member", "err.pick_member"),
    _rule(r"tier is A, B or C", "err.tier"),
    _rule(r"status is one of: (?P<v>.*)", "err.status"),
    _rule(r"the note is empty", "err.note_empty"),
    _rule(r"the message is empty", "err.message_empty"),
    _rule(r"nothing is waiting for a reply", "err.nothing_waiting"),
    _rule(r"give a reason of at least 10 characters", "err.reason_short"),
    _rule(r"already an inquiry", "err.already_inquiry"),
    _rule(r"already on the desk as an inquiry", "err.already_on_desk"),
    _rule(r"this mail was junked; use Rescue to bring it back", "err.junked"),
    _rule(r"only a mail held for review can be junked", "err.only_review"),
    _rule(r"(?P<v>'.*'|\".*\") is not a duration like 30m, 4h, 2d or 1w", "err.duration"),
    _rule(r"a snooze lasts between 1 minute and 90 days", "err.snooze_range"),
    _rule(r"(?P<v>'.*'|\".*\") is not an inquiry id \(a number such as 42\)", "err.not_an_id"),
    _rule(r"unknown sub-command (?P<v>.*)", "err.unknown_subcommand"),
    _rule(r"search needs some text", "err.search_text"),
    _rule(r"(?P<cmd>\w+) takes one inquiry id", "err.takes_id"),
    _rule(r"(?P<cmd>\w+) takes an inquiry id and a value", "err.takes_id_value"),
    _rule(r"(?P<cmd>\w+) takes an inquiry id and some text", "err.takes_id_text"),
    _rule(r"the card is not posted yet", "err.card_not_posted"),
    _rule(r"no draft (?P<v>.*)", "err.no_draft"),
    _rule(r"no recipient", "err.no_recipient"),
    _rule(r"no mailbox configured \(IMAP_HOST\) to save drafts to", "err.no_imap"),
    _rule(r"this draft was already sent", "err.already_sent"),
    _rule(r"no SMTP server configured \(SMTP_HOST\) to send with", "err.no_smtp"),
    _rule(r"the buyer's time zone is unknown \(no country, no Date offset\)", "err.no_buyer_tz"),
    _rule(r"no inquiry (?P<v>.*)", "err.no_inquiry"),
    _rule(r"not an email address: (?P<v>.*)", "err.not_email"),
)

# PermissionDenied carries what was refused; a known one reads as ``action.<what>``.
_ACTION_KEYS: Mapping[str, str] = {
    "release": "action.release",
    "reassign": "action.reassign",
    "tier": "action.tier",
    "status": "action.status",
    "snooze": "action.snooze",
    "clear a screening warning": "action.clear_warning",
    "send or save while a screening warning is not cleared by an admin": "action.send_blocked",
    "send": "action.send",
    "close": "action.close",
}


def error_text(message: str, lang: str) -> str:
    """An error's message (English, from the code) in ``lang``; unknown messages unchanged."""
    return translate(ERRORS, message, lang)


def action_text(what: str, lang: str) -> str:
    """What a member was refused (``PermissionDenied``'s message) in ``lang``."""
    key = _ACTION_KEYS.get(what)
    if key is None:
        return error_text(what, lang)
    return t(key, lang)


# -- draft flags and quote risks (bot/drafting/guards.py, bot/trust/quote_risk/) --------------------


def _masked(value: str, lang: str) -> str:
    """``"account ending 1234"`` / ``"IBAN ending 1234"`` / ``"SWIFT/BIC X"``, a list of them."""
    out = []
    for item in value.split(", "):
        m = re.fullmatch(r"(?P<kind>account|[A-Z]+) ending (?P<last>\S+)", item)
        if m is None:
            out.append(item)
            continue
        kind = t("quote.account", lang) if m.group("kind") == "account" else m.group("kind")
        out.append(t("quote.ending", lang, kind=kind, last=m.group("last")))
    return t("list.sep", lang).join(out)


QUOTE_DETAILS: tuple[Rule, ...] = (
    _rule(r"(?P<product>.+): (?P<shown>.+) quoted \((?P<q>'.*')\), floor (?P<floor>.+)", "quote.below_floor"),
    _rule(
        r"(?P<term>.+) \((?P<q>'.*')\) is not an allowed payment term \(allowed: (?P<allowed>.*)\)",
        "quote.payment_terms",
        term=_listed("payterm"),
    ),
    _rule(r"(?P<q>'.*') is shorter than our minimum lead time of (?P<n>\d+) days", "quote.lead_time"),
    _rule(
        r"(?P<id>.+?) is not our own account \(ours: (?P<ours>.*)\)",
        "quote.not_our_account",
        id=_masked,
        ours=_masked,
    ),
    _rule(r"beneficiary (?P<q>'.*') is not our company \((?P<ours>.*)\)", "quote.not_our_company"),
)


def flag_label(code: str, lang: str) -> str:
    """A draft flag's or quote risk's code as the team reads it (the code itself in English)."""
    key = f"flag.{code}"
    return t(key, lang) if ui_lang(lang) != "en" and has(key) else code


def draft_flag(flag: str, lang: str) -> str:
    """A draft's flag or quote-risk finding, ``"<code>: <what>"``: the code as a label, the quote
    risk's explanation in ``lang``; the values found in the draft stay as they are."""
    if ui_lang(lang) == "en":
        return flag
    code, sep, what = flag.partition(": ")
    if not sep or not has(f"flag.{code}"):
        return flag
    return f"{flag_label(code, lang)}{t('label.sep', lang)}{translate(QUOTE_DETAILS, what, lang)}"


# -- digests ---------------------------------------------------------------------------------------


def followup_heading(key: str, lang: str) -> str:
    """A digest's follow-up group heading: by tier (``"A"`` -> "Follow up: Tier A inquiries") or
    by cadence (``"samples"`` -> "Follow up: samples sent")."""
    if key in ("A", "B", "C"):
        return t("digest.followup_tier", lang, tier=t("card.tier", lang, tier=key))
    kind = f"followup.{key}"
    return t("digest.followup", lang, kind=t(kind, lang) if has(kind) else esc(key, 60))  # key: untrusted


def followup_step(step: str, lang: str) -> str:
    """A follow-up sequence step as the team reads it: ``"day7"`` -> "day 7 after our answer"."""
    m = re.fullmatch(r"day(\d+(?:\.\d+)?)", step)
    return t("followup.step_day", lang, n=m.group(1)) if m else step


ANSWERED: tuple[Rule, ...] = (
    _rule(r"colleague's reply in the inbox", "answered.inbox"),
    _rule(r"reply sent from a mail client", "answered.mail_client"),
)


def answered_how(how: str, lang: str) -> str:
    """How our answer was seen (bot/desk/ingest.py), in ``lang``."""
    return translate(ANSWERED, how, lang)


def localized_warnings(inq: Inquiry, lang: str) -> Inquiry:
    """``inq`` with its warnings' details in ``lang`` (the stored record keeps the English)."""
    if ui_lang(lang) == "en" or not inq.triage.warnings:
        return inq
    warnings = tuple(Warning(w.code, warning_detail(w.code, w.detail, lang)) for w in inq.triage.warnings)
    return replace(inq, triage=replace(inq.triage, warnings=warnings))


# -- counted phrases and the audit history -----------------------------------------------------


def category_count(category: str, n: int, lang: str) -> str:
    """``"5 newsletters"``, ``"1 newsletter"``, ``"5 封新闻邮件"``."""
    key = f"category_n.{category}"
    if has(f"{key}.other"):
        return tn(key, lang, n)
    label = t(f"category.{category}", lang) if has(f"category.{category}") else category
    return f"{n} {label}"


def event_action(action: str, lang: str) -> str:
    """An audit event's action (``claimed``, ``received``…) as the team reads it."""
    key = f"event.{action}"
    return t(key, lang) if has(key) else action


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


def event_actor(actor: str, lang: str) -> str:
    """Who did it: a member's mention, or the mailbox / the bot in ``lang``."""
    if _USER_ID.fullmatch(actor):
        return f"<@{actor}>"
    key = f"actor.{actor}"
    return t(key, lang) if has(key) else actor


def event_detail(action: str, detail: str, lang: str) -> str:
    """An audit event's detail: a member (as a mention), a status by its label, reasons translated
    when they have a known shape, anything else (ids, timestamps, quoted text) as it is."""
    if _USER_ID.fullmatch(detail):
        return f"<@{detail}>"
    if action == "status" and has(f"status.{detail}"):
        return t(f"status.{detail}", lang)
    for rules in (FILTER_REASONS, TRIAGE_REASONS):
        out = translate(rules, detail, lang)
        if out != detail:
            return out
    return detail
