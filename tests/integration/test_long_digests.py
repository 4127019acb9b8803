"""A long digest reaches Slack as several messages, in order, none too long, no item lost.

Through the real composition root, the outbox and the delivery worker to the loopback fake
Slack: an owner with 60 overdue inquiries (300-character subjects, 200-character names) gets
numbered DMs "(1/2)", "(2/2)" that list every one of them; the team digest with 30 members
and 60 overdue inquiries goes to the channel the same way.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.models import Inquiry
from bot.desk.digests import Digests
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_message_sizes import SENDER_200, SUBJECT_300, assert_message_fits
from tests.slack_helpers import CHANNEL, drain, make_desktop
from tests.unit.test_sla_factory import make_inquiry

NOW = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


def _overdue(n: int, owner: str) -> Inquiry:
    inq = make_inquiry(f"{n}", owner=owner, created_at=NOW - timedelta(days=3))
    return replace(inq, subject=f"{n:02d} {SUBJECT_300}", buyer_name=SENDER_200)


def test_an_owner_digest_with_60_items_arrives_as_numbered_dms_listing_every_item(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    desk = make_desktop(slack_server, tmp_path)
    try:
        inquiries = [_overdue(n, "UOWN") for n in range(1, 61)]
        for inq in inquiries:
            desk.store.add(inq)
        s = desk.services
        digests = Digests(desk.store, s.outbox, s.policy, "en", CHANNEL, lambda: NOW, lambda user: "UTC")
        digests.send_owner("UOWN", inquiries, NOW)
        drain(desk.worker, timeout=30)
        posts = [c for c in slack_server.calls("chat.postMessage") if c.params["channel"] != CHANNEL]
        assert len(posts) >= 2
        for n, post in enumerate(posts, 1):
            assert_message_fits(str(post.params["text"]), post.blocks)
            assert f"({n}/{len(posts)})" in str(post.params["text"])  # in order
        everything = json.dumps([p.blocks for p in posts])
        assert all(everything.count(f"`{i.id}`") == 1 for i in inquiries)
    finally:
        desk.store.close()


def test_a_team_digest_with_30_members_and_60_overdue_lists_them_all(
    slack_server: FakeSlack, tmp_path: Path
) -> None:
    desk = make_desktop(slack_server, tmp_path)
    try:
        inquiries = [_overdue(n, f"U0M{n % 30:02d}") for n in range(1, 61)]
        for inq in inquiries:
            desk.store.add(inq)
        s = desk.services
        digests = Digests(desk.store, s.outbox, s.policy, "en", CHANNEL, lambda: NOW, lambda user: "UTC")
        digests.send_team(inquiries, NOW)
        drain(desk.worker, timeout=30)
        posts = [c for c in slack_server.calls("chat.postMessage") if c.params["channel"] == CHANNEL]
        assert len(posts) >= 2
        for n, post in enumerate(posts, 1):
            assert_message_fits(str(post.params["text"]), post.blocks)
            assert f"({n}/{len(posts)})" in str(post.params["text"])
        everything = json.dumps([p.blocks for p in posts])
        assert all(f"`{i.id}`" in everything for i in inquiries)
        assert all(f"<@U0M{m:02d}>: 2" in everything for m in range(30))
    finally:
        desk.store.close()
