"""The offline demo: the whole pipeline on the bundled sample emails, no credentials.

Each sample goes through the real parser, triage, store and outbox (in a temporary data
directory); the owed Slack messages are delivered to a terminal "chat" that prints each
card as the team would see it, with the triage reasons and the SLA deadline.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TextIO

from bot.app.store import open_store
from bot.blocks.localize import filter_reason
from bot.blocks.render import Renderer
from bot.config.settings import Config
from bot.core.i18n import t, tn
from bot.core.names import language_name
from bot.desk.delivery import DeliveryWorker
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.desk.ports import Blocks, Store
from bot.desk.triage_context import Trust, load_screener, triage_config
from bot.sla.engine import SlaPolicy, parse_warn_at

_MRKDWN_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def sample_files() -> list[tuple[str, bytes]]:
    folder = resources.files("bot.app") / "samples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".eml"):
            out.append((entry.name, entry.read_bytes()))
    return out


def _unescape(text: str) -> str:
    text = _MRKDWN_DATE.sub(r"\1", text)
    text = _MENTION.sub(r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: Blocks) -> list[str]:
    """A terminal rendering of Block Kit blocks: what a member reads on the card."""
    lines: list[str] = []
    for b in blocks:
        kind = b.get("type")
        if kind in ("section", "header"):
            text = (b.get("text") or {}).get("text")
            if text:
                lines.extend(_unescape(text).splitlines())
            for f in b.get("fields") or []:
                lines.append("  " + _unescape(f.get("text", "")).replace("\n", ": ", 1))
        elif kind == "context":
            for el in b.get("elements") or []:
                if el.get("text"):
                    lines.append("  " + _unescape(el["text"]))
        elif kind == "actions":
            labels = []
            for el in b.get("elements") or []:
                label = (el.get("text") or {}).get("text") or (el.get("placeholder") or {}).get("text") or ""
                labels.append(f"[{label} ▾]" if el.get("type", "").endswith("select") else f"[{label}]")
            lines.append("  " + " ".join(labels))
        elif kind == "divider":
            lines.append("  " + "─" * 40)
    return lines


@dataclass
class TerminalChat:
    out: TextIO
    lang: str = "en"
    posted: list[tuple[str, str]] = field(default_factory=list)
    _n: int = 0

    def _ts(self) -> str:
        self._n += 1
        return f"1700000000.{self._n:06d}"

    def post(
        self,
        channel: str,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        card_of: str | None = None,
        tag: str | None = None,
    ) -> str:
        ts = self._ts()
        self.posted.append((channel, ts))
        if thread_ts is None:
            self.out.write("\n" + "═" * 72 + "\n")
            for line in blocks_to_text(blocks or []) or [text]:
                self.out.write(line + "\n")
        else:
            self.out.write(f"    ↳ {t('demo.thread', self.lang)}{_unescape(text)}\n")
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None:
        return None

    def find_card(self, channel: str, inquiry_id: str) -> str | None:
        return None

    def find_reply(self, channel: str, thread_ts: str | None, tag: str) -> str | None:
        return None

    def dm_channel(self, user: str) -> str:
        return f"D{user}"

    def dm(self, user: str, text: str, blocks: Blocks | None = None) -> str:
        self.out.write(f"    ✉ {t('demo.dm', self.lang, user=user)}{_unescape(text)}\n")
        return self._ts()

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks | None = None) -> None:
        return None

    def user_tz(self, user: str) -> str | None:
        return None

    def upload_png(self, channel: str, filename: str, data: bytes, title: str) -> None:
        return None


def run_demo(config: Config, *, lang: str | None = None, out: TextIO, keep_dir: Path | None = None) -> int:
    lang = lang or config.team_language
    own = config.own_domains or frozenset({"brightway-led.com"})
    from dataclasses import replace

    config = replace(config, own_domains=own)
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="inquiry-demo-") as tmp:
        data_dir = keep_dir or Path(tmp)
        store = open_store(data_dir, shards=8)
        outbox = Outbox(store)
        policy = SlaPolicy(hours=dict(config.sla_hours), warn_at=parse_warn_at(config.sla_warn_at))
        renderer = Renderer(policy, lang)
        chat = TerminalChat(out, lang)
        clock = lambda: now  # noqa: E731 - a fixed demo clock
        ingestor = Ingestor(
            store, outbox, triage_config(config), clock, trust=Trust(config, load_screener(config))
        )
        worker = DeliveryWorker(
            store, outbox, chat, "#inquiries", clock, renderer.card, renderer.note, min_interval=0
        )
        samples = sample_files()
        out.write(t("demo.intro", lang, n=len(samples), domains=", ".join(sorted(own)), team=lang) + "\n")
        filtered: list[str] = []
        for i, (name, raw) in enumerate(samples):
            arrived = now - timedelta(minutes=5 * (len(samples) - i))
            from bot.intake.parse import parse_email

            result = ingestor.ingest(parse_email(raw), arrived)
            if result.outcome == "filtered" and result.inquiry_id:
                inq = store.require(result.inquiry_id)
                # the filter's reason names its rule ("auto-reply: …", "bounce: …") and evidence
                filtered.append(f"  - {name}: {filter_reason(inq.triage.reason, lang)}")
            while worker.run_once():
                pass
        _show_draft(store, lang, out)
        out.write("\n" + "═" * 72 + "\n")
        out.write(t("demo.filtered", lang, n=len(filtered)) + "\n")
        out.write("\n".join(filtered) + "\n")
        out.write(
            "\n"
            + tn("demo.stored", lang, store.count(), messages=tn("demo.messages", lang, len(chat.posted)))
            + "\n"
            + t("demo.connect", lang)
            + "\n"
        )
        store.close()
    return 0


def _show_draft(store: Store, lang: str, out: TextIO) -> None:
    """What "Draft reply" gives a rep offline: a template in the buyer's language, and the
    same reply in the team's language to check it (the first SEA inquiry, else the first)."""
    from bot.drafting.service import Drafter, request_from_inquiry

    inquiries = [i for i in store.open_inquiries() if i.triage.language not in (lang, "en")]
    if not inquiries:
        return
    inq = next((i for i in inquiries if i.triage.market.value == "SEA"), inquiries[0])
    draft = Drafter(None).draft(request_from_inquiry(inq, team_language=lang, rep_name="Li Wei"))
    out.write("\n" + "═" * 72 + "\n")
    out.write(t("demo.draft", lang, id=inq.id, subject=inq.subject, language=draft.language) + "\n\n")
    out.write(f"{t('demo.subject', lang)}{draft.subject}\n{draft.body}\n")
    if draft.translation_of_draft:
        out.write(f"\n{t('demo.in_lang', lang, language=language_name(lang, lang, with_code=False))}\n")
        out.write(f"{draft.translation_of_draft}\n")
