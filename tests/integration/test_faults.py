"""The desk loses nothing under faults: ``inquiry-bot run`` as a real process, 500 mails, chaos.

500 mails (400 new buyer inquiries from distinct senders, 100 follow-ups replying with
In-Reply-To to earlier ones) are APPENDed to a real Dovecot INBOX over about 100 seconds
while:

- Dovecot is restarted three times (the appender retries; a retried APPEND may store the
  same mail twice, which the bot must deduplicate by Message-ID);
- the bot (``python -m bot run``, HTTP mode, Slack = the loopback fake) is killed with
  SIGKILL twice at random moments and restarted on the same ``DATA_DIR`` (the second kill
  falls inside the Slack outage, so the bot also has to start while Slack answers 5xx);
- the fake Slack answers 429 with ``Retry-After: 1`` for a minute, then 503 for two minutes;
- the LLM times out: a member clicks "Draft reply" (a signed request to the bot's HTTP
  endpoint) while the model server hangs; the card's thread gets the error with a retry
  button, and the card keeps working.

The SLA clock is live: SEA inquiries (about a quarter) have a 54-second window, so each
gets its warning and breach during the run; EU inquiries have 30 minutes and owe nothing.

Afterwards: every inquiry has exactly one card (identified by the card's message metadata,
mapped to its mail by the subject in the blocks), every follow-up is in its card's thread
exactly once, every SEA inquiry has exactly one breach message (and at most one warning)
in its thread and no EU inquiry has any, the TinyDB files are valid JSON, the store opens
with the right count and the outbox is empty.

Pacing: the production delivery worker spaces posts 1 s apart (Slack's per-channel limit),
which alone would make 600+ posts take ten minutes; the bot runs as ``python -m bot run``
with ``SLACK_POST_INTERVAL_SECONDS=0.02``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.factories import raw_mail
from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.slack_server import Call, FakeSlack
from tests.fixtures_dovecot import Mailbox
from tests.slack_helpers import bot_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHANNEL = "CINQ"
N_NEW = 400
N_FOLLOWUPS = 100
APPEND_SECONDS = 200.0
SEA_SLA_HOURS = 0.015  # 54 s
SEA_EVERY = 4  # every 4th new inquiry is Vietnamese (SEA market)


PRODUCTS = [
    "LED panel 600x600 40W",
    "LED high bay 150W",
    "LED flood light 100W IP65",
    "LED street light 120W",
    "LED tube T8 18W",
    "LED downlight 12W",
    "LED strip 24V 5050",
    "solar street light 60W",
]


@dataclass(frozen=True)
class Mail:
    n: int
    message_id: str
    subject: str
    raw: bytes
    sea: bool = False
    parent: int | None = None  # for follow-ups: ``n`` of the inquiry it replies to
    marker: str = ""  # for follow-ups: a unique word in the body


def _raw(subject: str, body: str, sender: str, msgid: str, in_reply_to: str | None = None) -> bytes:
    return raw_mail(
        body,
        subject=subject,
        from_=sender,
        to="sales@brightway-led.com",
        message_id=msgid,
        date=format_datetime(datetime.now(UTC)),
        in_reply_to=in_reply_to,
        references=in_reply_to,
    )


def new_inquiry(n: int) -> Mail:
    product = PRODUCTS[n % len(PRODUCTS)]
    qty = 500 + 37 * n
    if n % SEA_EVERY == 0:
        subject = f"Yêu cầu báo giá {product} số {n}"
        body = (
            f"Kính gửi Brightway LED,\n\nCông ty chúng tôi cần {qty} cái {product}. "
            "Vui lòng báo giá CIF Hải Phòng và thời gian giao hàng.\n\n"
            f"Trân trọng,\nNguyễn Văn {n}\n+84 28 3822 {1000 + n}"
        )
        sender = f"Nguyen {n} <mua{n}@dienquang{n}.com.vn>"
        msgid = f"<inq-{n}@dienquang{n}.com.vn>"
        return Mail(n, msgid, subject, _raw(subject, body, sender, msgid), sea=True)
    subject = f"Anfrage {product} Projekt {n}"
    body = (
        f"Sehr geehrte Damen und Herren,\n\nwir benötigen {qty} Stück {product} für ein Projekt. "
        "Bitte senden Sie uns Ihr Angebot (FOB Shenzhen), MOQ und Lieferzeit.\n\n"
        f"Mit freundlichen Grüßen\nAnna Becker {n}\nLicht {n} GmbH, München\n+49 89 1234 {n:04d}"
    )
    sender = f"Anna Becker {n} <einkauf{n}@licht{n}.de>"
    msgid = f"<inq-{n}@licht{n}.de>"
    return Mail(n, msgid, subject, _raw(subject, body, sender, msgid))


def follow_up(k: int, parent: Mail) -> Mail:
    marker = f"FOLLOWUP{k:03d}X"
    subject = "Re: " + parent.subject
    body = f"Any news on our request? We could also take 300 pcs more. Ref {marker}.\n"
    domain = parent.message_id.split("@", 1)[1].rstrip(">")
    sender = f"Buyer {parent.n} <{'mua' if parent.sea else 'einkauf'}{parent.n}@{domain}>"
    msgid = f"<fu-{k}@{domain}>"
    raw = _raw(subject, body, sender, msgid, in_reply_to=parent.message_id)
    return Mail(1000 + k, msgid, subject, raw, sea=parent.sea, parent=parent.n, marker=marker)


def mail_plan(rng: random.Random) -> list[Mail]:
    """400 new inquiries with 100 follow-ups interleaved, each at least 20 mails after its parent."""
    news = [new_inquiry(n) for n in range(N_NEW)]
    parents = sorted(rng.sample(range(N_NEW - 40), N_FOLLOWUPS))
    due: dict[int, list[Mail]] = defaultdict(list)
    for k, p in enumerate(parents):
        due[p + rng.randint(20, 40)].append(follow_up(k, news[p]))
    plan: list[Mail] = []
    for n, mail in enumerate(news):
        plan.append(mail)
        plan.extend(due.pop(n, []))
    for rest in due.values():
        plan.extend(rest)
    assert len(plan) == N_NEW + N_FOLLOWUPS
    return plan


# -- harness ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bot:
    """The bot as a child process; one log file per run, all under ``workdir``."""

    post_interval = "0.02"  # seconds between posts to one channel (SLACK_POST_INTERVAL_SECONDS)

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.expected_exit = False
        self.port = 0
        self.draft_clicked_on = ""

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        self.port = _free_port()
        env = {**self.env, "BOT_HTTP_PORT": str(self.port), "SLACK_POST_INTERVAL_SECONDS": self.post_interval}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.expected_exit = False

    def sigkill(self) -> None:
        assert self.proc is not None
        self.expected_exit = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        assert self.proc is not None
        self.expected_exit = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"the bot did not stop within 30 s of SIGTERM\n{self.tail()}")

    def check_alive(self) -> None:
        if self.proc is not None and not self.expected_exit and self.proc.poll() is not None:
            pytest.fail(f"the bot exited on its own ({self.proc.returncode}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def logs(self) -> str:
        return "\n".join(
            (self.workdir / f"bot-{i}.log").read_text(errors="replace") for i in range(1, self.runs + 1)
        )


class Appender(threading.Thread):
    """APPENDs the plan on a schedule, retrying through Dovecot restarts."""

    def __init__(self, mailbox: Mailbox, plan: list[Mail], seconds: float) -> None:
        super().__init__(name="appender", daemon=True)
        self.mailbox = mailbox
        self.plan = plan
        self.gap = seconds / len(plan)
        self.appended_at: dict[str, float] = {}  # message id -> wall-clock time of the last try
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        start = time.monotonic()
        try:
            for i, mail in enumerate(self.plan):
                pause = start + i * self.gap - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                deadline = time.monotonic() + 60
                while True:
                    try:
                        self.appended_at[mail.message_id] = time.time()
                        self.mailbox.append("INBOX", mail.raw)
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise
                        self.retries += 1
                        time.sleep(0.2)
        except BaseException as e:  # reported by the test thread
            self.error = e


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _cards(slack: FakeSlack) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == CHANNEL
        and not c.params.get("thread_ts")
        and (c.params.get("metadata") or {}).get("event_type") == "inquiry_card"
    ]


def _card_subject(card: Call, subjects: dict[str, int]) -> list[int]:
    """Which planned inquiries' subjects the card shows (as ``*subject*`` in its blocks)."""
    found = {
        subjects[piece]
        for text in _strings(card.params.get("blocks") or [])
        for piece in re.findall(r"\*([^*\n]+)\*", text)
        if piece in subjects
    }
    return sorted(found)


def _thread_texts(slack: FakeSlack) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for c in slack.calls("chat.postMessage"):
        ts = c.params.get("thread_ts")
        if ts:
            out[str(ts)].append(str(c.params.get("text", "")))
    return out


def _poll(predicate: Callable[[], bool], timeout: float, what: str, bot: Bot) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        bot.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{bot.tail()}")
        time.sleep(0.5)


# -- the test -----------------------------------------------------------------------------------


def click_draft(bot: Bot, slack: FakeSlack) -> None:
    """A member clicks "Draft reply" on the first card: a signed request to the running bot."""
    import urllib.error
    import urllib.request

    from tests.slack_helpers import block_actions, click, form_body, signed_headers

    card = next(  # an inquiry card (a "check first" card has no Draft button)
        c
        for c in slack.calls("chat.postMessage")
        if not c.params.get("thread_ts") and "inquiry_draft" in json.dumps(c.blocks or [])
    )
    body = form_body(block_actions("UREP", click(card.blocks, "inquiry_draft")))
    deadline = time.monotonic() + 20
    while True:
        headers = {
            k: v[0] if isinstance(v, list) else v
            for k, v in signed_headers(body, "application/x-www-form-urlencoded").items()
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{bot.port}/slack/events", data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                assert answer.status == 200
                bot.draft_clicked_on = str(card.response["ts"])
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_five_hundred_mails_through_restarts_kills_and_slack_outages_lose_nothing(
    mailbox: Mailbox, slack_server: FakeSlack, llm_server: FakeLlmServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FAULTS_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    print(f"faults seed {seed}")
    plan = mail_plan(rng)
    news = {m.n: m for m in plan if m.parent is None}
    followups = [m for m in plan if m.parent is not None]
    data_dir = tmp_path / "data"
    env = bot_env(
        mailbox,
        slack_server,
        data_dir,
        IMAP_SENT_FOLDER="Sent",
        SLACK_SIGNING_SECRET="test-secret",
        SLA_HOURS_SEA=str(SEA_SLA_HOURS),
        SLA_HOURS_EU="0.5",
        SLA_HOURS_US="0.5",
        SLA_HOURS_OTHER="0.5",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm_server.base_url,
        OPENAI_TIMEOUT_SECONDS="1",
    )
    llm_server.delay(30)  # the model hangs: every draft times out
    bot = Bot(env, tmp_path)
    bot.start()
    try:
        _poll(
            lambda: bot.log_path.read_text(errors="replace").count(": connected (uidvalidity") >= 2,
            30,
            "the watchers to connect",
            bot,
        )

        def restart_bot() -> None:
            bot.sigkill()
            bot.start()

        chaos: list[tuple[float, str, Callable[[], None]]] = [
            (10.0, "dovecot restart 1", mailbox.server.restart),
            (rng.uniform(15, 28), "SIGKILL 1", restart_bot),
            (8.0, "draft click while the LLM hangs", lambda: click_draft(bot, slack_server)),
            (30.0, "slack 429 for 60 s", lambda: slack_server.rate_limit(60.0, retry_after=1)),
            (40.0, "dovecot restart 2", mailbox.server.restart),
            (90.0, "slack 503 for 120 s", lambda: slack_server.outage(120.0, status=503)),
            (rng.uniform(100, 180), "SIGKILL 2 (Slack down)", restart_bot),
            (150.0, "dovecot restart 3", mailbox.server.restart),
        ]
        chaos.sort(key=lambda c: c[0])
        appender = Appender(mailbox, plan, APPEND_SECONDS)
        t0 = time.monotonic()
        appender.start()
        for at, what, action in chaos:
            while time.monotonic() - t0 < at:
                bot.check_alive()
                time.sleep(0.1)
            print(f"{time.monotonic() - t0:6.1f}s {what}")
            action()
        while appender.is_alive():
            bot.check_alive()
            appender.join(timeout=0.5)
        assert appender.error is None, f"appending failed: {appender.error!r}"
        print(f"{time.monotonic() - t0:6.1f}s all {len(plan)} mails appended ({appender.retries} retries)")

        # Every SEA deadline must be in the past before "owed" is judged.
        last_sea = max(appender.appended_at[m.message_id] for m in news.values() if m.sea)
        subjects = {m.subject: m.n for m in news.values()}

        def settled() -> bool:
            cards = _cards(slack_server)
            threads = _thread_texts(slack_server)
            if len({(c.params["metadata"]["event_payload"]["inquiry_id"]) for c in cards}) < N_NEW:
                return False
            seen = "\n".join(t for texts in threads.values() for t in texts)
            if not all(m.marker in seen for m in followups):
                return False
            breaches = sum(any("🔴" in t for t in texts) for texts in threads.values())
            return breaches >= len([m for m in news.values() if m.sea]) and time.time() > last_sea + 60

        _poll(settled, 400, "every card, follow-up and breach", bot)
        # Then a quiet period, so a late duplicate would still be counted.
        quiet_since, count = time.monotonic(), len(slack_server.calls("chat.postMessage"))
        while time.monotonic() - quiet_since < 4:
            bot.check_alive()
            time.sleep(0.5)
            now_count = len(slack_server.calls("chat.postMessage"))
            if now_count != count:
                quiet_since, count = time.monotonic(), now_count
        print(f"{time.monotonic() - t0:6.1f}s settled")
    finally:
        code = bot.stop() if bot.proc is not None and bot.proc.poll() is None else None
        mailbox.server.start()
    assert code == 0, bot.tail()

    # -- exactly one card per inquiry, mapped to its mail by subject ---------------------------
    cards = _cards(slack_server)
    per_inquiry = Counter(str(c.params["metadata"]["event_payload"]["inquiry_id"]) for c in cards)
    assert len(per_inquiry) == N_NEW
    assert [i for i, k in per_inquiry.items() if k != 1] == [], "inquiries with more than one card"
    card_of: dict[int, str] = {}
    for c in cards:
        shown = _card_subject(c, subjects)
        assert len(shown) == 1, f"card {c.response['ts']} shows subjects {shown}"
        assert shown[0] not in card_of, f"mail {shown[0]} has two cards"
        card_of[shown[0]] = str(c.response["ts"])
    assert sorted(card_of) == sorted(news)

    # -- the LLM timed out: the thread says so, with a retry button; the card kept working -------
    assert bot.draft_clicked_on, "the draft click was not accepted"
    drafted = [c for c in slack_server.calls("chat.update") if "draft_retry" in json.dumps(c.blocks)]
    assert drafted, "no LLM error with a retry button reached the card's thread"

    # -- every follow-up in its card's thread, once ------------------------------------------
    threads = _thread_texts(slack_server)
    for fu in followups:
        assert fu.parent is not None
        where = [(ts, t) for ts, texts in threads.items() for t in texts if fu.marker in t]
        assert len(where) == 1, f"follow-up {fu.marker}: {len(where)} thread posts"
        assert where[0][0] == card_of[fu.parent], f"follow-up {fu.marker} is in the wrong thread"

    # -- every owed ping sent once, none that was not owed -------------------------------------
    # (A warning is owed only if the bot was up between its time and the breach; restarts here
    # take seconds, so nearly all SEA inquiries get one, but a collapsed one is no fault.)
    warned = sum(any("⏰" in t for t in threads.get(card_of[n], [])) for n, m in news.items() if m.sea)
    assert warned >= 0.9 * sum(m.sea for m in news.values())
    for n, mail in news.items():
        texts = threads.get(card_of[n], [])
        breaches = sum("🔴" in t for t in texts)
        warnings = sum("⏰" in t for t in texts)
        if mail.sea:
            assert breaches == 1, f"SEA inquiry {n}: {breaches} breach messages"
            assert warnings <= 1, f"SEA inquiry {n}: {warnings} warnings"
        else:
            assert (breaches, warnings) == (0, 0), f"EU inquiry {n} got pings it was not owed"

    # -- the store: valid JSON everywhere, opens, right count, nothing left owed ----------------
    from bot.app.store import open_store
    from bot.desk.outbox import Outbox

    files = sorted((data_dir / "store").rglob("*.json"))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as fh:
            json.load(fh)
    store = open_store(data_dir)
    try:
        assert store.count() == N_NEW
        stored = list(store.all_inquiries())
        assert len(stored) == N_NEW
        assert all(inq.triage.is_inquiry and inq.card_ts for inq in stored)
        assert sorted(inq.card_ts or "" for inq in stored) == sorted(card_of.values())
        assert sum(len(inq.messages) for inq in stored) == N_NEW + N_FOLLOWUPS
        assert Outbox(store).pending_count() == 0
        assert Outbox(store).dead() == []
    finally:
        store.close()
    logged = bot.logs()
    assert "Kính gửi" not in logged and "xoxb-test" not in logged
