"""The daily audit anchor: the chain's head witnessed outside ``DATA_DIR``.

Once per team-local day (the first scheduler tick of the day, also right after a start)
:meth:`AuditAnchor.tick` appends an ``anchor`` entry to the audit log and owes a line with
that entry's ``seq`` and ``hash`` to Slack through the outbox (``AUDIT_ANCHOR_CHANNEL``,
by default the desk channel). The line is also written to the application log. Someone
who rewrites the whole chain and its head cannot change what Slack already shows, and
``inquiry-bot audit verify --anchor SEQ:HASH`` compares the chain with it.

    >>> AuditAnchor(store, outbox, "C0ADMIN", clock, audit=AuditLog(path)).tick()
    Entry(seq=1234, action='anchor', hash='9f2c…', ...)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core import i18n
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.records.audit import AuditTrail, Entry

log = logging.getLogger(__name__)

META_KEY = "audit_anchor:last"
ANCHOR_RE = re.compile(r"\b(\d+):([0-9a-f]{64})\b")


def anchor_due(now: datetime, tz: str, last: date | None) -> date | None:
    """The team-local date to anchor now, or None when today's anchor is done."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(ZoneInfo(tz)).date()
    return today if last is None or last < today else None


def anchor_text(entry: Entry, day: date, lang: str) -> str:
    return i18n.t("audit.anchor", lang, day=day.isoformat(), seq=entry.seq, hash=entry.hash)


def parse_anchor(text: str) -> tuple[int, str] | None:
    """The ``(seq, hash)`` of an anchor line (as posted), if it holds one."""
    found = ANCHOR_RE.search(text)
    return (int(found.group(1)), found.group(2)) if found else None


class AuditAnchor:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        channel: str,
        clock: Callable[[], datetime],
        *,
        audit: AuditTrail,
        team_timezone: str = "UTC",
        lang: str = "en",
    ) -> None:
        self.store = store
        self.audit = audit
        self.outbox = outbox
        self.channel = channel
        self.clock = clock
        self.team_timezone = team_timezone
        self.lang = lang

    def tick(self, now: datetime | None = None) -> Entry | None:
        """Anchor today's head if not done yet; the entry appended, or None."""
        now = now or self.clock()
        last = self.store.get_meta(META_KEY)
        day = anchor_due(now, self.team_timezone, date.fromisoformat(last) if last else None)
        if day is None:
            return None
        entry = self.audit.append(None, "bot", "anchor", {"day": day.isoformat()}, now)
        # Keyed by day: a crash before the meta write appends a second anchor entry, which is
        # harmless, and the outbox refuses the repeated post.
        self.outbox.enqueue(
            f"audit-anchor:{day.isoformat()}",
            "channel_message",
            None,
            {"channel": self.channel, "text": anchor_text(entry, day, self.lang)},
            now,
        )
        self.store.set_meta(META_KEY, day.isoformat())
        log.info("audit anchor %s: seq %d hash %s", day.isoformat(), entry.seq, entry.hash)
        return entry
