"""Wires the IMAP watchers to the store: the sink adapter and the watcher threads.

INBOX mail goes through :class:`bot.ingest.Ingestor`; the Sent folder (found by
SPECIAL-USE or a known, possibly localized name) is watched too, so a reply sent from
any mail client stops the SLA clock.
"""

from __future__ import annotations

import logging
import threading

from bot.config import Config, ImapConfig
from bot.ingest import Ingestor
from bot.mail.imap_source import Checkpoint, FetchedMessage, ImapSettings, MailboxWatcher
from bot.store.repo import Store

log = logging.getLogger(__name__)


class StoreMailSink:
    """The watcher's sink: checkpoints in the store, messages through the ingestor."""

    def __init__(self, store: Store, ingestor: Ingestor, *, sent: bool = False) -> None:
        self.store = store
        self.ingestor = ingestor
        self.sent = sent

    def checkpoint(self, folder: str) -> Checkpoint | None:
        found = self.store.checkpoint(folder)
        return Checkpoint(*found) if found else None

    def deliver(self, folder: str, fetched: FetchedMessage) -> None:
        if self.sent:
            from bot.mail.parse import parse_email

            self.ingestor.record_sent(
                parse_email(fetched.raw), fetched.internaldate, folder=folder, uid=fetched.uid
            )
        else:
            self.ingestor.deliver(folder, fetched)

    def save_checkpoint(self, folder: str, checkpoint: Checkpoint) -> None:
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


def find_sent_folder(imap: ImapConfig) -> str | None:
    if imap.sent_folder:
        return imap.sent_folder
    from imapclient import IMAPClient

    from bot.mail.folders import find_folder

    try:
        with IMAPClient(imap.host, port=imap.port, ssl=imap.ssl, timeout=15) as client:
            client.login(imap.user, imap.password)
            return find_folder(client, "sent")
    except Exception as e:  # reported, and the inbox is still watched
        log.error("could not look up the Sent folder: %s", type(e).__name__)
        return None


def start_watchers(
    config: Config, store: Store, ingestor: Ingestor, stop: threading.Event
) -> list[threading.Thread]:
    if config.imap is None:
        log.warning("IMAP_HOST is not set: no mailbox is watched")
        return []
    threads = []
    inbox = MailboxWatcher(imap_settings(config.imap, config.imap.folder), StoreMailSink(store, ingestor))
    threads.append(threading.Thread(target=inbox.run, args=(stop,), name="imap-inbox", daemon=True))
    sent_folder = find_sent_folder(config.imap)
    if sent_folder:
        ingestor.sent_folders = ingestor.sent_folders | {sent_folder}
        sent = MailboxWatcher(
            imap_settings(config.imap, sent_folder), StoreMailSink(store, ingestor, sent=True)
        )
        threads.append(threading.Thread(target=sent.run, args=(stop,), name="imap-sent", daemon=True))
        log.info("watching %s and %s", config.imap.folder, sent_folder)
    for th in threads:
        th.start()
    return threads
