"""A Chinese team reads Chinese everywhere (issue #16 item 3): every view, message, command reply,
refusal and the demo rendered in ``zh`` holds no English word outside quoted email text, product
codes and proper names; English has plural forms; names come from CLDR.

The allow-list is built from the fixtures themselves (every word of the sample mails: subjects,
senders, bodies, file names) plus a short list of codes and units; anything else in Latin letters
is a catalog gap and fails with the text it was found in.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
import pytest

from bot.app.demo import run_demo, sample_files
from bot.app.store import open_store
from bot.blocks import card, digest, draft, home, localize, review
from bot.blocks.chart import chart_labels, week_label
from bot.blocks.home_queue import HomeFilter, queue_page
from bot.blocks.render import Renderer
from bot.config.settings import load_config
from bot.core.errors import Conflict, NotFound, PermissionDenied, UsageError
from bot.core.i18n import catalog, placeholders, t, tn
from bot.core.models import Attachment, Inquiry, RiskSignal, Warning
from bot.core.names import country_name, language_name, market_label
from bot.handlers.actions import explain
from bot.handlers.commands import CommandHandler
from bot.intake.parse import parse_email
from bot.sla.engine import SlaPolicy
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import (
    FORM,
    JSON,
    T_ARRIVED,
    block_actions,
    cards,
    click,
    dispatch,
    drain,
    event_body,
    form_body,
    make_desktop,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

# Codes, units, standards and product words a Chinese sales team reads as they are.
ALLOWED = {
    # protocols, headers, standards and config names shown on purpose
    "DMARC",
    "SPF",
    "DKIM",
    "Reply-To",
    "Content-Type",
    "Auto-Submitted",
    "Precedence",
    "List-Id",
    "List-Unsubscribe",
    "X-Failed-Recipients",
    "header.from",
    "IMAP_HOST",
    "SMTP_HOST",
    "SMTP",
    "IMAP",
    "BOT_ADMINS",
    "OPENAI",
    "OPENAI_",
    "README.md",
    "README",
    "md",
    "UTC",
    "SLA",
    "SEO",
    "Slack",
    "Bcc",
    "ID",
    "CE",
    "RoHS",
    "UL",
    "SAA",
    "bot",
    "samples",
    "zh",
    "multipart",
    "report",
    "auto",
    "replied",
    "bulk",
    "pcs",
    "Li",
    "Wei",
    "ccTLD",
    "LED",
    "com",
    "English",  # the language picker names each language in itself
}
_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z](?:[A-Za-z0-9_'’-]*[A-Za-z0-9_])?")


def fixture_blob() -> str:
    """All text of the sample mails (raw and decoded): a word found in it is quoted from a mail."""
    mails = [
        raw.decode("utf-8", "replace") + "\n" + (parse_email(raw).text or "") for _, raw in sample_files()
    ]
    return "\n".join([*mails, LURE_SUBJECT, LURE_TEXT])


def _strip(text: str) -> str:
    """Remove what is not the bot's own words: quotes, code, links, mentions, dates, addresses."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"<!date\^[^>]*>", " ", text)
    text = re.sub(r"<[@#!][^>]*>", " ", text)
    text = re.sub(r"<https?://[^>]*>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"'[^'\n]*'", " ", text)  # a member's own input, quoted back to them
    text = re.sub(r"[\w.+-]+@[\w.-]+", " ", text)
    text = re.sub(r"\b[\w-]+(?:\.[\w-]+)+\b", " ", text)  # domains, file names
    text = re.sub(r"^\s*&gt;.*$|^\s*>.*$", " ", text, flags=re.M)  # quoted mail
    return text


@cache
def bot_vocabulary() -> frozenset[str]:
    """The bot's own English words: every catalog entry and every phrase triage writes. Such a
    word on a Chinese screen is a gap, even when a mail happens to use it too."""
    words: set[str] = set()
    for value in catalog("en").values():
        words |= {w.lower() for w in _WORD.findall(re.sub(r"\{[^}]*\}", " ", value))}
    tables = (
        localize.TRIAGE_REASONS,
        localize.LANGUAGE_REASONS,
        localize.FILTER_REASONS,
        localize.EVIDENCE,
        localize.WARNING_DETAILS,
        localize.ERRORS,
    )
    for rules in tables:
        for rule in rules:
            literal = re.sub(r"\(\?P<\w+>[^)]*\)|\\[A-Za-z]", " ", rule.pattern.pattern)
            words |= {w.lower() for w in _WORD.findall(literal) if len(w) >= 3}
    return frozenset(words)


_LATIN = "A-Za-z0-9\u00c0-\u024f\u1e00-\u1eff"
_TOKEN = f"[{_LATIN}'’.,:;/+<>=&#%*()-]"
_RUN = re.compile(f"[{_LATIN}]{_TOKEN}*(?: {_TOKEN}+)+")
_LATIN_WORD = re.compile(f"(?<![{_LATIN}_])[A-Za-z\u00c0-\u024f\u1e00-\u1eff][{_LATIN}_'’-]*")


def english_words(text: str, allowed: set[str], blob: str = "", raw_blob: str = "") -> list[str]:
    """English words in ``text`` that are not quoted from a mail, codes, units or allowed names.

    Quoted: a run of two or more words found verbatim in the mails; or a single word found in
    them as it is written there that is a name or code (capitalised) or not one of the bot's own
    words. Words with letters English does not use (Stück, Nguyễn) are not English."""
    stripped = _strip(text)
    for run in sorted(_RUN.findall(stripped), key=len, reverse=True):
        words = run.strip(" .,:;*()").split(" ")
        for i in range(len(words)):  # the longest quoted stretch of the run
            for j in range(len(words), i + 1, -1):
                part = " ".join(words[i:j]).strip(" .,:;*()")
                if part.count(" ") >= 1 and part.lower() in blob:
                    stripped = stripped.replace(part, " ")
    vocab = bot_vocabulary()
    out = []
    for w in _LATIN_WORD.findall(stripped):
        w = w.rstrip("'’-")
        if not w.isascii() or not w:
            continue
        if w in allowed or w.lower() in allowed or w.upper() in allowed:
            continue
        if w.lower() not in vocab and re.search(rf"(?<![a-z]){re.escape(w.lower())}", blob):
            continue  # a word quoted from a mail (or a stem of one, as triage quotes it)
        if w[0].isupper() and re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![a-z])", raw_blob):
            continue  # a name or a code as the mail writes it
        if w.isupper() or any(c.isdigit() for c in w):  # codes: ISO, Incoterms, SWIFT, models
            continue
        if len(w) == 2 and w.islower() and pycountry.languages.get(alpha_2=w) is not None:
            continue  # ISO 639-1 language codes
        if w in ("A", "B", "C", "K", "W", "V", "h"):  # tiers, units
            continue
        out.append(w)
    return out


def texts_of(obj: Any) -> Iterator[str]:
    """Every string a person can read in a Block Kit payload (text, labels, placeholders…)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("text", "title", "label", "placeholder", "hint", "submit", "close") and isinstance(
                v, str
            ):
                yield v
            elif isinstance(v, (dict, list, tuple)):
                yield from texts_of(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from texts_of(v)
    elif isinstance(obj, str):
        yield obj


_BLOB: list[str] = []


def check(where: str, pieces: Iterable[str], allowed: set[str], problems: list[str]) -> None:
    if not _BLOB:
        _BLOB.append(fixture_blob())
    for piece in pieces:
        bad = english_words(piece, allowed, _BLOB[0].lower(), _BLOB[0])
        if bad:
            problems.append(f"{where}: {bad} in {piece[:300]!r}")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Inquiry], str]:
    """The bundled samples through the real pipeline (the demo), the store kept for rendering."""
    data = tmp_path_factory.mktemp("zh-desk")
    out = io.StringIO()
    env = {"TEAM_LANGUAGE": "zh", "DATA_DIR": str(data)}
    run_demo(load_config(env), lang="zh", out=out, keep_dir=data)
    store = open_store(data, shards=8)
    try:
        inquiries = [store.require(s.id) for s in store.summaries()]
    finally:
        store.close()
    return inquiries, out.getvalue()


def test_every_view_reads_chinese(desk: tuple[list[Inquiry], str]) -> None:
    inquiries, _ = desk
    allowed = set(ALLOWED)
    problems: list[str] = []
    policy = SlaPolicy(hours={"A": 4.0, "B": 8.0, "C": 24.0})
    renderer = Renderer(policy, "zh")
    open_ = [i for i in inquiries if i.triage.is_inquiry]
    assert len(open_) >= 8
    for inq in inquiries:
        # the same mail with every warning shape and risk signal the pipeline writes
        check(f"card {inq.id}", texts_of(renderer.card(inq, NOW)), allowed, problems)
        check(f"review {inq.id}", texts_of(review.review_card(inq, lang="zh")), allowed, problems)
        check(
            f"closed {inq.id}",
            texts_of(card._closed_card(inq, lang="zh", owner_name=None)),
            allowed,
            problems,
        )
    # every thread note and ping, as the delivery worker renders them
    inq = open_[0]
    ts = int(NOW.timestamp())
    payloads: list[dict[str, Any]] = [
        {"key": key, "owner": "U1AA", "deadline": ts, "step": "day7", "admins": ["U2BB"], "rung": "4"}
        for key in catalog("en")
        if key.startswith("ping.") and key != "ping.draft_followup"
    ]
    payloads += [
        {"key": "note.claimed", "user": "U1AA"},
        {"key": "note.snoozed", "user": "U1AA", "until": ts},
        {"key": "note.answered", "how": "colleague's reply in the inbox"},
        {"key": "note.answered", "how": "reply sent from a mail client"},
        {"key": "note.warning", "code": "lookalike_domain",
         "text": "sender domain brightvvay-led.com imitates brightway-led.com (a small edit)"},
        {"key": "note.warning", "code": "dmarc_fail", "text": "DMARC fail (checked by our server)"},
        {"key": "note.warning_cleared", "user": "U1AA", "text": "客户已核实"},
        {"key": "note.junked", "user": "U1AA"},
        {"key": "note.rescued", "user": "U1AA"},
    ]  # fmt: skip
    for payload in payloads:
        text, blocks = renderer.note(inq, payload)
        check(str(payload["key"]), [text, *texts_of(blocks or [])], allowed, problems)
    for fn in (card.claimed_note, card.released_note, card.replied_note):
        check(fn.__name__, texts_of(fn("U123ABC", "zh")), allowed, problems)
    check("reassigned", texts_of(card.reassigned_note("U1AA", "U2BB", "zh")), allowed, problems)
    check("tier", texts_of(card.tier_changed_note("U1AA", "A", "zh")), allowed, problems)
    check("status", texts_of(card.status_changed_note("U1AA", "quoted", "zh")), allowed, problems)
    check("snoozed", texts_of(card.snoozed_note("U1AA", NOW, "zh")), allowed, problems)
    check(
        "clear modal", texts_of(card.clear_warning_modal("1", ["embargoed_country"], "zh")), allowed, problems
    )
    filtered = [i for i in inquiries if not i.triage.is_inquiry]
    counts: dict[str, int] = {}
    for i in filtered:
        counts[i.triage.category.value] = counts.get(i.triage.category.value, 0) + 1
    items = [(i.id, i.triage.category.value, i.buyer_addr, i.subject) for i in filtered]
    check("filtered", texts_of(card.filtered_summary(counts, items, "zh")), allowed, problems)
    dl = {i.id: NOW + timedelta(hours=2) for i in open_}
    check(
        "owner digest",
        texts_of(
            digest.owner_digest_messages("zh", open_[:2], open_[2:3], {"A": open_[3:5]}, open_[5:], NOW, dl)[
                0
            ]
        ),
        allowed,
        problems,
    )
    check(
        "team digest",
        texts_of(
            digest.team_digest_messages(
                "zh",
                open_count=9,
                unclaimed=open_[:3],
                overdue=open_[3:4],
                by_owner={"U1AA": 2},
                now=NOW,
                answered_within_sla=(3, 4),
                deadlines=dl,
            )[0]
        ),
        allowed,
        problems,
    )
    stats = digest.stats_text(
        "zh",
        days=7,
        received=9,
        answered=4,
        within_sla=3,
        median_first_response_minutes=95.0,
        by_tier={"A": 3, "B": 4, "C": 2},
        by_market={market_label("OTHER", "zh"): 3, "EU": 1},
        won=1,
        lost=0,
        filtered=counts,
        in_review=1,
        overturned={
            "review_to_inquiry": 1,
            "review_to_junk": 0,
            "inquiry_to_not_inquiry": 0,
            "filtered_to_rescued": 1,
        },
    )
    check("stats", [stats], allowed, problems)
    page = queue_page(open_, NOW, policy, "U1AA", HomeFilter())
    check("home", texts_of(home.home_view("U1AA", page, NOW, "zh")), allowed, problems)
    check("draft", texts_of(draft.drafting_placeholder("zh")), allowed, problems)
    check("draft modal", texts_of(draft.regenerate_modal("d1", "zh")), allowed, problems)
    check("chart", chart_labels("zh").values(), allowed, problems)
    check("chart ticks", [week_label(date(2026, 3, 2), "zh")], allowed, problems)
    assert not problems, "English in the Chinese desk:\n" + "\n".join(problems)


def _raised_messages() -> list[str]:
    """Every literal message the code raises as a UsageError / PermissionDenied / NotFound."""
    found = []
    for path in (ROOT / "bot").rglob("*.py"):
        for m in re.finditer(
            r"raise (UsageError|PermissionDenied|NotFound)\(\s*\"([^\"{}]+)\"\s*\)", path.read_text()
        ):
            found.append((m.group(1), m.group(2)))
    return sorted(set(found))


def test_every_refusal_and_error_reads_chinese() -> None:
    allowed = set(ALLOWED)
    problems: list[str] = []
    messages = _raised_messages()
    assert ("UsageError", "not claimed") in messages and ("PermissionDenied", "reassign") in messages
    kinds = {"UsageError": UsageError, "PermissionDenied": PermissionDenied, "NotFound": NotFound}
    for kind, msg in messages:
        check(f"{kind} {msg!r}", [explain(kinds[kind](msg), "zh")], allowed, problems)
    for what in (
        "release",
        "reassign",
        "close",
        "clear a screening warning",
        "send or save while a screening warning is not cleared by an admin",
    ):
        check(f"denied {what!r}", [explain(PermissionDenied(what), "zh")], allowed, problems)
    dynamic = [
        "'abc' is not a duration like 30m, 4h, 2d or 1w",
        "'x' is not an inquiry id (a number such as 42)",
        "unknown sub-command 'foo'",
        "claim takes one inquiry id",
        "tier takes an inquiry id and a value",
        "note takes an inquiry id and some text",
        "status is one of: new, quoted",
        "no inquiry 42",
    ]
    allowed |= {"claim", "tier", "note", "status", "new", "quoted", "abc", "foo", "x"}  # the member's input
    for msg in dynamic:
        check(f"usage {msg!r}", [explain(UsageError(msg), "zh")], allowed, problems)
    check(
        "conflict",
        [explain(Conflict("U1AA"), "zh"), explain(NotFound("no inquiry 1"), "zh")],
        allowed,
        problems,
    )
    check("admin only", [t("refuse.admin_only", "zh")], allowed, problems)
    assert not problems, "\n".join(problems)
    assert (
        explain(UsageError("not claimed"), "zh")
        == "操作未成功：还没有人认领。输入 `/inquiries help` 查看用法。"
    )
    assert (
        explain(PermissionDenied("clear a screening warning"), "zh") == "只有负责人或管理员可以清除筛查警告。"
    )


def test_triage_evidence_and_warnings_read_chinese() -> None:
    """Shapes the samples do not reach: lure signals, trust warnings, rare language reasons."""
    cases = {
        "Date offset -0500 (weak)": "发信时区 -0500（弱依据）",
        "language en: langdetect en 1.00": "语言 en：语言识别 en 1.00",
        "spec: wattage 36 W, CCT 4000 K": "规格：功率 36 W、色温 4000 K",
        "market OTHER (MX)": "市场 其他（MX）",
        "language unknown: too little text": "语言未知：文字太少",
        "free-mail short note": "免费邮箱简短来信",
    }
    for en, zh in cases.items():
        assert localize.reason_text(en, "zh") == zh
        assert localize.reason_text(en, "en") == en
    assert localize.filter_reason("cold pitch: SEO, free audit", "zh") == "推销邮件：SEO、免费诊断"
    signals = [
        RiskSignal("risky_attachment", 6.0, "double extension PO.xlsx.htm"),
        RiskSignal("mass_mailing", 2.0, "undisclosed recipients"),
        RiskSignal("lure_phrasing", 2.0, "invited to bid, confirm receipt"),
        RiskSignal("link_heavy", 1.0, "12 links"),
        RiskSignal("known_buyer", -3.0, "a@b.com wrote inquiry #4 before"),
        RiskSignal("server_auth_fail", 4.0, "DMARC failed at the receiving server"),
    ]
    problems: list[str] = []
    for s in signals:
        check(s.name, [review.signal_line(s, "zh")], set(ALLOWED) | {"PO", "xlsx", "htm"}, problems)
    warnings = [
        Warning(
            "reply_to_mismatch", "Reply-To goes to gmail.com (free mail), not the sender's domain acme.de"
        ),
        Warning("dmarc_fail", "DMARC fail for header.from=acme.de (checked by our server)"),
        Warning(
            "lookalike_domain", "sender domain brightvvay-led.com imitates brightway-led.com (a small edit)"
        ),
        Warning("embargoed_country", "buyer country IR is embargoed"),
        Warning("lure_suspected", "risk 9.5: risky_attachment: double extension PO.xlsx.htm; mass_mailing"),
    ]
    for w in warnings:
        check(
            w.code,
            [localize.warning_detail(w.code, w.detail, "zh")],
            set(ALLOWED) | {"PO", "xlsx", "htm"},
            problems,
        )
    assert not problems, "\n".join(problems)
    assert tn("evidence.links", "en", 1) == "1 link"


def test_rules_and_english_catalog_agree() -> None:
    """Each rule's English entry uses exactly the rule's named groups (it rebuilds the phrase)."""
    en = catalog("en")
    zh = catalog("zh")
    for rules in (
        localize.TRIAGE_REASONS,
        localize.LANGUAGE_REASONS,
        localize.FILTER_REASONS,
        localize.EVIDENCE,
        localize.WARNING_DETAILS,
        localize.ERRORS,
    ):
        for rule in rules:
            key = rule.key if rule.key in en else f"{rule.key}.other"
            assert key in en and key in zh, key
            assert placeholders(en[key]) == set(rule.pattern.groupindex), key
            assert placeholders(zh[key]) == placeholders(en[key]), key


def test_demo_reads_chinese() -> None:
    """``python -m bot demo --lang zh`` as a person runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IMAP_", "OPENAI_", "SMTP_"))}
    env["TEAM_LANGUAGE"] = "zh"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--lang", "zh"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    allowed = set(ALLOWED)
    lines = proc.stdout.splitlines()
    # The draft itself is in the buyer's language (a template the rep sends); its Chinese version is checked.
    start = next(i for i, ln in enumerate(lines) if ln.startswith(t("demo.subject", "zh")))
    end = next(i for i, ln in enumerate(lines) if ln.startswith("——") and ln.endswith("——"))
    problems: list[str] = []
    check("demo", [ln for i, ln in enumerate(lines) if not start <= i < end], allowed, problems)
    assert not problems, "\n".join(problems)
    assert "德国" in proc.stdout and "越南语" in proc.stdout and "台湾" in proc.stdout


def test_english_has_plurals(desk: tuple[list[Inquiry], str]) -> None:
    open_ = [i for i in desk[0] if i.triage.is_inquiry]
    assert [tn("cmd.list_heading", "en", n) for n in (0, 1, 2)] == [
        "0 inquiries:",
        "1 inquiry:",
        "2 inquiries:",
    ]
    assert tn("cmd.list_heading", "zh", 1) == "1 条询盘："
    for n, expected in (
        (0, "0 emails filtered out: —"),
        (1, "1 email filtered out: 1 newsletter"),
        (2, "2 emails filtered out: 2 newsletters"),
    ):
        counts = {"newsletter": n} if n else {}
        text, _ = card.filtered_summary(counts, [], "en")
        assert text == expected
    owner = [digest.owner_digest_messages("en", [], [], {"A": open_[:n]}, [], NOW)[0][0] for n in (1, 2)]
    assert "1 follow-up ·" in owner[0] and "2 follow-ups ·" in owner[1]
    assert localize.category_count("auto_reply", 1, "en") == "1 auto-reply"
    assert localize.category_count("auto_reply", 0, "en") == "0 auto-replies"
    empty: dict[str, int] = {}
    stats = [
        digest.stats_text(
            "en", days=d, received=1, answered=0, within_sla=0, median_first_response_minutes=None,
            by_tier=empty, by_market=empty, won=0, lost=0,
        )
        for d in (1, 7)
    ]  # fmt: skip
    assert stats[0].startswith("*Last 1 day*") and stats[1].startswith("*Last 7 days*")


def test_names_come_from_cldr() -> None:
    assert country_name("DE", "zh") == "德国"
    assert language_name("vi", "zh") == "越南语 (vi)"
    assert country_name("VN", "en") == "Vietnam"
    assert country_name("TW", "en") == "Taiwan"
    assert language_name("ms", "en") == "Malay (ms)"
    assert country_name("QQ", "zh") == "QQ"
    assert country_name(None, "zh") == ""
    assert language_name("und", "zh") == "?"
    assert market_label("OTHER", "zh") == "其他"


# -- end to end on the loopback Slack fake: what members of a Chinese team really receive --------

LURE_SUBJECT = "NEW PO please quote 1"
LURE_TEXT = (
    "Dear sales,\n\nKindly see attached PO and quote your best price urgently. "
    "Open the attachment with your email password to view the document.\n\nRegards\nPurchasing Dept"
)


def _received(slack: FakeSlack) -> list[tuple[str, str]]:
    """Every text the fake Slack was asked to show: messages, ephemerals, updates, views."""
    out: list[tuple[str, str]] = []
    for method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "views.publish", "views.open"):
        for call in slack.calls(method):
            p = call.params
            where = f"{method} {p.get('channel') or p.get('user_id') or ''}"
            if isinstance(p.get("text"), str):
                out.append((where, p["text"]))
            out += [(where, s) for s in texts_of(p.get("blocks") or [])]
            view = p.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            out += [(where, s) for s in texts_of(view or {})]
    return out


def test_the_desk_speaks_chinese_end_to_end(slack_server: FakeSlack, tmp_path: Path) -> None:
    d = make_desktop(
        slack_server, tmp_path, TEAM_LANGUAGE="zh", OWN_DOMAINS="brightway-led.com", FILTER_AT="30"
    )
    try:
        for i, (_, raw) in enumerate(sample_files()):
            d.ingestor.ingest(parse_email(raw), T_ARRIVED + timedelta(minutes=i))
        lure = make_email(
            subject=LURE_SUBJECT,
            new_text=LURE_TEXT,
            from_addr="purchase@global-sourcing-hub.example",
            from_name="Purchasing Dept",
            to=("undisclosed-recipients:;",),
            attachments=(Attachment("PO.xlsx.htm", "text/html", 3150),),
        )
        d.ingestor.ingest(lure, T_ARRIVED)
        drain(d.worker)
        posted = cards(slack_server)
        assert len(posted) >= 10
        ts = str(posted[0].response["ts"])
        first = posted[0].blocks
        # Two members claim; the second is refused; a non-owner's release is refused.
        for user in ("UALICE", "UBOB"):
            body = form_body(block_actions(user, click(first, "inquiry_claim"), ts=ts))
            assert dispatch(d.app, body, FORM).status == 200
        wait_until(lambda: len(slack_server.calls("chat.postEphemeral")) >= 1, what="the refusal")
        drain(d.worker)
        release = {**click(first, "inquiry_claim"), "action_id": "inquiry_release"}
        assert dispatch(d.app, form_body(block_actions("UBOB", release, ts=ts)), FORM).status == 200
        wait_until(lambda: len(slack_server.calls("chat.postEphemeral")) >= 2, what="the second refusal")
        handler = CommandHandler(d.services)
        replies = [
            handler.answer(text, "UALICE")
            for text in (
                "help",
                "mine",
                "open",
                "unclaimed",
                "overdue",
                "search LED",
                "tier 1 B",
                "status 1 quoted",
                "note 1 请尽快报价",
                "snooze 1 2d",
                "history 1",
                "claim 2",
                "release 2",
                "stats",
                "bogus",
                "claim abc",
                "snooze 1 99y",
                "tier 1 Z",
                "claim",
                "search",
                "release 3",
            )
        ]
        # SLA pings and follow-ups, then the morning digests.
        d.reminders.sla_tick(T_ARRIVED + timedelta(hours=3))
        d.reminders.sla_tick(T_ARRIVED + timedelta(days=2))
        for minute in range(0, 24 * 60, 30):
            d.reminders.digest_tick(T_ARRIVED + timedelta(days=2, minutes=minute))
        event = {
            "type": "app_home_opened",
            "user": "UALICE",
            "channel": "DUALICE",
            "tab": "home",
            "event_ts": "1",
        }
        assert dispatch(d.app, event_body(event), JSON).status == 200
        wait_until(lambda: bool(slack_server.calls("views.publish")), what="the Home")
        drain(d.worker)
        shown = _received(slack_server) + [("command", r) for r in replies]
    finally:
        d.store.close()
    allowed = set(ALLOWED)
    problems: list[str] = []
    for where, text in shown:
        check(where, [text], allowed, problems)
    assert not problems, "English on the Chinese desk:\n" + "\n".join(problems)
    methods = {w.split()[0] for w, _ in shown}
    assert {"chat.postMessage", "chat.postEphemeral", "chat.update", "views.publish", "command"} <= methods


def test_the_chart_never_draws_boxes_for_chinese() -> None:
    """Chinese labels with a CJK font installed; English (and a log line) without one, never tofu."""
    from bot.blocks.chart import _cjk_installed, chart_lang, weekly_chart_png

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = weekly_chart_png([], NOW, 4, lang="zh")
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert chart_lang("zh") == ("zh" if _cjk_installed() else "en")
    assert chart_lang("en") == "en"


def test_draft_flags_and_quote_risks_read_chinese() -> None:
    """The guard's flags and the quote checks' findings on a risky reply, as the draft and the
    "Send anyway" message show them: codes as labels, explanations in Chinese, values kept."""
    from bot.drafting.guards import check_draft
    from bot.trust.quote_risk import QuotePolicy, check_quote

    reply = (
        "GL-200W floodlight: USD 9.00 per piece. Payment: 100% after delivery. Delivery within 3 days. "
        "Please pay to IBAN DE89370400440532013000. See https://evil.example/pay or call +1 415 555 0199."
    )
    flags = check_draft(reply, "Brightway LED, floodlights")
    findings = check_quote(reply, QuotePolicy.load(), rates={"USD": 1.0})
    codes = {f.code for f in findings}
    assert {"price_below_floor", "payment_terms_not_allowed", "lead_time_too_short"} <= codes, findings
    everything = [*flags, *(f"{f.code}: {f.detail}" for f in findings)]
    assert len(flags) >= 3
    # the team's own policy text (its allowed terms, its bank) is shown as the team wrote it
    profile = (ROOT / "prompts" / "company_profile.toml").read_text(encoding="utf-8")
    allowed = set(ALLOWED) | set(_LATIN_WORD.findall(reply + profile)) | {"USD", "IBAN", "SWIFT", "BIC"}
    problems: list[str] = []
    _, blocks = draft.quote_risk_blocks("d1", everything, "zh")
    check("quote risks", texts_of(blocks), allowed, problems)
    _, blocks = draft.draft_messages(
        "1", "d1", "Re: x", "正文", None, None, False,
        [localize.draft_flag(f, "zh") for f in flags], "first_reply", "zh",
    )[0]  # fmt: skip
    check("draft flags", texts_of(blocks), allowed, problems)
    assert not problems, "\n".join(problems)
    assert all(localize.draft_flag(f, "en") == f for f in everything)
