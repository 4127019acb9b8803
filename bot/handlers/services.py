"""The services a Slack handler may call, bundled once by the composition root (every one typed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.blocks.render import Renderer
from bot.desk.desk import Desk
from bot.desk.draft_sending import DraftSending
from bot.desk.drafting_jobs import DraftingJobs
from bot.desk.home_pages import HomePages
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.sla.engine import SlaPolicy

StatsReply = Callable[[str, str], str]
"""``/inquiries stats PERIOD`` from a member: (period, user) → the reply text (chart posted)."""


@dataclass
class Services:
    store: Store
    outbox: Outbox
    desk: Desk
    renderer: Renderer
    policy: SlaPolicy
    clock: Callable[[], datetime]
    lang: str
    channel: str
    admins: frozenset[str]
    drafting: DraftingJobs
    sending: DraftSending
    home: HomePages
    stats: StatsReply
    wake_delivery: Callable[[], None] = lambda: None
