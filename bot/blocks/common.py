"""Small, pure Block Kit helpers shared by every builder: escaping, truncation, dates, flags,
and constructors for blocks and elements that stay inside Slack's limits.

Every piece of untrusted text (buyer mail, LLM output, subjects, file names) goes through
:func:`esc` (``mrkdwn_escape`` + truncation) before it enters mrkdwn or a message's ``text``
fallback. Only Slack-sourced ids become mentions (:func:`user_mention` checks their shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]

# Limits (https://docs.slack.dev/reference/block-kit/blocks and slack_sdk's model validators).
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_ID = 255
MAX_PLACEHOLDER = 150
MAX_FALLBACK_TEXT = 3000
MAX_VIEW_TITLE = 24

TRUNCATION_MARKER = "… (truncated)"

_USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,30}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def mrkdwn_escape(text: str) -> str:
    """Escape Slack's three control characters, ``&`` first; nothing else is touched.

    >>> mrkdwn_escape("<!channel> & co")
    '&lt;!channel&gt; &amp; co'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """``text`` if it fits in ``limit`` characters, else its head plus ``marker`` (total ≤ limit)."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    return text[: limit - len(marker)].rstrip() + marker


def esc(text: str | None, limit: int = MAX_SECTION_TEXT, marker: str = TRUNCATION_MARKER) -> str:
    """Escape untrusted text for mrkdwn and fit it in ``limit`` without splitting an entity."""
    escaped = mrkdwn_escape(text or "")
    if len(escaped) <= limit:
        return escaped
    head = escaped[: max(0, limit - len(marker))]
    head = _PARTIAL_ENTITY.sub("", head).rstrip()
    return (head + marker)[:limit]


def slack_date(dt: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A ``<!date^…>`` token every viewer sees in their own time zone, with a UTC fallback.

    >>> slack_date(datetime(2024, 1, 2, 3, 4, tzinfo=UTC))
    '<!date^1704164640^{date_short_pretty} {time}|2024-01-02 03:04 UTC>'
    """
    if dt.tzinfo is None:
        raise ValueError("slack_date needs an aware datetime")
    utc = dt.astimezone(UTC)
    return f"<!date^{int(utc.timestamp())}^{fmt}|{utc:%Y-%m-%d %H:%M} UTC>"


def flag_emoji(country: str | None) -> str:
    """``"DE"`` -> ``"🇩🇪"``; ``""`` for anything that is not two ASCII letters."""
    if not country or len(country) != 2 or not country.isascii() or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country.upper())


def user_mention(user_id: str | None) -> str:
    """``<@U123>`` for a well-formed Slack user id, the escaped text otherwise."""
    if user_id and _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return esc(user_id or "", 100)


def fallback_text(text: str) -> str:
    """A message's top-level ``text``: built from already-escaped parts, capped."""
    return truncate(text, MAX_FALLBACK_TEXT)


# -- ids ---------------------------------------------------------------------------------------


def block_id(*parts: str) -> str:
    """``block_id("inquiry", "inq-1")`` -> ``"inquiry:inq-1"`` (≤ 255 chars)."""
    bid = ":".join(parts)
    if len(bid) > MAX_ID:
        raise ValueError("block_id too long")
    return bid


def block_id_part(bid: str, index: int = 1) -> str:
    """The ``index``-th ``:``-separated part of a block id (the last part keeps any ``:``)."""
    head, _, rest = bid.partition(":")
    if index == 0:
        return head
    parts = rest.split(":", index - 1) if rest else [""]
    return parts[index - 1] if len(parts) >= index else ""


# -- text objects and elements ----------------------------------------------------------------


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> Block:
    """A mrkdwn text object from *already escaped* text (truncated to ``limit``)."""
    return {"type": "mrkdwn", "text": truncate(text, limit) or " ", "verbatim": True}


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> Block:
    """A plain_text object from the bot's own words."""
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> Block:
    if len(value) > MAX_BUTTON_VALUE or len(action_id) > MAX_ID:
        raise ValueError("button value or action_id too long")
    el: Block = {
        "type": "button",
        "text": plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style in ("primary", "danger"):
        el["style"] = style
    if confirm is not None:
        el["confirm"] = confirm
    return el


def confirm_dialog(title: str, text: str, yes: str, no: str) -> Block:
    """A confirmation dialog (title ≤ 100, text ≤ 300, buttons ≤ 30)."""
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
    }


def option(text: str, value: str) -> Block:
    if len(value) > MAX_OPTION_VALUE:
        raise ValueError("option value too long")
    return {"text": plain(text, MAX_OPTION_TEXT), "value": value}


def static_select(
    action_id: str, placeholder: str, options: Sequence[tuple[str, str]], initial: str | None = None
) -> Block:
    """A static_select from ``(value, label)`` pairs; ``initial`` selects one by value."""
    opts = [option(label, value) for value, label in options]
    el: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, MAX_PLACEHOLDER),
        "options": opts,
    }
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen is not None:
        el["initial_option"] = chosen
    return el


def users_select(action_id: str, placeholder: str, initial_user: str | None = None) -> Block:
    el: Block = {
        "type": "users_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, MAX_PLACEHOLDER),
    }
    if initial_user and _USER_ID.match(initial_user):
        el["initial_user"] = initial_user
    return el


# -- blocks -----------------------------------------------------------------------------------


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def section(
    text: str | None = None,
    *,
    fields: Iterable[str] = (),
    accessory: Block | None = None,
    bid: str | None = None,
) -> Block:
    """A section from *already escaped* mrkdwn ``text`` and/or ``fields`` (≤ 10, each ≤ 2000)."""
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = mrkdwn(text)
    field_list = [mrkdwn(f, MAX_FIELD_TEXT) for f in fields][:MAX_FIELDS]
    if field_list:
        block["fields"] = field_list
    if "text" not in block and not field_list:
        block["text"] = mrkdwn(" ")
    if accessory is not None:
        block["accessory"] = accessory
    if bid is not None:
        block["block_id"] = bid
    return block


def context(*texts: str) -> Block:
    """A context block of *already escaped* mrkdwn pieces (≤ 10)."""
    elements = [mrkdwn(t, MAX_FIELD_TEXT) for t in texts if t][:MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [mrkdwn(" ")]}


def actions(elements: Sequence[Block], bid: str | None = None) -> Block:
    ids = [e.get("action_id") for e in elements]
    if len(ids) != len(set(ids)):
        raise ValueError("action_id must be unique within a block")
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if bid is not None:
        block["block_id"] = bid
    return block


def divider() -> Block:
    return {"type": "divider"}


def cap_blocks(blocks: list[Block], limit: int, overflow: Block | None = None) -> list[Block]:
    """At most ``limit`` blocks; when cut, the last one is ``overflow`` (e.g. "and 12 more")."""
    if len(blocks) <= limit:
        return blocks
    if overflow is None:
        return blocks[:limit]
    return [*blocks[: limit - 1], overflow]


def check_unique_block_ids(blocks: Sequence[Block]) -> None:
    """Raise ``ValueError`` when two blocks share a ``block_id``."""
    seen: set[str] = set()
    for b in blocks:
        bid = b.get("block_id")
        if bid is None:
            continue
        if bid in seen:
            raise ValueError(f"duplicate block_id {bid!r}")
        seen.add(bid)


# -- long content: measuring, splitting at natural boundaries, packing into messages -----------

# Slack answers ``msg_blocks_too_long`` when a message's blocks hold more than about 12,000
# characters of text in total; we keep a margin.
MAX_MESSAGE_TEXT = 11_000
SPLIT_CHUNK = 2900  # a piece of long text per section (limit 3000), leaving room for a separator
MAX_SEPARATOR = 50  # a whitespace run longer than this stays at the start of the next piece

_TEXT_TYPES = ("plain_text", "mrkdwn")
_SPACE = " \t\r\n"
_SENTENCE_END = re.compile(r"[.!?;:](?=[ \t\r\n])|[。！？；]")


def blocks_text_length(value: Any) -> int:
    """Characters of text in every text object (``mrkdwn`` / ``plain_text``) inside ``value``:
    section texts and fields, context elements, button and option labels, placeholders."""
    if isinstance(value, dict):
        text = value.get("text")
        own = len(text) if value.get("type") in _TEXT_TYPES and isinstance(text, str) else 0
        return own + sum(blocks_text_length(v) for k, v in value.items() if k != "text" or not own)
    if isinstance(value, list | tuple):
        return sum(blocks_text_length(v) for v in value)
    return 0


def escaped_cost(ch: str) -> int:
    """How many characters ``ch`` takes once escaped by :func:`mrkdwn_escape`."""
    return 5 if ch == "&" else 4 if ch in "<>" else 1


def split_text(text: str, limit: int, cost: Callable[[str], int] | None = None) -> list[tuple[str, str]]:
    """Cut ``text`` into ``(piece, separator)`` pairs whose pieces each cost at most ``limit``
    (``cost`` per character, default 1), preferring a paragraph break, then a line break, then
    a sentence end, then a space; only text without any of those is cut mid-word.

    Nothing is lost: ``"".join(p + s for p, s in split_text(t, n)) == t``. The separator is the
    whitespace run where the cut was made (``""`` after a hard cut or a CJK full stop).

    >>> split_text("One. Two.\\n\\nThree.", 12)
    [('One. Two.', '\\n\\n'), ('Three.', '')]
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[tuple[str, str]] = []
    start, n = 0, len(text)
    while start < n:
        end, spent = start, 0
        while end < n:
            c = cost(text[end]) if cost is not None else 1
            if spent + c > limit:
                break
            spent += c
            end += 1
        if end >= n:
            pieces.append((text[start:], ""))
            break
        end = max(end, start + 1)  # one character always fits in a piece
        cut, resume = _boundary(text, start, end)
        pieces.append((text[start:cut], text[cut:resume]))
        start = resume
    return pieces


def _boundary(text: str, start: int, end: int) -> tuple[int, int]:
    """Where to cut ``text[start:end]`` (a piece ends at ``cut``; the next begins at ``resume``)."""
    lo = start + (end - start) // 2
    cut = -1
    for mark in ("\n\n", "\n"):
        pos = text.rfind(mark, lo, end)
        if pos > start:
            cut = pos
            break
    if cut < 0:
        ends = [m.end() for m in _SENTENCE_END.finditer(text, lo, end)]
        if ends and ends[-1] > start:
            cut = ends[-1]
    if cut < 0:
        pos = text.rfind(" ", lo, end)
        if pos > start:
            cut = pos
    if cut < 0:
        return end, end
    while cut > start + 1 and text[cut - 1] in " \t\r":
        cut -= 1
    resume = cut
    while resume < len(text) and text[resume] in _SPACE and resume - cut < MAX_SEPARATOR:
        resume += 1
    return cut, resume


def pack_blocks(
    blocks: Sequence[Block],
    *,
    budget: int = MAX_MESSAGE_TEXT,
    max_blocks: int = MAX_BLOCKS_MESSAGE,
    first_reserve: tuple[int, int] = (0, 0),
    reserve: tuple[int, int] = (0, 0),
) -> list[list[Block]]:
    """Spread ``blocks`` over as few messages as possible, in order, each within ``budget``
    characters of text and ``max_blocks`` blocks. ``first_reserve`` / ``reserve`` keep
    ``(characters, blocks)`` free in the first / every later message for a heading."""
    groups: list[list[Block]] = [[]]
    size = 0
    for b in blocks:
        cost = blocks_text_length(b)
        chars, count = first_reserve if len(groups) == 1 else reserve
        if groups[-1] and (size + cost > budget - chars or len(groups[-1]) + 1 > max_blocks - count):
            groups.append([])
            size = 0
        groups[-1].append(b)
        size += cost
    return groups if groups[-1] else groups[:-1]
