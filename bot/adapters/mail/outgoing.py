"""Mail going out: send a composed reply over SMTP, APPEND it to Drafts or Sent.

:class:`OutgoingMail` is the ``Mailer`` of :mod:`bot.desk.ports`; the reply itself is composed
(purely) by :func:`bot.intake.compose.compose_reply`. IMAP writes use a short-lived second
connection, never the watcher's IDLE connection.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from bot.adapters.mail.connect import ConnectionSpec
from bot.adapters.mail.oauth import TokenProvider, smtp_login_xoauth2
from bot.config.settings import ImapConfig, SmtpConfig
from bot.core.errors import MailOutError
from bot.intake.compose import compose_reply

__all__ = ["ImapWriter", "MailOutError", "OutgoingMail", "SmtpSender", "compose_reply"]


class SmtpSender:
    def __init__(
        self,
        config: SmtpConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30,
        tokens: TokenProvider | None = None,
    ) -> None:
        self.config = config
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.tokens = tokens  # XOAUTH2 (Google Workspace, Microsoft 365) instead of a password

    def send(self, msg: EmailMessage) -> None:
        c = self.config
        try:
            if c.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                client = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            with client:
                if c.security == "starttls":
                    client.starttls(context=self.ssl_context)
                if self.tokens is not None and c.user:
                    smtp_login_xoauth2(client, c.user, self.tokens.access_token())
                elif c.user and c.password:
                    client.login(c.user, c.password)
                client.send_message(msg)
        except (smtplib.SMTPException, OSError) as e:
            raise MailOutError(f"SMTP {c.host}:{c.port}: {type(e).__name__}: {e}") from e


class ImapWriter:
    """APPEND to a folder of the shared mailbox on a short-lived connection."""

    def __init__(
        self, config: ImapConfig, spec: ConnectionSpec | None = None, tokens: TokenProvider | None = None
    ) -> None:
        self.config = config
        self.spec = spec or ConnectionSpec(
            host=config.host,
            port=config.port,
            user=config.user,
            password=config.password,
            tls_mode="ssl" if config.ssl else "none",
        )
        self.tokens = tokens

    def append(self, folder_role: str, msg: EmailMessage, flags: Sequence[str]) -> str:
        from bot.adapters.mail.connect import connect
        from bot.adapters.mail.folders import find_folder

        c = self.config
        try:
            with connect(self.spec, self.tokens) as client:
                explicit = c.drafts_folder if folder_role == "drafts" else c.sent_folder
                folder = explicit or find_folder(client, folder_role)
                if not folder:
                    raise MailOutError(
                        f"no {folder_role} folder found: set IMAP_{folder_role.upper()}_FOLDER"
                    )
                client.append(
                    folder, msg.as_bytes(policy=policy.SMTP), flags=tuple(flags), msg_time=datetime.now(UTC)
                )
                return str(folder)
        except MailOutError:
            raise
        except Exception as e:  # imapclient raises many types; all mean "not saved"
            raise MailOutError(f"IMAP {c.host}: {type(e).__name__}: {e}") from e


class OutgoingMail:
    """The ``Mailer`` port over SMTP (sending) and IMAP APPEND (Drafts, Sent); either may be absent."""

    def __init__(self, smtp: SmtpSender | None = None, imap: ImapWriter | None = None) -> None:
        self.smtp = smtp
        self.imap = imap

    @property
    def can_send(self) -> bool:
        return self.smtp is not None

    @property
    def can_file(self) -> bool:
        return self.imap is not None

    def send(self, msg: EmailMessage) -> None:
        if self.smtp is None:
            raise MailOutError("no SMTP server configured (SMTP_HOST) to send with")
        self.smtp.send(msg)

    def append(self, folder_role: str, msg: EmailMessage, flags: Sequence[str]) -> str:
        if self.imap is None:
            raise MailOutError("no mailbox configured (IMAP_HOST) to save drafts to")
        return self.imap.append(folder_role, msg, flags)
