"""Wires the IMAP watchers to the store: the sink adapter and the watcher threads.

At start a short-lived connection looks up the folders (SPECIAL-USE, the provider
preset's names, then known localized names): INBOX and any ``IMAP_EXTRA_FOLDERS`` (such as
Junk) go through :class:`bot.desk.ingest.Ingestor`, each with its own checkpoint; the Sent
folder is watched too, so a reply sent from any mail client stops the SLA clock. One
long-lived IDLE connection per watched folder; writes use their own short-lived one.

Several instances on one store (PostgreSQL): each folder is watched by one instance at a time,
the leader of ``imap:<user>@<host>/<folder>`` (:func:`run_led`); the others ask again every
``LEAD_RETRY_S`` and the first to ask after the leader died resumes from the stored checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from bot.adapters.mail.connect import (
    ConnectionSpec,
    FolderPlan,
    discover_folders,
    make_watcher,
    spec_from_config,
)
from bot.adapters.mail.imap_source import Checkpoint, FetchedMessage, ImapSettings, LoginRejected
from bot.adapters.mail.oauth import OAuthClient, OAuthRevoked, TokenProvider
from bot.adapters.mail.oauth_shared import token_keeper
from bot.config.settings import Config, ImapConfig
from bot.desk.ingest import Ingestor
from bot.desk.ports import Coordination, MetaRepo, Store

log = logging.getLogger(__name__)

#: A follower asks for a folder's lead this often (a dead leader's folder is taken within it).
LEAD_RETRY_S = 3.0
#: The leader checks it still holds the lead this often (its database connection may break).
LEAD_CHECK_S = 2.0


class StoreMailSink:
    """The watcher's sink: checkpoints in the store, messages through the ingestor."""

    def __init__(self, store: Store, ingestor: Ingestor, *, sent: bool = False) -> None:
        self.store = store
        self.ingestor = ingestor
        self.sent = sent
        self._held: dict[str, Checkpoint] = {}
        self._batching = False

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit over one IMAP fetch batch: the records first, then the checkpoint of
        the last message stored (written once, not once per message), then the fsyncs."""
        with self.store.batch():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False
                held, self._held = self._held, {}
                for folder, checkpoint in held.items():
                    self.store.save_checkpoint(folder, checkpoint.uidvalidity, checkpoint.last_uid)

    def prepare(self, folder: str, batch: list[FetchedMessage]) -> None:
        if not self.sent:
            self.ingestor.prepare([m.raw for m in batch])

    def checkpoint(self, folder: str) -> Checkpoint | None:
        found = self.store.checkpoint(folder)
        return Checkpoint(*found) if found else None

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        if self.sent:
            self.ingestor.record_sent(
                self.ingestor.parse(fetched.raw), fetched.internaldate, folder=folder, uid=fetched.uid
            )
        else:
            self.ingestor.deliver(folder, fetched)

    def caught_up(self, folder: str) -> None:
        """The watcher delivered everything the folder had: a backlog batch fed by it may close."""
        if not self.sent and self.ingestor.backlog is not None:
            self.ingestor.backlog.caught_up(folder)

    def save_checkpoint(self, folder: str, checkpoint: Checkpoint) -> None:
        if self._batching:
            self._held[folder] = checkpoint
            return
        self.store.save_checkpoint(folder, checkpoint.uidvalidity, checkpoint.last_uid)


def imap_settings(imap: ImapConfig, folder: str) -> ImapSettings:
    return ImapSettings(
        host=imap.host,
        port=imap.port,
        ssl=imap.ssl,
        user=imap.user,
        password=imap.password,
        folder=folder,
        backfill_hours=imap.backfill_hours,
        idle_renew_seconds=imap.idle_renew_seconds,
        poll_seconds=imap.poll_seconds,
    )


def connection(
    config: Config, store: MetaRepo | None = None, coordination: Coordination | None = None
) -> tuple[ConnectionSpec, TokenProvider | None]:
    """How to reach the mailbox: TLS mode, CA file, and the OAuth2 tokens when configured (kept
    in ``store`` when several instances share it, else in ``DATA_DIR``: :func:`token_keeper`)."""
    assert config.imap is not None
    spec = spec_from_config(config.imap, config.mailbox)
    tokens = None
    if config.oauth is not None:
        keeper = token_keeper(config.data_dir, store, coordination)
        tokens = TokenProvider(OAuthClient(config.oauth), keeper)
    return spec, tokens


def run_led(
    coordination: Coordination,
    role: str,
    work: Callable[[threading.Event], None],
    stop: threading.Event,
    *,
    retry_s: float = LEAD_RETRY_S,
    check_s: float = LEAD_CHECK_S,
    grace_s: float | None = None,
) -> None:
    """Run ``work(until)`` while this instance leads ``role``, until ``stop``. A follower asks for
    the lead every ``retry_s``; a leader that loses it (its connection to the store broke) sets
    ``until``, waits for ``work`` to return, and goes back to asking.

    A new leader waits ``grace_s`` (default: a check period and a second) before it starts: a
    previous leader that is still alive but lost its hold (its connection broke, not its process)
    notices within a check period and stops first, so two watchers never ingest together."""
    grace = check_s + 1.0 if grace_s is None else grace_s
    following = False
    while not stop.is_set():
        try:
            leader = coordination.lead(role)
        except Exception as e:  # the store is unreachable: ask again later
            log.warning("%s: could not ask for the lead (%s)", role, type(e).__name__)
            leader = False
        if not leader:
            if not following:
                log.info("another instance leads %s: asking again every %.0f s", role, retry_s)
                following = True
            stop.wait(retry_s)
            continue
        following = False
        if stop.wait(grace):
            break
        if not coordination.leading(role):
            continue
        log.info("%s: watching as the leader", role)
        until = threading.Event()
        worker = threading.Thread(target=work, args=(until,), name=f"{threading.current_thread().name}-work")
        worker.daemon = True
        worker.start()
        while worker.is_alive() and not stop.wait(check_s):
            if not coordination.leading(role):
                log.warning("%s: lead lost; stopping until it is ours again", role)
                break
        until.set()
        worker.join()
        coordination.resign(role)


def start_watchers(
    config: Config,
    store: Store,
    ingestor: Ingestor,
    stop: threading.Event,
    *,
    on_revoked: Callable[[OAuthRevoked], None] | None = None,
    on_login_refused: Callable[[LoginRejected], None] | None = None,
    coordination: Coordination | None = None,
) -> list[threading.Thread]:
    if config.imap is None:
        log.warning("IMAP_HOST is not set: no mailbox is watched")
        return []
    spec, tokens = connection(config, store, coordination)
    try:
        plan = discover_folders(spec, config.imap, config.mailbox, tokens)
    except Exception as e:  # the inbox is still watched; the watcher retries its own login
        log.error(
            "could not look up the mailbox folders (%s): watching %s only",
            type(e).__name__,
            config.imap.folder,
        )
        plan = FolderPlan((config.imap.folder,), config.imap.sent_folder, config.imap.drafts_folder, None)
    if plan.sent:
        ingestor.sent_folders = ingestor.sent_folders | {plan.sent}
    if ingestor.prework is not None:
        ingestor.prework.start()  # warm workers before the first mail arrives
    threads = []
    for folder in plan.watched:
        sent = folder == plan.sent
        sink = StoreMailSink(store, ingestor, sent=sent)
        watcher = make_watcher(
            spec,
            folder,
            sink,
            tokens,
            on_revoked=on_revoked,
            base=imap_settings(config.imap, folder),
            on_login_refused=on_login_refused,
        )
        name = "imap-sent" if sent else f"imap-{folder}"
        if coordination is None or not coordination.shared:
            threads.append(threading.Thread(target=watcher.run, args=(stop,), name=name, daemon=True))
            continue
        role = f"imap:{config.imap.user}@{config.imap.host}/{folder}"
        threads.append(
            threading.Thread(
                target=run_led, args=(coordination, role, watcher.run, stop), name=name, daemon=True
            )
        )
    log.info("watching %s (sent: %s, drafts: %s)", ", ".join(plan.watched), plan.sent, plan.drafts)
    for th in threads:
        th.start()
    return threads
