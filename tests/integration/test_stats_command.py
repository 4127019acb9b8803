"""``/inquiries stats``: figures as text and the weekly chart uploaded to the channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.handlers.commands import CommandHandler
from tests.fakes.slack_server import FakeSlack
from tests.inquiries import make_inquiry
from tests.slack_helpers import make_desktop


def test_stats_reports_figures_and_uploads_a_png_chart(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = make_desktop(slack_server, tmp_path)
    now = datetime.now(UTC)
    for n in range(1, 7):
        created = now - timedelta(days=n)
        inq = make_inquiry(str(n), created_at=created, owner="UANNA")
        answered = created + timedelta(hours=n)
        desk.store.add(replace(inq, sla_started_at=None, answered_at=answered, first_response_at=answered))
    answer = CommandHandler(desk.services).answer("stats 7d", "UANNA")
    assert "6" in answer  # six inquiries received
    uploads = slack_server.calls("files.completeUploadExternal")
    assert len(uploads) == 1
    files = list(slack_server.uploads.values())
    assert len(files) == 1 and files[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_with_a_bad_period_gets_the_usage(slack_server: FakeSlack, tmp_path: Path) -> None:
    desk = make_desktop(slack_server, tmp_path)
    answer = CommandHandler(desk.services).answer("stats forever", "UANNA")
    assert "/inquiries" in answer
    assert slack_server.calls("files.completeUploadExternal") == []
