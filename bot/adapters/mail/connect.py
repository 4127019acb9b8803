"""Opening IMAP connections the way the provider wants: implicit TLS or STARTTLS, password or XOAUTH2.

- :class:`ConnectionSpec`: where and how to connect (built with :func:`spec_from_config`).
- :func:`ssl_context_for`: certificate verification always on; ``IMAP_CA_FILE`` adds a trusted CA.
- :func:`open_client` connects (and upgrades with STARTTLS) without logging in; :func:`authenticate`
  logs in (password, or XOAUTH2 with a token from :class:`~bot.adapters.mail.oauth.TokenProvider`,
  then the IMAP ID command where the provider needs it); :func:`connect` does both, for short-lived
  connections.
- :func:`make_watcher`: a :class:`MailboxWatcher` wired to the above (one long-lived connection per
  watched folder; writes use their own short-lived :func:`connect`).
- :func:`doctor_imap_report`: lines for ``inquiry-bot doctor`` (capabilities, folders, what won't work).

Example::

    spec = spec_from_config(config.imap, mailbox_options(env))
    with connect(spec, tokens) as client:
        client.list_folders()
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError, LoginError

from bot.adapters.mail.folders import pick_folder, resolve_folder
from bot.adapters.mail.imap_source import ImapSettings, LoginRejected, MailboxWatcher, MailSink
from bot.adapters.mail.oauth import OAuthError, OAuthRevoked, TokenProvider
from bot.config.providers import MailboxOptions, is_loopback, plan_connections
from bot.config.settings import ImapConfig
from bot.core.errors import InquiryDeskError

log = logging.getLogger(__name__)

DOCTOR_CAPABILITIES = ("IDLE", "UIDPLUS", "SPECIAL-USE", "CONDSTORE", "MOVE")
BOT_ID = {"name": "inquiry-desk", "version": "0.1", "vendor": "inquiry-desk"}


class MailLoginError(InquiryDeskError):
    """The server refused the login; the message says what to check."""


@dataclass(frozen=True)
class ConnectionSpec:
    host: str
    port: int
    user: str
    password: str = field(default="", repr=False)
    tls_mode: str = "ssl"  # "ssl" | "starttls" | "none"
    ca_file: str | None = None
    auth: str = "password"  # "password" | "oauth2"
    send_id: bool = False
    connect_timeout: float = 15
    read_timeout: float = 60


def spec_from_config(imap: ImapConfig, options: MailboxOptions) -> ConnectionSpec:
    return ConnectionSpec(
        host=imap.host,
        port=imap.port,
        user=imap.user,
        password=imap.password,
        tls_mode=options.tls_mode,
        ca_file=options.ca_file,
        auth=options.auth,
        send_id=options.send_id,
    )


def ssl_context_for(ca_file: str | None) -> ssl.SSLContext:
    """System trust store plus ``ca_file`` when given; hostname and certificate checks stay on."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def open_client(spec: ConnectionSpec) -> IMAPClient:
    """A connected, not yet logged-in client; STARTTLS done when ``tls_mode == "starttls"``."""
    context = ssl_context_for(spec.ca_file) if spec.tls_mode != "none" else None
    client = IMAPClient(
        spec.host,
        port=spec.port,
        ssl=spec.tls_mode == "ssl",
        ssl_context=context,
        timeout=SocketTimeout(connect=spec.connect_timeout, read=spec.read_timeout),
    )
    if spec.tls_mode == "starttls":
        try:
            client.starttls(context)
        except BaseException:
            with contextlib.suppress(OSError):
                client.shutdown()
            raise
    return client


# RFC 5530 codes of a login that failed for a passing reason (the server's own trouble).
_TEMPORARY = ("UNAVAILABLE", "SERVERBUG", "INUSE", "TEMPORARY", "TRY AGAIN")


def credentials_refused(error: BaseException) -> bool:
    """A login the server *refused* (wrong password, app password needed, IMAP disabled), as
    opposed to a network problem or the server's temporary trouble (``[UNAVAILABLE]``).

    >>> credentials_refused(LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"))
    True
    >>> credentials_refused(LoginError("b'[UNAVAILABLE] Temporary authentication failure.'"))
    False
    """
    if not isinstance(error, LoginError):
        return False
    text = str(error).upper()
    return not any(code in text for code in _TEMPORARY)


def _refused(spec: ConnectionSpec, error: LoginError) -> LoginRejected:
    reason = str(error).strip("b'\"")[:200]
    if spec.auth == "oauth2":
        fix = (
            "the mailbox refused a fresh OAuth token: check the app registration's IMAP permission, "
            "or run `inquiry-bot auth` again"
        )
    else:
        fix = (
            "check the password / app password (IMAP_PASSWORD; many providers need an app or "
            "client-specific password) and that IMAP is switched on for the mailbox"
        )
    return LoginRejected(f"the server refused the login for {spec.user} ({reason}): {fix}")


def authenticate(
    client: IMAPClient,
    spec: ConnectionSpec,
    tokens: TokenProvider | None = None,
) -> None:
    """Log in with a password or XOAUTH2. A rejected XOAUTH2 token is refreshed and tried once more.

    Refused credentials raise :class:`LoginRejected` (retried slowly, reported to the team);
    the server's temporary trouble stays an ``IMAPClientError`` (a connection problem)."""
    try:
        if spec.auth == "oauth2":
            if tokens is None:
                raise MailLoginError("IMAP_AUTH=oauth2 but no token provider was configured")
            try:
                client.oauth2_login(spec.user, tokens.access_token())
            except IMAPClientError:
                # The server may have revoked or expired the access token before its stated expiry.
                log.info("imap: XOAUTH2 refused; refreshing the access token and retrying once")
                client.oauth2_login(spec.user, tokens.access_token(force_refresh=True))
        else:
            client.login(spec.user, spec.password)
    except LoginError as e:
        if credentials_refused(e):
            raise _refused(spec, e) from e
        raise
    if spec.send_id and client.has_capability("ID"):
        client.id_(BOT_ID)


def connect(spec: ConnectionSpec, tokens: TokenProvider | None = None) -> IMAPClient:
    """A logged-in client for short-lived work (writes, folder look-ups, doctor). Close it."""
    client = open_client(spec)
    try:
        authenticate(client, spec, tokens)
    except BaseException:
        with contextlib.suppress(OSError):
            client.shutdown()
        raise
    return client


class _LoginRefusedReporter:
    """Calls ``on_login_refused`` at each refused login (the callback dedupes, e.g. per day)."""

    def __init__(self, on_login_refused: Callable[[LoginRejected], None] | None) -> None:
        self.on_login_refused = on_login_refused

    def __call__(self, error: LoginRejected) -> None:
        if self.on_login_refused is not None:
            try:
                self.on_login_refused(error)
            except Exception:
                log.exception("imap: on_login_refused callback failed")


class _RevokedReporter:
    """Calls ``on_revoked`` once per process when the refresh token is found revoked."""

    def __init__(self, on_revoked: Callable[[OAuthRevoked], None] | None) -> None:
        self.on_revoked = on_revoked
        self._done = threading.Event()

    def __call__(self, error: OAuthRevoked) -> None:
        log.error("imap: %s", error)
        if self.on_revoked is not None and not self._done.is_set():
            self._done.set()
            try:
                self.on_revoked(error)
            except Exception:
                log.exception("imap: on_revoked callback failed")


def watcher_settings(
    spec: ConnectionSpec,
    folder: str,
    tokens: TokenProvider | None = None,
    *,
    on_revoked: Callable[[OAuthRevoked], None] | None = None,
    base: ImapSettings | None = None,
    on_login_refused: Callable[[LoginRejected], None] | None = None,
) -> ImapSettings:
    """``ImapSettings`` for one watched folder whose login goes through :func:`authenticate`.

    ``base`` carries the timing (backfill, IDLE renewal, polling); connection fields come from ``spec``.
    """
    report = _RevokedReporter(on_revoked)
    report_refused = _LoginRefusedReporter(on_login_refused)

    def login(client: IMAPClient) -> None:
        try:
            authenticate(client, spec, tokens)
        except OAuthRevoked as e:
            report(e)
            raise
        except LoginRejected as e:
            report_refused(e)
            raise

    template = base or ImapSettings(
        host=spec.host, port=spec.port, ssl=spec.tls_mode == "ssl", user=spec.user, password=spec.password
    )
    return replace(
        template,
        host=spec.host,
        port=spec.port,
        ssl=spec.tls_mode == "ssl",
        user=spec.user,
        password=spec.password,
        folder=folder,
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
        authenticate=login,
    )


def make_watcher(
    spec: ConnectionSpec,
    folder: str,
    sink: MailSink,
    tokens: TokenProvider | None = None,
    *,
    on_revoked: Callable[[OAuthRevoked], None] | None = None,
    base: ImapSettings | None = None,
    on_state: Callable[[str], None] | None = None,
    on_login_refused: Callable[[LoginRejected], None] | None = None,
) -> MailboxWatcher:
    """A watcher for ``folder`` (its own connection and its own checkpoint, keyed by folder name)."""
    settings = watcher_settings(
        spec, folder, tokens, on_revoked=on_revoked, base=base, on_login_refused=on_login_refused
    )
    return MailboxWatcher(settings, sink, on_state=on_state, client_factory=lambda: open_client(spec))


@dataclass(frozen=True)
class FolderPlan:
    """Folders chosen on the server: what is watched and where replies and drafts are."""

    watched: tuple[str, ...]
    sent: str | None
    drafts: str | None
    junk: str | None
    missing: tuple[str, ...] = ()  # configured extra folders the server does not have


def plan_folders(
    client: IMAPClient,
    *,
    inbox: str = "INBOX",
    extra_folders: Sequence[str] = (),
    sent_folder: str | None = None,
    drafts_folder: str | None = None,
    hints: Mapping[str, Sequence[str]] | None = None,
    watch_sent: bool = True,
) -> FolderPlan:
    """One LIST; SPECIAL-USE, then preset, then localized names per role; extras by name or role."""
    hints = hints or {}
    entries = client.list_folders()
    sent = sent_folder or pick_folder(entries, "sent", tuple(hints.get("sent", ())))
    drafts = drafts_folder or pick_folder(entries, "drafts", tuple(hints.get("drafts", ())))
    junk = pick_folder(entries, "junk", tuple(hints.get("junk", ())))
    watched = [inbox]
    if watch_sent and sent:
        watched.append(sent)
    missing: list[str] = []
    for wanted in extra_folders:
        found = resolve_folder(entries, wanted, tuple(hints.get(wanted.lower(), ())))
        if found is None:
            missing.append(wanted)
        elif found not in watched:
            watched.append(found)
    return FolderPlan(tuple(watched), sent, drafts, junk, tuple(missing))


def discover_folders(
    spec: ConnectionSpec,
    imap: ImapConfig,
    options: MailboxOptions,
    tokens: TokenProvider | None = None,
) -> FolderPlan:
    """Start-up look-up on a short-lived connection: the folders to watch, Sent and Drafts.

    Logs a warning when the plan needs more connections than ``options.max_connections``.
    """
    with connect(spec, tokens) as client:
        plan = plan_folders(
            client,
            inbox=imap.folder,
            extra_folders=options.extra_folders,
            sent_folder=imap.sent_folder,
            drafts_folder=imap.drafts_folder,
            hints=options.folder_hints,
        )
    for name in plan.missing:
        log.warning("imap: IMAP_EXTRA_FOLDERS names %r, which the server does not have", name)
    for warning in plan_connections(plan.watched, options.max_connections):
        log.warning("imap: %s", warning)
    return plan


def _caps(client: IMAPClient) -> set[str]:
    return {c.decode() if isinstance(c, bytes) else str(c) for c in client.capabilities()}


def doctor_imap_report(
    spec: ConnectionSpec,
    options: MailboxOptions,
    tokens: TokenProvider | None = None,
    *,
    inbox: str = "INBOX",
    sent_folder: str | None = None,
    drafts_folder: str | None = None,
    poll_seconds: float = 60,
) -> list[str]:
    """Lines for ``inquiry-bot doctor``: ``[ok  ]``/``[warn]``/``[FAIL]`` + what and why.

    Never raises; a connection or login failure is a FAIL line saying what to check.
    """
    lines: list[str] = []

    def line(ok: bool | None, what: str, detail: str = "") -> None:
        mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
        lines.append(f"[{mark}] {what}{': ' + detail if detail else ''}")

    where = f"{spec.host}:{spec.port}"
    line(True, "IMAP provider", f"{options.provider}, TLS {spec.tls_mode}, auth {spec.auth}")
    if spec.tls_mode == "none" and not is_loopback(spec.host):
        line(None, "IMAP TLS", "IMAP_TLS_MODE=none sends the password in clear text; use ssl or starttls")
    try:
        client = connect(spec, tokens)
    except OAuthRevoked as e:
        line(False, f"IMAP OAuth2 {spec.user}", str(e))
        return lines
    except OAuthError as e:
        line(False, f"IMAP OAuth2 {spec.user}", str(e))
        return lines
    except ssl.SSLError as e:
        line(
            False,
            f"IMAP TLS {where}",
            f"{type(e).__name__}: {e} — check IMAP_TLS_MODE (ssl on 993, starttls on 143) and IMAP_CA_FILE "
            "for a private CA (verification is never switched off)",
        )
        return lines
    except LoginRejected as e:
        line(False, f"IMAP login {spec.user}@{where}", str(e))
        return lines
    except IMAPClientError as e:
        hint = (
            "the token was refused: check the app registration's IMAP permission and OAUTH_TENANT"
            if spec.auth == "oauth2"
            else "check IMAP_USER and the password (some providers need an app/client-specific password, "
            "e.g. Exmail's 客户端专用密码) and that IMAP is switched on in the mailbox settings"
        )
        line(False, f"IMAP login {spec.user}@{where}", f"{type(e).__name__}: {e} — {hint}")
        return lines
    except OSError as e:
        line(False, f"IMAP {where}", f"{type(e).__name__}: {e} — check IMAP_HOST, IMAP_PORT and the firewall")
        return lines
    try:
        caps = _caps(client)
        line(
            True,
            f"IMAP login {spec.user}@{where}",
            "capabilities: " + ", ".join(f"{c}={'yes' if c in caps else 'no'}" for c in DOCTOR_CAPABILITIES),
        )
        if "IDLE" not in caps:
            line(None, "IMAP IDLE", f"not offered: new mail is noticed by polling every {poll_seconds:g} s")
        if "UIDPLUS" not in caps:
            line(
                None,
                "IMAP UIDPLUS",
                "not offered: a saved draft cannot be replaced in place (a new one is added)",
            )
        if "CONDSTORE" not in caps:
            line(
                None,
                "IMAP CONDSTORE",
                "not offered: replies flagged from other clients are found by a slower scan",
            )
        if "MOVE" not in caps:
            line(None, "IMAP MOVE", "not offered: moving mail falls back to COPY + delete")
        if "SPECIAL-USE" not in caps:
            line(
                None, "IMAP SPECIAL-USE", "not offered: Sent/Drafts/Junk are found by their (localized) names"
            )
        plan = plan_folders(
            client,
            inbox=inbox,
            extra_folders=options.extra_folders,
            sent_folder=sent_folder,
            drafts_folder=drafts_folder,
            hints=options.folder_hints,
        )
        client.select_folder(inbox, readonly=True)
        line(True, "watching folders", ", ".join(plan.watched))
        line(
            plan.sent is not None,
            "sent folder",
            plan.sent
            or "not found: set IMAP_SENT_FOLDER (replies sent from mail clients won't stop the clock)",
        )
        line(
            plan.drafts is not None,
            "drafts folder",
            plan.drafts or "not found: set IMAP_DRAFTS_FOLDER (drafts cannot be saved to the mailbox)",
        )
        line(None if plan.junk is None else True, "junk folder", plan.junk or "not found (not needed)")
        for name in plan.missing:
            line(False, "extra folder", f"{name!r} from IMAP_EXTRA_FOLDERS does not exist on the server")
        for warning in plan_connections(plan.watched, options.max_connections):
            line(None, "IMAP connections", warning)
        if options.max_connections is not None and not plan_connections(
            plan.watched, options.max_connections
        ):
            line(
                True,
                "IMAP connections",
                f"{len(plan.watched)} IDLE + 1 for writes within the cap of {options.max_connections}",
            )
    except (IMAPClientError, OSError) as e:
        line(False, f"IMAP {where}", f"{type(e).__name__}: {e}")
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            client.shutdown()
    return lines
