"""Secrets and email bodies never reach the logs.

The whole desk runs with recognisable secrets configured (Slack token, signing secret, LLM
key, IMAP password) and every log record at DEBUG captured, third-party loggers at the levels
``inquiry-bot run`` gives them. It ingests every bundled sample, posts cards through a fake
Slack that rate-limits and fails now and then, takes claims and commands, drafts with the
model and with the model failing, opens the App Home with Slack refusing, and tries to reach
an IMAP server that is not there. Then no record (message, args, exception text) holds a
secret or a distinctive sentence of any email body.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from slack_bolt import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.adapters.mail.imap_source import FetchedMessage, MailboxWatcher
from bot.adapters.mail.watching import StoreMailSink, imap_settings
from bot.app.wiring import Desktop
from bot.intake.parse import parse_email
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import FORM, slash_body, wait_until

SLACK_TOKEN = "xoxb-SECRET-123"
SIGNING_SECRET = "SIGNING-SECRET-321"
LLM_KEY = "sk-SECRET-456"
IMAP_PASSWORD = "PASSW0RD-789"
SECRETS = (SLACK_TOKEN, SIGNING_SECRET, LLM_KEY, IMAP_PASSWORD, "SECRET-123", "SECRET-456", "PASSW0RD")
# The levels bot.app.cli.main gives third-party loggers (their DEBUG output is theirs to redact).
NOISY = ("slack_bolt", "slack_sdk", "apscheduler", "httpx2", "openai")


def samples() -> list[bytes]:
    folder = resources.files("bot.app").joinpath("samples")
    return [p.read_bytes() for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".eml")]


def body_sentences(raw: bytes) -> list[str]:
    """Distinctive lines of a sample's body (long enough not to occur by chance)."""
    parsed = parse_email(raw)
    lines = [line.strip() for line in (parsed.new_text or parsed.text).splitlines()]
    return [line for line in lines if len(line) >= 25][:5]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slash(desktop: Desktop, text: str) -> int:
    body = slash_body(text)
    ts = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    headers: dict[str, str | Sequence[str]] = {
        "content-type": FORM,
        "x-slack-signature": signature or "",
        "x-slack-request-timestamp": ts,
    }
    return desktop.app.dispatch(BoltRequest(body=body, headers=headers)).status


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), record.msg if isinstance(record.msg, str) else ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def production_log_levels() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in NOISY]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)


@pytest.fixture
def desktop_env(llm_server: FakeLlmServer) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "OWN_DOMAINS": "brightway-led.com",
        "OPENAI_API_KEY": LLM_KEY,
        "OPENAI_BASE_URL": llm_server.base_url,
        "OPENAI_MODEL": "test-model",
        "OPENAI_TIMEOUT_SECONDS": "2",
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(closed_port()),
        "IMAP_SSL": "false",
        "IMAP_USER": "sales@brightway-led.com",
        "IMAP_PASSWORD": IMAP_PASSWORD,
    }


def test_no_secret_and_no_email_body_reaches_the_logs(
    desktop: Desktop,
    slack_server: FakeSlack,
    llm_server: FakeLlmServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert desktop.config.imap is not None and desktop.config.imap.password == IMAP_PASSWORD

    # Mail in: every sample, through the parser, the ingestor and the raw-mail archive.
    raws = samples()
    sentences = [s for raw in raws for s in body_sentences(raw)]
    assert len(sentences) > 20
    now = datetime.now(UTC)
    inquiry_ids: list[str] = []
    for uid, raw in enumerate(raws, start=1):
        fetched = FetchedMessage(uid, raw, now - timedelta(minutes=uid), (), len(raw), False)
        result = desktop.ingestor.deliver("INBOX", fetched)
        if result.outcome == "new" and result.inquiry_id:
            inquiry_ids.append(result.inquiry_id)
    assert len(inquiry_ids) >= 5

    # Cards out, with Slack rate-limiting, failing once and refusing the App Home.
    slack_server.rate_limit(1, retry_after=1, method="chat.postMessage")
    slack_server.outage(1, status=503, method="chat.postMessage")
    slack_server.fail_method("views.publish", "invalid_auth")
    stop = threading.Event()
    worker = threading.Thread(target=desktop.worker.run, args=(stop,), name="delivery", daemon=True)
    worker.start()
    try:
        wait_until(lambda: desktop.outbox.pending_count() == 0, 20, "cards delivered")

        # People: claims, commands (good and bad), the App Home, drafts with and without the model.
        first, second = inquiry_ids[0], inquiry_ids[1]
        desktop.services.desk.claim(first, "UALICE")
        for text in (f"claim {second}", f"note {second} call the buyer", f"history {first}", "bogus", "mine"):
            assert slash(desktop, text) == 200
        desktop.services.home.publish("UALICE")
        llm_server.reply(
            json.dumps(
                {
                    "draft": "Dear buyer, thank you for your inquiry; our quotation follows.",
                    "translation_of_email": "",
                    "translation_of_draft": "",
                }
            )
        )
        desktop.services.drafting.run_draft(first, "UALICE")
        llm_server.fail(500, times=10)
        desktop.services.drafting.run_draft(second, "UBOB")
        wait_until(lambda: desktop.outbox.pending_count() == 0, 20, "notes delivered")
    finally:
        stop.set()
        worker.join(timeout=10)

    # The mailbox is unreachable: the watcher logs the problem and keeps the password to itself.
    assert desktop.config.imap is not None
    settings = imap_settings(desktop.config.imap, "INBOX")
    watcher = MailboxWatcher(settings, StoreMailSink(desktop.store, desktop.ingestor))
    with pytest.raises(OSError):
        watcher.catch_up()
    stop_watch = threading.Event()
    watcher = MailboxWatcher(
        settings,
        StoreMailSink(desktop.store, desktop.ingestor),
        on_state=lambda state: stop_watch.set() if state == "reconnecting" else None,
    )
    watcher.run(stop_watch)

    records = caplog.records
    text = "\n".join(record_text(r) for r in records)
    assert len([r for r in records if r.name.startswith("bot")]) > 20, "the pipeline did log"
    assert any("connection problem" in r.getMessage() for r in records), "the IMAP failure was logged"
    assert any(r.levelno >= logging.WARNING and r.name.startswith("bot") for r in records)
    for secret in SECRETS:
        assert secret not in text, f"secret {secret!r} in the logs"
    leaked = [s for s in sentences if s in text]
    assert not leaked, f"email body text in the logs: {leaked[:3]}"
