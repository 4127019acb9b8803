"""Slack adapter for the chat port: slack_sdk ``WebClient`` calls, errors translated.

Updates pass ``parse="none"`` (``chat.update`` otherwise defaults to ``parse=client``),
and ``link_names`` is never set, so escaped email text stays inert.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.errors import ChatError, TemporaryChatError
from bot.desk.ports import Blocks

log = logging.getLogger(__name__)

CARD_EVENT = "inquiry_card"
REPLY_EVENT = "inquiry_desk_post"
_TEMPORARY_ERRORS = {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}


def _translate(method: str, e: Exception) -> ChatError:
    if isinstance(e, SlackApiError):
        status = getattr(e.response, "status_code", 0)
        error = e.response.get("error", "") if hasattr(e.response, "get") else ""
        if status == 429 or status >= 500 or error in _TEMPORARY_ERRORS:
            retry = e.response.headers.get("Retry-After") or e.response.headers.get("retry-after")
            return TemporaryChatError(f"{method}: {status} {error}", float(retry) if retry else None)
        return ChatError(f"{method}: {error or status}")
    return TemporaryChatError(f"{method}: {type(e).__name__}")


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._dm_channels: dict[str, str] = {}
        self._tz: dict[str, str | None] = {}

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return self.client.api_call(method, json=kwargs)
        except (SlackApiError, SlackClientError, OSError) as e:
            raise _translate(method, e) from e

    def post(
        self,
        channel: str,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        card_of: str | None = None,
        tag: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if card_of is not None:
            kwargs["metadata"] = {"event_type": CARD_EVENT, "event_payload": {"inquiry_id": card_of}}
        elif tag is not None:
            kwargs["metadata"] = {"event_type": REPLY_EVENT, "event_payload": {"key": tag[:200]}}
        resp = self._call("chat.postMessage", **kwargs)
        return str(resp["ts"])

    def find_reply(self, channel: str, thread_ts: str | None, tag: str) -> str | None:
        if thread_ts:
            resp = self._call(
                "conversations.replies", channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
            )
        else:  # a top-level message (a DM, a digest)
            resp = self._call("conversations.history", channel=channel, limit=200, include_all_metadata=True)
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == REPLY_EVENT
                and (meta.get("event_payload") or {}).get("key") == tag[:200]
            ):
                return str(message["ts"])
        return None

    def messages(
        self, channel: str, thread_ts: str | None = None, oldest: str | None = None, max_pages: int = 50
    ) -> list[dict[str, Any]]:
        """A thread's replies, or the channel's top-level messages since ``oldest``, as
        ``{"ts", "text", "blocks", "tag", "card_of"}`` (our metadata read back)."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(max_pages):
            kwargs: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
            if cursor:
                kwargs["cursor"] = cursor
            if thread_ts:
                resp = self._call("conversations.replies", ts=thread_ts, **kwargs)
            else:
                resp = self._call("conversations.history", **({"oldest": oldest} if oldest else {}), **kwargs)
            for message in resp.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                out.append(
                    {
                        "ts": str(message.get("ts", "")),
                        "text": str(message.get("text") or ""),
                        "blocks": message.get("blocks"),
                        "tag": payload.get("key") if meta.get("event_type") == REPLY_EVENT else None,
                        "card_of": payload.get("inquiry_id")
                        if meta.get("event_type") == CARD_EVENT
                        else None,
                    }
                )
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not resp.get("has_more"):
                break
        return out

    def find_card(self, channel: str, inquiry_id: str) -> str | None:
        resp = self._call("conversations.history", channel=channel, limit=200, include_all_metadata=True)
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == CARD_EVENT and str(payload.get("inquiry_id")) == str(inquiry_id):
                return str(message["ts"])
        return None

    def update(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": text, "parse": "none"}
        if blocks is not None:
            kwargs["blocks"] = blocks
        self._call("chat.update", **kwargs)

    def dm_channel(self, user: str) -> str:
        channel = self._dm_channels.get(user)
        if channel is None:
            resp = self._call("conversations.open", users=user)
            channel = str(resp["channel"]["id"])
            self._dm_channels[user] = channel
        return channel

    def dm(self, user: str, text: str, blocks: Blocks | None = None) -> str:
        return self.post(self.dm_channel(user), text, blocks)

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        self._call("chat.postEphemeral", **kwargs)

    def user_tz(self, user: str) -> str | None:
        if user not in self._tz:
            try:
                resp = self.client.users_info(user=user)
                self._tz[user] = resp["user"].get("tz")
            except (SlackApiError, SlackClientError, OSError) as e:
                raise _translate("users.info", e) from e
        return self._tz[user]

    def user_name(self, user: str) -> str:
        """The member's display name for signing replies ("" when unknown)."""
        try:
            resp = self.client.users_info(user=user)
        except (SlackApiError, SlackClientError, OSError):
            return ""
        profile = resp["user"].get("profile") or {}
        return str(
            profile.get("real_name") or profile.get("display_name") or resp["user"].get("real_name") or ""
        )

    def publish_home(self, user: str, view: dict[str, Any]) -> None:
        """Publish ``user``'s App Home (``views.publish``)."""
        self._call("views.publish", user_id=user, view=view)

    def upload_png(self, channel: str, filename: str, data: bytes, title: str) -> None:
        try:
            self.client.files_upload_v2(channel=channel, filename=filename, content=data, title=title)
        except (SlackApiError, SlackClientError, OSError) as e:
            raise _translate("files.upload", e) from e
