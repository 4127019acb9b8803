"""``/inquiries`` sub-commands: a pure parser and the queries behind the listings.

``parse_command(text)`` turns free text into a :class:`Command` or raises UsageError;
any shape of input gets either a command or the usage, never an exception elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core.errors import UsageError
from bot.core.models import Status
from bot.desk.open_reads import breached
from bot.desk.ports import OpenQuery, Store, Summary, summarize
from bot.sla.engine import SlaPolicy

SUBCOMMANDS = {
    "mine": 0,
    "open": 0,
    "unclaimed": 0,
    "overdue": 0,
    "search": -1,  # free text
    "claim": 1,
    "release": 1,
    "tier": 2,
    "status": -2,  # id + free text (statuses may contain spaces: "not an inquiry")
    "note": -2,
    "snooze": 2,
    "draft": 1,
    "history": 1,
    "stats": -1,
    "help": 0,
}
ALIASES = {"?": "help", "list": "open", "find": "search", "me": "mine"}
_ID = re.compile(r"^#?(\d{1,9})$")


@dataclass(frozen=True)
class Command:
    name: str
    inquiry_id: str | None = None
    arg: str = ""


def _inquiry_id(token: str) -> str:
    m = _ID.match(token)
    if not m:
        raise UsageError(f"{token[:40]!r} is not an inquiry id (a number such as 42)")
    return str(int(m.group(1)))


def parse_command(text: str) -> Command:
    words = (text or "").strip().split()
    if not words:
        return Command("help")
    name = words[0].lower()
    name = ALIASES.get(name, name)
    if name not in SUBCOMMANDS:
        raise UsageError(f"unknown sub-command {words[0][:40]!r}")
    arity = SUBCOMMANDS[name]
    rest = words[1:]
    if arity == 0:
        return Command(name)
    if arity == -1:
        if name == "search" and not rest:
            raise UsageError("search needs some text")
        return Command(name, arg=" ".join(rest))
    if arity == 1:
        if len(rest) != 1:
            raise UsageError(f"{name} takes one inquiry id")
        return Command(name, _inquiry_id(rest[0]))
    if arity == 2:
        if len(rest) != 2:
            raise UsageError(f"{name} takes an inquiry id and a value")
        return Command(name, _inquiry_id(rest[0]), rest[1])
    # -2: id + free text
    if len(rest) < 2:
        raise UsageError(f"{name} takes an inquiry id and some text")
    return Command(name, _inquiry_id(rest[0]), " ".join(rest[1:]))


def list_inquiries(
    store: Store,
    which: str,
    user: str,
    now: datetime,
    policy: SlaPolicy | None = None,
    text: str = "",
    limit: int = 15,
) -> list[Summary]:
    """Newest first (ties by id), at most ``limit``. The open listings ask the store for the
    rows shown (:class:`OpenQuery`); ``overdue`` lets the SLA engine judge ``policy``'s
    candidates (:func:`bot.desk.open_reads.breached`); ``search`` reads the summaries."""
    if which == "overdue":
        return [summarize(i) for i in breached(store, now, policy or SlaPolicy(), limit)]
    if which in ("mine", "open", "unclaimed"):
        q = OpenQuery(owner=user if which == "mine" else None, unclaimed=which == "unclaimed")
        return [summarize(i) for i in store.open_where(replace(q, order="newest", limit=limit))]
    if which != "search":
        raise UsageError(which)
    needle = text.casefold()
    chosen = [
        s
        for s in store.summaries()
        if s.is_inquiry
        and (needle in s.subject.casefold() or needle in s.buyer_addr.casefold() or needle == s.id)
    ]
    chosen.sort(key=lambda s: s.created_at, reverse=True)
    return chosen[:limit]


def status_values() -> list[str]:
    return [s.value for s in Status]
