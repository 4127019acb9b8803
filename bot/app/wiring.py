"""Composition root for ``inquiry-bot run``: builds every part once and wires them.

Threads: one mailbox watcher per folder (INBOX, Sent), one delivery worker, the
APScheduler background scheduler (SLA tick, digest tick), and Bolt (Socket Mode or HTTP).
SIGTERM/SIGINT set one stop event; everything shuts down in order.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.adapters.mail.outgoing import ImapWriter, OutgoingMail, SmtpSender
from bot.adapters.mail.watching import connection
from bot.adapters.slack.bolt_log import bolt_logger
from bot.adapters.slack.chat import SlackChat
from bot.adapters.store.coordination import LocalCoordination
from bot.app.coordination import claim_instance, coordination_for, led_job
from bot.app.store import open_configured
from bot.blocks.render import Renderer
from bot.config.routing_rules import parse_rules
from bot.config.settings import Config
from bot.core.i18n import t
from bot.desk.backlog import from_config as backlog_from_config
from bot.desk.backlog_delivery import backlog_kinds
from bot.desk.delivery import DeliveryWorker
from bot.desk.desk import Desk
from bot.desk.digests import Digests
from bot.desk.draft_sending import DraftSending, QuoteGate
from bot.desk.drafting_jobs import DraftingJobs
from bot.desk.home_pages import HomePages
from bot.desk.ingest import Ingestor
from bot.desk.learning import Learning
from bot.desk.outbox import Outbox
from bot.desk.ports import Coordination, Store
from bot.desk.prework import Prework
from bot.desk.reminders import Reminders
from bot.desk.routing import Router
from bot.desk.triage_context import Trust, load_screener, triage_config
from bot.handlers import actions, commands, drafts, home
from bot.handlers import backlog as backlog_handlers
from bot.handlers.services import Services
from bot.records.audit import AuditTrail
from bot.records.audit_anchor import AuditAnchor
from bot.sla.engine import SlaPolicy, parse_warn_at
from bot.triage.second_opinion import SecondOpinion
from bot.trust.quote_risk import QuotePolicy

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

SOCKET_WATCHDOG_SECONDS = 30


def utcnow() -> datetime:
    return datetime.now(UTC)


def sla_policy(config: Config) -> SlaPolicy:
    return SlaPolicy(
        hours=dict(config.sla_hours),
        warn_at=parse_warn_at(config.sla_warn_at),
        calendars=dict(config.sla_calendars),
    )


@dataclass
class Desktop:
    """Everything built for one process (also used by tests, with fakes at the edges)."""

    config: Config
    store: Store
    outbox: Outbox
    ingestor: Ingestor
    services: Services
    worker: DeliveryWorker
    reminders: Reminders
    app: App
    anchor: AuditAnchor | None = None
    audit: AuditTrail | None = None  # the store's audit sink
    coordination: Coordination | None = None  # several instances on one store (issue #15)


def verify_token(client: WebClient) -> None:
    """Check the bot token at start-up, as Bolt's ``token_verification_enabled`` would, except
    that a Slack outage (429, 5xx, unreachable) only logs a warning: mail must keep flowing into
    the store while Slack is down, and Bolt then authorises on the first request instead."""
    try:
        client.auth_test()
    except SlackApiError as e:
        status = int(getattr(e.response, "status_code", 0) or 0)
        if status == 429 or status >= 500:
            log.warning("Slack is unavailable at start-up (auth.test: HTTP %d); starting anyway", status)
            return
        raise BoltError(f"the Slack bot token was refused (auth.test: {e.response.get('error')})") from e
    except OSError as e:
        log.warning("Slack is unreachable at start-up (%s); starting anyway", type(e).__name__)


def build_second_opinion(config: Config) -> SecondOpinion | None:
    """The model's second opinion on grey-zone mail (issue #12), when a model is configured.
    Its own client with a short timeout: the watcher waits for it."""
    if config.llm is None:
        return None
    from bot.adapters.llm_openai import OpenAILlm

    llm = OpenAILlm(
        config.llm.api_key or "not-needed",
        config.llm.base_url,
        config.llm.model,
        timeout=min(config.llm.timeout_seconds, 15.0),
        max_retries=0,
    )
    return SecondOpinion(llm)


def build_drafting(
    config: Config,
    store: Store,
    outbox: Outbox,
    chat: SlackChat,
    clock: Callable[[], datetime],
    coordination: Coordination | None = None,
) -> tuple[DraftingJobs, DraftSending]:
    """Drafting jobs (one LLM client for the process, timeouts and retries set, or offline
    templates) and draft sending (SMTP and IMAP APPEND behind the ``Mailer`` port)."""
    from bot.adapters.llm_openai import OpenAILlm
    from bot.drafting.service import Drafter

    llm = None
    if config.llm is not None:
        llm = OpenAILlm(
            config.llm.api_key or "not-needed",
            config.llm.base_url,
            config.llm.model,
            timeout=config.llm.timeout_seconds,
        )
    spec, tokens = connection(config, store, coordination) if config.imap else (None, None)
    from_addr = (config.smtp.from_addr if config.smtp else None) or (config.imap.user if config.imap else "")
    mailer = OutgoingMail(
        smtp=SmtpSender(config.smtp, tokens=tokens) if config.smtp else None,
        imap=ImapWriter(config.imap, spec, tokens) if config.imap and spec else None,
    )
    gate = QuoteGate(QuotePolicy.load(), config.quote_rates)
    drafts = store.drafts
    jobs = DraftingJobs(
        store,
        drafts,
        outbox,
        Drafter(llm),
        clock,
        lang=config.team_language,
        rep_name=chat.user_name,
        gate=gate,
    )
    sending = DraftSending(
        store, drafts, outbox, mailer, clock, from_addr=from_addr or "", rep_name=chat.user_name, gate=gate
    )
    return jobs, sending


def build(
    config: Config,
    *,
    web_client: WebClient | None = None,
    token_verification: bool = True,
    min_interval: float | None = None,
    coordination: Coordination | None = None,
) -> Desktop:
    assert config.slack is not None
    now = utcnow
    store, audit = open_configured(config)  # STORE_URL: TinyDB (default) or PostgreSQL
    coordination = coordination or coordination_for(store)
    outbox = Outbox(store)
    policy = sla_policy(config)
    renderer = Renderer(policy, config.team_language, config.sla_team_mention)
    client = web_client or WebClient(
        token=config.slack.bot_token,
        base_url=config.slack.api_url or WebClient.BASE_URL,
        timeout=15,
    )
    # Only the delivery worker's client sleeps on 429; Bolt's must answer clicks at once.
    worker_client = WebClient(token=client.token, base_url=client.base_url, timeout=15)
    worker_client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    chat = SlackChat(worker_client)
    drafting, sending = build_drafting(config, store, outbox, chat, now, coordination)
    backlog = backlog_from_config(config, store, outbox, now)  # old mail: one summary (issue #16)
    kinds = drafting.delivery_kinds()  # the drafting placeholder, the draft, its follow-ups
    if backlog is not None:
        kinds |= backlog_kinds(backlog, now, config.team_language)  # the summary, its release
    worker = DeliveryWorker(
        store,
        outbox,
        chat,
        config.slack.channel,
        now,
        renderer.card,
        renderer.note,
        min_interval=config.slack.post_interval if min_interval is None else min_interval,
        review_channel=config.slack.review_channel,
        render_review=renderer.review,
        kinds=kinds,
        # Several instances: posts paced per channel across all of them; fewer items claimed at
        # a time, so a claim's lease outlives the shared pacing of the items it holds.
        pace=coordination.pace if coordination.shared else None,
        claim_limit=5 if coordination.shared else 20,
    )
    outbox.on_enqueue(worker.wake.set)  # owed posts go out at once, not at the next poll
    router = Router(parse_rules(config.routing_rules), store) if config.routing_rules else None
    desk = Desk(
        store,
        outbox,
        now,
        config.admins,
        config.team_language,
        channel=config.slack.channel,
        router=router,
        learning=Learning(store, config.own_domains),
    )
    sent = {config.imap.sent_folder} if config.imap and config.imap.sent_folder else set()
    ingestor = Ingestor(
        store,
        outbox,
        triage_config(config),
        now,
        keep_raw=True,
        sent_folders=frozenset(sent),
        router=router,
        trust=Trust(config, load_screener(config)),
        prework=Prework(triage_config(config)),
        second_opinion=build_second_opinion(config),
        backlog=backlog,
    )

    def member_tz(user: str) -> str:
        return reminders.tz_of(user)  # bound below: the digests and the reminders need each other

    digests = Digests(
        store,
        outbox,
        policy,
        config.team_language,
        config.slack.channel,
        now,
        member_tz,
        team_timezone=config.team_timezone,
    )
    reminders = Reminders(
        store,
        outbox,
        policy,
        now,
        admins=config.admins,
        chat=chat,
        digest_time=config.digest_time,
        team_timezone=config.team_timezone,
        send_digests=digests.send_owner,
        send_team_digest=digests.send_team,
    )

    def stats(period: str, user: str) -> str:
        return digests.stats(period, chat)

    if token_verification:
        verify_token(client)
    app = App(
        client=client,
        signing_secret=config.slack.signing_secret or "unused-in-socket-mode",
        token_verification_enabled=False,  # done above; Bolt's own check dies on a Slack outage
        listener_executor=ThreadPoolExecutor(max_workers=16),
        process_before_response=False,
        logger=bolt_logger(),  # never a request body in the log, at any level
    )
    home_pages = HomePages(
        store, policy, now, config.team_language, SlackChat(app.client), digest_time=config.digest_time
    )
    services = Services(
        store=store,
        outbox=outbox,
        desk=desk,
        renderer=renderer,
        policy=policy,
        clock=now,
        lang=config.team_language,
        channel=config.slack.channel,
        admins=config.admins,
        drafting=drafting,
        sending=sending,
        home=home_pages,
        stats=stats,
        wake_delivery=worker.wake.set,
    )
    drafts.register(app, services)
    actions.register(app, services)
    commands.register(app, services)
    home.register(app, services)
    if backlog is not None:
        backlog_handlers.register(app, services, backlog)

    @app.error
    def on_error(error: Exception) -> None:
        log.error("listener failed: %s", type(error).__name__, exc_info=error)

    anchor = AuditAnchor(
        store,
        outbox,
        config.audit_anchor_channel or config.slack.channel,
        now,
        audit=audit,
        team_timezone=config.team_timezone,
        lang=config.team_language,
    )
    return Desktop(
        config, store, outbox, ingestor, services, worker, reminders, app, anchor, audit, coordination
    )


def revoked_notice(outbox: Outbox, lang: str, clock: Callable[[], datetime]) -> Callable[[Exception], None]:
    """What the watchers call when the mailbox's OAuth refresh token is revoked: a message in
    the channel (once a day) saying how to sign in again; the watcher logs it too."""

    def notify(error: Exception) -> None:
        now = clock()
        outbox.enqueue(
            f"oauth-revoked:{now.date().isoformat()}",
            "channel_message",
            None,
            {"text": t("oauth.revoked", lang)},
            now,
        )

    return notify


def http_options(config: Config) -> dict[str, Any]:
    """Keyword arguments for :class:`SlackHttpServer` from the ``BOT_HTTP_*`` settings."""
    from bot.adapters.slack.http_server import HttpLimits

    assert config.slack is not None
    sl = config.slack
    limits = HttpLimits(
        max_body_bytes=sl.http_max_body_bytes,
        timeout_seconds=sl.http_timeout_seconds,
        max_connections=sl.http_max_connections,
    )
    return {"host": sl.http_host, "limits": limits}


def login_refused_notice(
    outbox: Outbox, lang: str, clock: Callable[[], datetime]
) -> Callable[[Exception], None]:
    """What the watchers call when the mailbox refuses the login (wrong password, app password
    needed): a message in the channel, once a day while it lasts; the watcher logs it too."""

    def notify(error: Exception) -> None:
        now = clock()
        outbox.enqueue(
            f"imap-login-refused:{now.date().isoformat()}",
            "channel_message",
            None,
            {"text": t("imap.login_refused", lang)},
            now,
        )

    return notify


def run_app(config: Config) -> int:  # pragma: no cover - exercised by the end-to-end test
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.adapters.mail.watching import start_watchers

    # TinyDB: this process's lock on DATA_DIR first (a second process refuses to start).
    desk = build(config, coordination=claim_instance(config))
    coordination = desk.coordination
    assert coordination is not None
    assert config.slack is not None
    http = None
    link = None
    if config.slack.socket_mode:
        # Before any thread starts: a refused app token is a configuration error (exit 2);
        # Slack being down is not (the link keeps trying while mail flows into the store).
        from bot.adapters.slack.socket_mode import SocketLink

        link = SocketLink(desk.app, config.slack.app_token or "", watch_seconds=SOCKET_WATCHDOG_SECONDS)
        link.start()
    else:
        # Bound before any thread starts: a busy port is a configuration error (exit 2).
        from bot.adapters.slack.http_server import SlackHttpServer

        http = SlackHttpServer(desk.app, config.slack.http_port, **http_options(config))
    # The store's indexes are long-lived: keep them out of every full GC pass (a pass over
    # 100,000 summaries costs a click 100-300 ms otherwise).
    gc.collect()
    gc.freeze()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=desk.worker.run, args=(stop,), name="delivery", daemon=True)]
    if desk.ingestor.prework is not None and config.imap is not None:
        # The mail workers warm up (imports, language profiles) while the watchers log in, so
        # the first mail (or a start-up backlog) does not wait seconds for them.
        desk.ingestor.prework.start()

    on_revoked = revoked_notice(desk.outbox, config.team_language, utcnow)

    on_refused = login_refused_notice(desk.outbox, config.team_language, utcnow)
    threads += start_watchers(  # on several instances: each folder on its leader (issue #15)
        config,
        desk.store,
        desk.ingestor,
        stop,
        on_revoked=on_revoked,
        on_login_refused=on_refused,
        coordination=coordination,
    )
    for th in threads:
        if not th.is_alive():
            th.start()
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule_jobs(config, desk, scheduler)
    scheduler.start()
    if link is not None:
        link.run(stop)  # watchdog: rebuilds the connection whenever it is gone
    else:
        assert http is not None
        http.serve_until(stop)
    scheduler.shutdown(wait=True)
    for th in threads:
        th.join(timeout=10)
    if desk.ingestor.prework is not None:
        desk.ingestor.prework.close()
    coordination.close()
    desk.store.close()
    log.info("stopped")
    return 0


def schedule_jobs(config: Config, desk: Desktop, scheduler: BackgroundScheduler) -> None:
    """Every periodic job of the desk on ``scheduler``; with several instances, each job runs on
    the one instance leading it (:func:`bot.app.coordination.led_job`)."""
    coordination = desk.coordination or LocalCoordination()
    job = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60, "replace_existing": True}
    scheduler.add_job(
        led_job(coordination, "sla_tick", desk.reminders.sla_tick),
        "interval",
        seconds=config.sla_tick_seconds,
        id="sla_tick",
        next_run_time=utcnow(),
        **job,
    )
    scheduler.add_job(
        led_job(coordination, "digest_tick", desk.reminders.digest_tick),
        "interval",
        seconds=60,
        id="digest_tick",
        **job,
    )
    if desk.anchor is not None:  # the chain's head witnessed in Slack once a day
        scheduler.add_job(
            led_job(coordination, "audit_anchor", desk.anchor.tick),
            "interval",
            seconds=60,
            id="audit_anchor",
            next_run_time=utcnow(),
            **job,
        )
    if config.retention_days:
        from bot.records.privacy import purge_closed_bodies

        days = config.retention_days

        def retention() -> None:
            now = utcnow()
            if coordination.once("retention", now.strftime("%Y-%m-%dT%H")):  # one pass an hour
                purge_closed_bodies(desk.store, now, days, min_interval=timedelta(0), audit=desk.audit)

        scheduler.add_job(
            led_job(coordination, "retention", retention),
            "interval",
            seconds=300,
            id="retention",
            **job,
        )
    scheduler.add_job(
        led_job(coordination, "send_tick", desk.services.sending.send_due),
        "interval",
        seconds=30,
        id="send_tick",
        **job,
    )
