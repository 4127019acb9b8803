"""The services a Slack handler may call, bundled once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.desk import Desk
from bot.outbox import Outbox
from bot.render import Renderer
from bot.sla.engine import SlaPolicy
from bot.store.repo import Store


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
    drafting: Any = None  # bot.drafting_flow.DraftingFlow when wired
    extras: dict[str, Any] = field(default_factory=dict)
