"""The scheduler's work: one SLA tick and one digest tick, both driven by ``now``.

``sla_tick(now)`` asks the store for the open inquiries that may owe a ping
(:meth:`~bot.desk.ports.InquiryRepo.due_candidates`: a waiting buyer message older than the
earliest rung of any market whose breach is not recorded yet, or our answer older than the
shortest follow-up cadence while reminders are left), asks the pure engine which pings are
due, owes each to the outbox (keyed, so it is delivered once) and then records the keys on
the inquiry, also the ones a collapsed catch-up made unnecessary. Enqueue comes first: a
crash in between leaves a key that the next tick enqueues again, which the outbox refuses as
already known.

``digest_tick(now)`` sends each owner their digest once per local day in their own time
zone (made of their open inquiries and the unclaimed waiting ones, read by query:
:mod:`bot.desk.open_reads`), at the time they chose in the App Home (else ``DIGEST_TIME``),
and the team digest once per team-local day. An owner who turned DM pings off gets their
pings in the card's thread; one who chose a language gets their DMs in it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from bot.core.errors import ChatError
from bot.core.models import Inquiry
from bot.core.prefs import digest_cutoff
from bot.desk.open_reads import digest_inquiries, open_owners, unclaimed_waiting
from bot.desk.outbox import Outbox
from bot.desk.ports import Chat, Store
from bot.sla.digest import is_digest_due
from bot.sla.engine import (
    Ping,
    PingKind,
    SlaPolicy,
    SlaState,
    Target,
    due_pings,
    earliest_event_offset,
    sla_state,
)
from bot.sla.followup import earliest_followup_delay

log = logging.getLogger(__name__)


def _ping_payload(p: Ping) -> dict[str, Any]:
    return {
        "key": f"ping.{p.kind.value}.{p.target.value}",
        "rung": p.rung,
        "owner": p.owner,
        "deadline": int(p.deadline.timestamp()) if p.deadline else None,
        "step": p.step,
        "user": p.owner,
    }


class Reminders:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        policy: SlaPolicy,
        clock: Callable[[], datetime],
        *,
        admins: frozenset[str] = frozenset(),
        chat: Chat | None = None,
        digest_time: time = time(9, 0),
        team_timezone: str = "UTC",
        send_digests: Callable[[str, list[Inquiry], datetime], None] | None = None,
        send_team_digest: Callable[[list[Inquiry], datetime], None] | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.admins = admins
        self.chat = chat
        self.digest_time = digest_time
        self.team_timezone = team_timezone
        self.send_digests = send_digests
        self.send_team_digest = send_team_digest
        self._last_state: dict[str, SlaState] = {}
        self._ticked = False

    def sla_tick(self, now: datetime | None = None) -> int:
        now = now or self.clock()
        # Only what can be due: the store's pre-filter may return more, never less; the engine judges.
        inquiries = self.store.due_candidates(
            now - earliest_event_offset(self.policy),
            now - earliest_followup_delay(self.policy.followup),
            self.policy.followup,
        )
        result = due_pings(inquiries, now, self.policy)
        by_inquiry: dict[str, list[str]] = defaultdict(list)
        for ping in result.pings:
            if ping.kind is PingKind.FOLLOWUP or ping.target is Target.OWNER_DM:
                kind = "ping_dm" if ping.owner else "ping_thread"
            else:
                kind = "ping_thread"
            payload = _ping_payload(ping)
            if kind == "ping_dm" and ping.owner:
                prefs = self.store.member_prefs(ping.owner)
                if not prefs.dm_pings:
                    kind = "ping_thread"  # the owner turned DM pings off: the card's thread only
                elif prefs.lang:
                    payload["lang"] = prefs.lang  # a DM speaks the member's language
            if ping.target is Target.THREAD_OWNER_ADMINS:
                payload["admins"] = sorted(self.admins)
            self.outbox.enqueue(ping.key, kind, ping.inquiry_id, payload, now)
            by_inquiry[ping.inquiry_id].append(ping.key)
        for key in result.superseded_keys:
            inq_id = key.split(":")[1]
            by_inquiry[inq_id].append(key)
        for inq_id, keys in by_inquiry.items():
            self.store.update(
                inq_id,
                lambda inq, keys=keys: replace(  # type: ignore[misc]
                    inq, pings_sent=tuple(dict.fromkeys((*inq.pings_sent, *keys)))
                ),
            )
        # Re-render cards whose SLA state changed (on track -> at risk -> breached). A waiting
        # inquiry new to the read was on track before it (it enters before its first rung); on
        # the first tick of a process nothing is known, so nothing counts as changed.
        seen: dict[str, SlaState] = {}
        for inq in inquiries:
            state = sla_state(inq, now, self.policy)
            before = self._last_state.get(inq.id)
            if before is None:
                before = SlaState.ON_TRACK if self._ticked and inq.sla_started_at is not None else state
            if before != state or inq.id in by_inquiry:
                self.outbox.enqueue(f"update:{inq.id}", "card_update", inq.id, None, now, once=False)
            seen[inq.id] = state
        self._last_state = seen
        self._ticked = True
        if result.pings:
            log.info("SLA tick: %d pings owed (%d collapsed)", len(result.pings), len(result.superseded_keys))
        return len(result.pings)

    def digest_tick(self, now: datetime | None = None) -> int:
        now = now or self.clock()
        sent = 0
        unclaimed: list[Inquiry] | None = None  # read once, when the first digest is due
        for owner in open_owners(self.store):
            tz = self.tz_of(owner)
            last = self.store.get_meta(f"digest:{owner}")
            at = self.store.member_prefs(owner).digest_time_or(self.digest_time)
            due = is_digest_due(
                now, tz, at, date.fromisoformat(last) if last else None, cutoff=digest_cutoff(at)
            )
            if due is None or self.send_digests is None:
                continue
            if unclaimed is None:
                unclaimed = unclaimed_waiting(self.store)
            self.send_digests(owner, digest_inquiries(self.store, owner, unclaimed), now)
            self.store.set_meta(f"digest:{owner}", due.isoformat())
            sent += 1
        last_team = self.store.get_meta("digest:team")
        due_team = is_digest_due(
            now, self.team_timezone, self.digest_time, date.fromisoformat(last_team) if last_team else None
        )
        if due_team is not None and self.send_team_digest is not None:
            self.send_team_digest(list(self.store.all_inquiries()), now)
            self.store.set_meta("digest:team", due_team.isoformat())
            sent += 1
        return sent

    def tz_of(self, user: str) -> str:
        cached = self.store.get_meta(f"tz:{user}")
        if cached:
            return str(cached)
        tz = None
        if self.chat is not None:
            try:
                tz = self.chat.user_tz(user)
            except ChatError as e:
                log.warning("could not read the time zone of %s: %s", user, e)
        tz = tz or self.team_timezone
        self.store.set_meta(f"tz:{user}", tz)
        return tz
