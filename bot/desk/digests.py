"""Composes digests, the filtered-mail line and stats from the pure SLA functions and the
block builders, and owes them to the outbox (one key per recipient per local day)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta

from bot.blocks.card import filtered_summary
from bot.blocks.digest import owner_digest_messages, stats_text, team_digest_messages
from bot.core import i18n, names
from bot.core.errors import UsageError
from bot.core.models import Inquiry, Lane
from bot.desk.outbox import Outbox
from bot.desk.ports import Chat, Store
from bot.sla.digest import owner_digest, team_digest
from bot.sla.engine import SlaPolicy, SlaState, deadline, sla_state
from bot.sla.stats import compute_stats, overturned, parse_stats_period


class Digests:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        policy: SlaPolicy,
        lang: str,
        channel: str,
        clock: Callable[[], datetime],
        tz_of: Callable[[str], str],
        team_timezone: str = "UTC",
    ) -> None:
        self.team_timezone = team_timezone
        self.store = store
        self.outbox = outbox
        self.policy = policy
        self.lang = lang
        self.channel = channel
        self.clock = clock
        self.tz_of = tz_of

    def send_owner(self, owner: str, inquiries: list[Inquiry], now: datetime) -> None:
        tz = self.tz_of(owner)
        d = owner_digest(owner, inquiries, now, self.policy, tz)
        by_id = {i.id: i for i in inquiries}

        def pick(items: tuple[object, ...]) -> list[Inquiry]:
            return [by_id[x.inquiry_id] for x in items if x.inquiry_id in by_id]  # type: ignore[attr-defined]

        followups = {t.value: pick(items) for t, items in d.followups.items() if items}
        deadlines = {i.id: dl for i in inquiries if (dl := deadline(i, self.policy)) is not None}
        lang = self.store.member_prefs(owner).lang_or(self.lang)  # the member's own language
        messages = owner_digest_messages(
            lang, pick(d.overdue), pick(d.due_today), followups, pick(d.new_unclaimed), now, deadlines
        )
        key = f"digest:{owner}:{d.local_date.isoformat()}"
        for n, (text, blocks) in enumerate(messages):  # a long digest: several DMs, in order
            self.outbox.enqueue(
                key if n == 0 else f"{key}:{n + 1}",
                "dm",
                None,
                {"user": owner, "text": text, "blocks": blocks},
                now + timedelta(microseconds=n),
            )

    def send_team(self, inquiries: list[Inquiry], now: datetime) -> None:
        """The team's morning: yesterday's new inquiries by market and tier, replies within the
        SLA, breaches, median first response; then today's open queue."""
        y = team_digest(inquiries, now, self.team_timezone, self.policy)
        open_ = [i for i in inquiries if i.triage.is_inquiry and not i.status.closed]
        overdue = [i for i in open_ if sla_state(i, now, self.policy) is SlaState.BREACHED]
        by_owner = Counter(i.owner for i in open_ if i.owner)
        deadlines = {i.id: dl for i in open_ if (dl := deadline(i, self.policy)) is not None}
        markets = ", ".join(
            f"{names.market_label(m.value, self.lang)} {n}"
            for m, n in sorted(y.new_by_market.items(), key=lambda kv: kv[0].value)
        )
        tiers = ", ".join(
            f"{(t.value if t else '-')} {n}"
            for t, n in sorted(y.new_by_tier.items(), key=lambda kv: str(kv[0]))
        )
        median = (
            i18n.t("stats.hours", self.lang, n=f"{y.median_first_response.total_seconds() / 3600:.1f}")
            if y.median_first_response is not None
            else "—"
        )
        yesterday = i18n.t(
            "digest.team.yesterday",
            self.lang,
            day=y.day.isoformat(),
            new=i18n.tn("digest.new_inquiries", self.lang, y.new_total),
            markets=markets or "—",
            tiers=tiers or "—",
            breaches=y.breaches,
            median=median,
        )
        messages = team_digest_messages(
            self.lang,
            open_count=len(open_),
            unclaimed=[i for i in open_ if i.owner is None],
            overdue=overdue,
            by_owner=dict(by_owner),
            now=now,
            answered_within_sla=(y.answered_within_sla, y.first_responses),
            deadlines=deadlines,
            yesterday=yesterday,
        )
        for n, (text, blocks) in enumerate(messages):  # a long digest: several messages, in order
            key = f"team-digest:{y.day.isoformat()}"
            self.outbox.enqueue(
                key if n == 0 else f"{key}:{n + 1}",
                "channel_message",
                None,
                {"text": text, "blocks": blocks},
                now + timedelta(microseconds=n),
            )
        self.send_filtered(inquiries, now)

    def send_filtered(self, inquiries: list[Inquiry], now: datetime) -> None:
        """Yesterday's filtered mail: one line with counts and a rescue button per item."""
        since = now - timedelta(days=1)
        recent = [i for i in inquiries if i.triage.lane is Lane.FILTERED and i.created_at >= since]
        if not recent:
            return
        counts = Counter(i.triage.category.value for i in recent)
        items = [(i.id, i.triage.category.value, i.buyer_addr, i.subject) for i in recent]
        text, blocks = filtered_summary(dict(counts), items, self.lang)
        self.outbox.enqueue(
            f"filtered:{now.date().isoformat()}",
            "channel_message",
            None,
            {"text": text, "blocks": blocks},
            now,
        )

    def stats(self, period: str, chat: Chat | None = None) -> str:
        try:
            days = parse_stats_period(period)
        except ValueError as e:
            raise UsageError(str(e)) from e
        now = self.clock()
        inquiries = list(self.store.all_inquiries())
        s = compute_stats(inquiries, now, days, self.policy)
        filtered = Counter(
            i.triage.category.value
            for i in inquiries
            if i.triage.lane is Lane.FILTERED and i.created_at >= now - timedelta(days=days)
        )
        median = s.first_response_median.total_seconds() / 60 if s.first_response_median else None
        by_market = Counter(
            i.triage.market.value
            for i in inquiries
            if i.triage.is_inquiry and i.created_at >= now - timedelta(days=days)
        )
        text = stats_text(
            self.lang,
            days=days,
            received=s.inquiries,
            answered=s.first_responses,
            within_sla=s.compliance.within,
            median_first_response_minutes=median,
            by_tier={(k.value if k else "-"): v for k, v in s.tier_mix.items()},
            by_market={names.market_label(k, self.lang): v for k, v in by_market.items()},
            won=s.won,
            lost=s.lost,
            filtered=dict(filtered),
            overturned=asdict(overturned(inquiries, now, days)),
            in_review=sum(1 for i in inquiries if i.triage.lane is Lane.REVIEW),
        )
        if chat is not None:
            from bot.blocks.chart import weekly_chart_png

            chat.upload_png(
                self.channel,
                "inquiries-weekly.png",
                weekly_chart_png(inquiries, now, 8, self.policy, lang=self.lang),
                i18n.t("chart.title", self.lang),
            )
        return text
