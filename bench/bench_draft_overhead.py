"""What the bot adds around the model call when drafting (target: under 100 ms).

Runs ``DraftingJobs.run_draft`` end to end, then the delivery worker until nothing is owed —
load the inquiry, build the prompt, call the model, parse and check its JSON, store the draft,
post the placeholder and the draft to Slack through the outbox — with the real ``openai``
client against the loopback chat-completions server and the real ``slack_sdk`` client against
the loopback Slack. The model call is timed on its own (wrapped adapter); overhead = total −
model call.

    python bench/bench_draft_overhead.py [--n 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk import WebClient

from bench.common import Row, machine_line, ms, percentile, print_table
from bot.adapters.llm_openai import OpenAILlm
from bot.adapters.slack.chat import SlackChat
from bot.app.store import open_store
from bot.core.models import Inquiry
from bot.desk.delivery import DeliveryWorker
from bot.desk.draft_sending import QuoteGate
from bot.desk.drafting_jobs import DraftingJobs
from bot.desk.outbox import Outbox
from bot.desk.ports import Blocks
from bot.drafting.llm import Completion
from bot.drafting.service import Drafter
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import make_inquiry

REPLY = json.dumps(
    {
        "draft": "Sehr geehrte Frau Schmidt,\n\nvielen Dank für Ihre Anfrage.\n\nMit freundlichen Grüßen",
        "translation_of_email": "We need 2,000 panels.",
        "translation_of_draft": "Thank you.",
    }
)


class TimedLlm:
    def __init__(self, inner: OpenAILlm) -> None:
        self.inner = inner
        self.spent: list[float] = []

    def complete(self, messages: list[dict[str, str]], **kw: Any) -> Completion:
        start = time.perf_counter()
        try:
            return self.inner.complete(messages, **kw)
        finally:
            self.spent.append(time.perf_counter() - start)


def _unused(inq: Inquiry, *_: Any) -> tuple[str, Blocks]:
    raise AssertionError(f"drafting renders no card or note (inquiry {inq.id})")


def deliver(worker: DeliveryWorker) -> None:
    while worker.run_once():
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    llm_server = FakeLlmServer().start()
    llm_server.reply(REPLY)
    slack = FakeSlack().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp), shards=16)
            store.add(make_inquiry("1", card_ts="1700000000.000001", card_channel="CINQ"))
            llm = TimedLlm(OpenAILlm("sk-test", llm_server.base_url, "bench-model", timeout=10))
            chat = SlackChat(WebClient(token="xoxb-bench", base_url=slack.base_url))
            outbox = Outbox(store)
            clock = lambda: datetime.now(UTC)  # noqa: E731
            jobs = DraftingJobs(
                store,
                store.drafts,
                outbox,
                Drafter(llm),
                clock,
                lang="en",
                rep_name=lambda u: "Li Wei",
                gate=QuoteGate(None),
            )
            worker = DeliveryWorker(
                store,
                outbox,
                chat,
                "CINQ",
                clock,
                _unused,
                _unused,
                min_interval=0,
                kinds=jobs.delivery_kinds(),
            )
            jobs.run_draft("1", "UREP")  # warm-up: imports, connections
            deliver(worker)
            llm.spent.clear()
            totals, overheads = [], []
            for _ in range(args.n):
                start = time.perf_counter()
                jobs.run_draft("1", "UREP")
                deliver(worker)
                total = time.perf_counter() - start
                totals.append(total)
                overheads.append(total - llm.spent[-1])
            store.close()
    finally:
        llm_server.stop()
        slack.stop()
    print(machine_line())
    over_50, over_95 = percentile(overheads, 50) * 1000, percentile(overheads, 95) * 1000
    print_table(
        f"Drafting overhead around the model call ({args.n} drafts)",
        [
            Row("model call (loopback), p50", ms(percentile(llm.spent, 50) * 1000)),
            Row("whole draft, p50", ms(percentile(totals, 50) * 1000)),
            Row("bot overhead, p50", ms(over_50), "< 100 ms", over_50 < 100),
            Row("bot overhead, p95", ms(over_95), "< 100 ms", over_95 < 100),
        ],
    )


if __name__ == "__main__":
    main()
