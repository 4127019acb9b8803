"""The Slack side of ``forget``: ``erase_posts`` outbox items owed (:func:`owe_erasure`) and
delivered (:func:`erase_posts`): the bot's own Slack posts about an erased person
updated (``chat.update``) to the erased text.

``bot.records.privacy.forget`` owes one item per card thread of the inquiries it touched, per
channel the desk posts in, and per member's DM. Each payload holds a
:class:`bot.core.redact.Redactor` as salted hashes (never the person's name), and where to look:

* ``{"channel", "thread_ts", "followups"}``: the replies under a card. Follow-up notes of
  the person's own inquiry (``followups``: their ts is stored on the message) are
  re-rendered from the erased inquiry; every other reply the bot tagged is redacted.
* ``{"channel", "oldest"}`` / ``{"user", "oldest"}``: top-level posts the bot tagged
  (digests, filtered-mail lines, pings, notices) since ``oldest``, redacted.

Cards are not touched here: ``card_update`` re-renders them from the store. Messages that
do not change are not updated, so a repeat after a crash or a rate limit is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.core.errors import ChatError, TemporaryChatError
from bot.core.models import Inquiry
from bot.core.redact import Redactor
from bot.desk.outbox import Outbox, OutboxItem
from bot.desk.ports import Blocks, Chat, Store

log = logging.getLogger(__name__)

NoteRenderer = Callable[[Inquiry, dict[str, Any]], tuple[str, Blocks | None]]


@runtime_checkable
class MessageLister(Protocol):
    def messages(
        self, channel: str, thread_ts: str | None = None, oldest: str | None = None
    ) -> list[dict[str, Any]]:
        """Messages as ``{"ts", "text", "blocks", "tag", "card_of"}`` (``tag``: the outbox key
        the bot tagged its post with; ``card_of``: the inquiry id of a card), newest first
        or oldest first."""
        ...


def erase_posts(chat: Chat, store: Store, render_note: NoteRenderer, item: OutboxItem) -> int:
    """Perform one ``erase_posts`` item; return how many messages were updated."""
    if not isinstance(chat, MessageLister):
        log.error("erase_posts %s: this chat adapter cannot list messages; dropped", item.key)
        return 0
    p = item.payload
    redactor = Redactor.from_payload(dict(p["r"]))
    channel = str(p.get("channel") or "") or chat.dm_channel(str(p["user"]))
    thread = str(p["thread_ts"]) if p.get("thread_ts") else None
    inq = store.get(item.inquiry_id) if item.inquiry_id else None
    followups: dict[str, str] = {}
    if thread and p.get("followups") and inq is not None:
        followups = {m.slack_ts: m.message_id for m in inq.messages if m.slack_ts}
    oldest = str(p["oldest"]) if p.get("oldest") else None
    updated = 0
    for msg in chat.messages(channel, thread_ts=thread, oldest=oldest):
        ts = str(msg.get("ts") or "")
        if not ts or ts == thread or msg.get("card_of"):
            continue  # cards are re-rendered from the store by card_update
        if ts in followups and inq is not None:
            text, blocks = render_note(inq, {"key": "note.followup", "message_id": followups[ts]})
            updated += _update(chat, item.key, channel, ts, text, blocks if blocks is not None else [])
            continue
        if not msg.get("tag"):
            continue  # not a post of ours (or one we cannot recognise)
        old_text = str(msg.get("text") or "")
        old_blocks = msg.get("blocks")
        text = redactor.redact(old_text)
        new_blocks = redactor.redact_value(old_blocks) if isinstance(old_blocks, list) else None
        if text != old_text or new_blocks != old_blocks:
            updated += _update(chat, item.key, channel, ts, text, new_blocks)
    if updated:
        log.info("erase_posts %s: %d messages updated", item.key, updated)
    return updated


def _update(chat: Chat, key: str, channel: str, ts: str, text: str, blocks: Blocks | None) -> int:
    """One ``chat.update``; a message Slack refuses for good is logged and skipped (the
    others still get erased), a temporary failure retries the whole item later."""
    try:
        chat.update(channel, ts, text, blocks)
    except TemporaryChatError:
        raise
    except ChatError as e:
        log.warning("erase_posts %s: message %s could not be updated: %s", key, ts, e)
        return 0
    return 1


def owe_erasure(
    store: Store,
    outbox: Outbox,
    n: int,
    affected: list[Inquiry],
    owned: set[str],
    payload: dict[str, Any],
    now: datetime,
    channels: Iterable[str] = (),
) -> int:
    """Owe the Slack side of erasure ``n``: every card of the ``affected`` inquiries
        re-rendered, and ``erase_posts`` items for their threads, every channel the desk posts
        in and every member's DM (``owned``: the person's own inquiries, whose follow-up notes
        are re-rendered; ``channels``: the desk's configured channels, besides those its cards are
    in). ``payload`` is :meth:`Redactor.to_payload`. Returns the items owed."""
    if not affected:
        return 0
    owed = 0
    # Posts about them come after their first card (Slack's own clock); none posted: look back fully.
    cards = [float(i.card_ts) for i in affected if i.card_ts]
    oldest = f"{min(cards):.6f}" if cards else None
    channels = {c for c in channels if c}
    users: set[str] = set()
    for inq in store.all_inquiries():
        if inq.card_channel:
            channels.add(inq.card_channel)
        if inq.owner:
            users.add(inq.owner)
    for key in store.meta_keys():
        if key.startswith(("tz:", "digest:")) and key.split(":", 1)[1] not in ("team", ""):
            users.add(key.split(":", 1)[1])
    for inq in affected:
        if inq.card_ts and inq.card_channel:
            outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
            thread = {"channel": inq.card_channel, "thread_ts": inq.card_ts, "followups": inq.id in owned}
            key = f"erase-thread:e{n}:{inq.id}"
            owed += outbox.enqueue(key, "erase_posts", inq.id, {**thread, "r": payload}, now)
        elif inq.id in owned and inq.triage.is_inquiry and not inq.status.closed:
            outbox.enqueue(f"card:{inq.id}", "card", inq.id, None, now)  # still owed: erased
    for channel in sorted(channels):
        top = {"channel": channel, "oldest": oldest, "r": payload}
        owed += outbox.enqueue(f"erase-channel:e{n}:{channel}", "erase_posts", None, top, now)
    for user in sorted(users):
        dm = {"user": user, "oldest": oldest, "r": payload}
        owed += outbox.enqueue(f"erase-dm:e{n}:{user}", "erase_posts", None, dm, now)
    return owed
