"""``/inquiries`` text replies (bot.blocks.replies): listings and history, escaped and capped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.blocks.replies import history_reply, listing_reply
from bot.core.i18n import t
from bot.core.models import Event
from tests.inquiries import make_inquiry


@dataclass(frozen=True)
class Row:
    id: str
    tier: str | None
    subject: str
    buyer_addr: str
    owner: str | None


def test_an_empty_listing_says_so() -> None:
    assert listing_reply([], "en") == t("cmd.none", "en")


def test_a_listing_escapes_what_buyers_wrote_and_mentions_owners() -> None:
    rows = [
        Row("7", "A", "<!channel> cheap panels", "x@evil.example", "UALICE"),
        Row("8", None, "LED " * 100, "anna@licht.de", None),
    ]
    text = listing_reply(rows, "en")
    first, second = text.splitlines()[1:]
    assert first.startswith("• #7 [A] &lt;!channel&gt;") and first.endswith(" <@UALICE>")
    assert second.startswith("• #8 [-] ") and "<@" not in second
    assert len(second) < 300  # the subject is capped


def test_history_shows_the_last_forty_events_in_order() -> None:
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    events = tuple(Event(t0 + timedelta(minutes=i), "UALICE", "note", f"n{i}") for i in range(50))
    inq = replace(make_inquiry("42", subject="<b>Panels</b>"), events=events)
    lines = history_reply(inq, "en").splitlines()
    assert lines[0] == "#42 &lt;b&gt;Panels&lt;/b&gt;"
    assert len(lines) == 41 and "n10" in lines[1] and "n49" in lines[-1]
