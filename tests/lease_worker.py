"""A delivery worker on PostgreSQL, to be SIGKILLed mid-delivery by
``tests/integration/test_pg_outbox_lease.py`` (a script, not collected); also its worker factory.

Usage: ``python -m tests.lease_worker STORE_URL SLACK_API_URL LEASE_S``

Opens the store with outbox leases of ``LEASE_S`` seconds, prints ``instance <lease holder id>``
and runs the delivery worker's loop (:meth:`bot.desk.delivery.DeliveryWorker.run`) until killed.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.adapters.store.postgres.store import PostgresStore
from bot.blocks.render import Renderer
from bot.desk.delivery import DeliveryWorker
from bot.desk.outbox import Outbox
from bot.sla.engine import SlaPolicy

CHANNEL = "CINQ"


def lease_worker(store: PostgresStore, slack_api_url: str) -> DeliveryWorker:
    """The desk's delivery worker on ``store``, posting to the (fake) Slack at ``slack_api_url``."""
    renderer = Renderer(SlaPolicy(), "en")
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_api_url))
    return DeliveryWorker(
        store,
        Outbox(store),
        chat,
        CHANNEL,
        lambda: datetime.now(UTC),
        renderer.card,
        renderer.note,
        min_interval=0,
        claim_limit=5,
    )


def main(argv: list[str]) -> int:
    url, slack_api_url, lease_s = argv
    store = PostgresStore(url)
    store.outbox.lease_s = float(lease_s)
    worker = lease_worker(store, slack_api_url)
    print("instance", store.outbox.instance, flush=True)
    worker.run(threading.Event())  # until SIGKILL
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
