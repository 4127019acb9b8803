"""The backlog summary's outbox kinds (issue #16), for the delivery worker: post the summary
card once, and owe the batch's cards a chunk at a time when a member asked for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.blocks.backlog import summary_message
from bot.core.models import BacklogCounts
from bot.desk.backlog import RELEASE_KIND, SUMMARY_KIND, Backlog
from bot.desk.delivery import DeliveryWorker, KindHandler, Retry
from bot.desk.outbox import OutboxItem
from bot.desk.ports import Blocks


def backlog_kinds(backlog: Backlog, clock: Callable[[], datetime], lang: str) -> dict[str, KindHandler]:
    def render(batch: str, counts: BacklogCounts, state: dict[str, Any]) -> tuple[str, Blocks]:
        return summary_message(batch, counts, state, clock(), lang)

    def summary(item: OutboxItem, worker: DeliveryWorker) -> None:
        backlog.deliver_summary(item, worker.post_once, render)

    def release(item: OutboxItem, worker: DeliveryWorker) -> None:
        worker.wake.set()  # the cards owed so far start going out
        if not backlog.deliver_release(item, worker.chat.update, render):
            raise Retry(0.0, "owing the next backlog cards")  # after whatever else is due

    return {SUMMARY_KIND: summary, RELEASE_KIND: release}
