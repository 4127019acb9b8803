"""The services a Slack handler may call, bundled once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.blocks.render import Renderer
from bot.desk.desk import Desk
from bot.desk.outbox import Outbox
from bot.desk.ports import Store
from bot.sla.engine import SlaPolicy


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
    wake_delivery: Callable[[], None] = lambda: None
    drafting: Any = None  # bot.desk.drafting_flow.DraftingFlow when wired
    extras: dict[str, Any] = field(default_factory=dict)
