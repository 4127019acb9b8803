"""``inquiry-bot doctor``: check the configuration and each connection, say what to fix.

Besides the connections (IMAP, SMTP login without sending, Slack's bot token and the scopes it
was granted, the app token, the LLM): private data at rest (``DATA_DIR`` and ``.env`` readable
by others is a warning), the screening lists (present, entries, age), ``BOT_ADMINS`` left empty,
a busy ``BOT_HTTP_PORT``, and, when the configuration itself is refused, the channel id to use
for a ``SLACK_CHANNEL`` given by name. The doctor creates nothing: no ``DATA_DIR``, no store.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config.settings import SLACK_CHANNEL_ID, Config

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.adapters.mail.connect import ConnectionSpec
    from bot.adapters.mail.oauth import TokenProvider
    from bot.config.settings import SmtpConfig


# The bot token's scopes, each with what needs it. Exactly the scopes of the Web API methods the
# code calls: tests/unit/test_blocks_manifest.py derives them from bot/ and checks this table and both
# manifests against them.
BOT_SCOPES: dict[str, str] = {
    "channels:read": "check the bot is in the inquiries channel",
    "groups:read": "the same for a private channel",
    "chat:write": "cards, thread notes, SLA pings, digests",
    "channels:history": "find a post already made before a crash (no repeats)",
    "groups:history": "the same in a private channel",
    "im:history": "the same for DMs (SLA pings, digests)",
    "commands": "/inquiries",
    "files:write": "stats charts and CSV exports",
    "im:write": "open DMs for owner pings and digests",
    "users:read": "each owner's time zone for digests",
}
SCREENING_MAX_AGE_DAYS = 7  # sanctions lists change weekly; older than this is a warning


def _line(out: TextIO, ok: bool | None, what: str, detail: str = "") -> None:
    mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
    out.write(f"[{mark}] {what}{': ' + detail if detail else ''}\n")


@contextlib.contextmanager
def mail_connection(config: Config) -> Iterator[tuple[ConnectionSpec, TokenProvider | None]]:
    """The mailbox connection as ``run`` makes it: with OAuth2 on a PostgreSQL store, the tokens
    are read from (and refreshed in) the store; otherwise from ``DATA_DIR``."""
    from bot.adapters.mail.watching import connection
    from bot.config.settings import store_backend

    kind, url = store_backend(config)
    if config.oauth is None or kind != "postgresql":
        yield connection(config)
        return
    from bot.app.store import shared_store

    with shared_store(url) as (store, coordination):
        yield connection(config, store, coordination)


def check_imap(config: Config, out: TextIO) -> bool:
    if config.imap is None:
        _line(out, None, "IMAP", "IMAP_HOST is not set: no mailbox will be watched")
        return True
    from bot.core.errors import StoreError

    try:
        with mail_connection(config) as (spec, tokens):
            return _imap_report(config, spec, tokens, out)
    except StoreError as e:
        _line(out, False, "IMAP OAuth2 tokens", f"the store that keeps them is unavailable: {e}")
        return False


def _imap_report(config: Config, spec: ConnectionSpec, tokens: TokenProvider | None, out: TextIO) -> bool:
    from bot.adapters.mail.connect import doctor_imap_report

    assert config.imap is not None
    lines = doctor_imap_report(
        spec,
        config.mailbox,
        tokens,
        inbox=config.imap.folder,
        sent_folder=config.imap.sent_folder,
        drafts_folder=config.imap.drafts_folder,
        poll_seconds=config.imap.poll_seconds,
    )
    for line in lines:
        out.write(line + "\n")
    return not any(line.startswith("[FAIL]") for line in lines)


def check_slack(config: Config, out: TextIO) -> bool:
    if config.slack is None:
        _line(out, None, "Slack", "SLACK_BOT_TOKEN is not set: `inquiry-bot run` runs the offline demo")
        return True
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    sl = config.slack
    client = WebClient(token=sl.bot_token, base_url=sl.api_url or WebClient.BASE_URL, timeout=15)
    try:
        auth = client.auth_test()
        _line(out, True, "Slack auth.test", f"bot {auth.get('user')} in team {auth.get('team')}")
        ok_scopes = check_scopes(auth.headers, out)
    except SlackApiError as e:
        _line(out, False, "Slack auth.test", f"{e.response.get('error')}: check SLACK_BOT_TOKEN")
        return False
    except Exception as e:
        _line(
            out,
            False,
            "Slack auth.test",
            f"{type(e).__name__}: cannot reach Slack ({sl.api_url or 'slack.com'})",
        )
        return False
    try:
        info = client.conversations_info(channel=sl.channel)
        member = bool(info["channel"].get("is_member"))
        _line(
            out,
            member,
            f"channel {sl.channel}",
            "bot is a member" if member else "invite the bot: /invite @Inquiry Desk",
        )
        ok = member
    except SlackApiError as e:
        _line(
            out, False, f"channel {sl.channel}", f"{e.response.get('error')}: check SLACK_CHANNEL (a C… id)"
        )
        ok = False
    mode = (
        "Socket Mode (SLACK_APP_TOKEN)"
        if sl.socket_mode
        else f"HTTP mode on port {sl.http_port} /slack/events"
    )
    _line(out, True, "Slack connection mode", mode)
    if sl.app_token:
        ok = check_app_token(client, sl.app_token, out) and ok
    return ok and ok_scopes


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def check_scopes(headers: Mapping[str, Any], out: TextIO) -> bool:
    """The scopes Slack says the bot token has (``x-oauth-scopes``) against :data:`BOT_SCOPES`."""
    raw = _header(headers, "x-oauth-scopes")
    if raw is None:
        _line(out, None, "Slack scopes", "Slack did not say which scopes the token has (no x-oauth-scopes)")
        return True
    granted = {x.strip() for x in raw.split(",") if x.strip()}
    missing = [x for x in BOT_SCOPES if x not in granted]
    extra = sorted(granted - set(BOT_SCOPES))
    if missing:
        needs = "; ".join(f"{x} ({BOT_SCOPES[x]})" for x in missing)
        _line(
            out,
            False,
            "Slack scopes",
            f"the bot token lacks {needs}: add them under OAuth & Permissions → Bot Token Scopes "
            "(or paste manifest.yml again) and reinstall the app",
        )
        return False
    if extra:
        _line(
            out,
            None,
            "Slack scopes",
            f"granted but not needed: {', '.join(extra)} (remove them: least privilege)",
        )
    else:
        _line(out, True, "Slack scopes", f"the {len(BOT_SCOPES)} scopes the bot needs, no more")
    return True


def check_app_token(client: WebClient, app_token: str, out: TextIO) -> bool:
    """Socket Mode: can the app-level token open a connection? (``apps.connections.open`` only
    hands out a URL; nothing connects to it.)"""
    from slack_sdk.errors import SlackApiError

    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as e:
        _line(
            out,
            False,
            "SLACK_APP_TOKEN",
            f"{e.response.get('error')}: use the app-level token (xapp-…) with connections:write, "
            "from Basic Information → App-Level Tokens; Socket Mode must be on",
        )
        return False
    except Exception as e:
        _line(out, False, "SLACK_APP_TOKEN", f"{type(e).__name__}: cannot reach Slack")
        return False
    _line(out, True, "SLACK_APP_TOKEN", "opens Socket Mode connections")
    return True


def check_smtp(config: Config, out: TextIO, timeout: float = 15.0) -> bool:
    """Connect, STARTTLS/TLS and log in as *Send* would, then QUIT: no mail is sent."""
    c = config.smtp
    if c is None:
        _line(out, None, "SMTP", "SMTP_HOST is not set: replies cannot be sent from Slack")
        return True
    with contextlib.ExitStack() as stack:
        tokens = None
        if config.imap is not None and config.oauth is not None:
            from bot.core.errors import StoreError

            try:
                _, tokens = stack.enter_context(mail_connection(config))
            except StoreError as e:
                _line(out, False, "SMTP OAuth2 tokens", f"the store that keeps them is unavailable: {e}")
                return False
        return _smtp_login(c, tokens, out, timeout)


def _smtp_login(c: SmtpConfig, tokens: TokenProvider | None, out: TextIO, timeout: float) -> bool:
    where = f"SMTP {c.host}:{c.port}"
    context = ssl.create_default_context()
    try:
        if c.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=timeout)
        with client:
            if c.security == "starttls":
                client.starttls(context=context)
            if tokens is not None and c.user:
                from bot.adapters.mail.oauth import smtp_login_xoauth2

                smtp_login_xoauth2(client, c.user, tokens.access_token())
                how = f"XOAUTH2 login as {c.user} accepted"
            elif c.user and c.password:
                client.login(c.user, c.password)
                how = f"login as {c.user} accepted"
            else:
                client.noop()
                how = "connected (no SMTP_USER: no login tried)"
    except smtplib.SMTPAuthenticationError as e:
        _line(
            out,
            False,
            where,
            f"login refused ({e.smtp_code}): check SMTP_USER and SMTP_PASSWORD / app password",
        )
        return False
    except smtplib.SMTPNotSupportedError:
        _line(out, False, where, "the server offers no STARTTLS/AUTH here: check SMTP_SECURITY and SMTP_PORT")
        return False
    except (smtplib.SMTPException, OSError) as e:
        _line(
            out,
            False,
            where,
            f"{type(e).__name__}: cannot connect; check SMTP_HOST, SMTP_PORT, SMTP_SECURITY",
        )
        return False
    _line(out, True, where, f"{how}; no mail sent")
    return True


def check_screening(config: Config, out: TextIO, now: float | None = None) -> bool:
    """Each of ``SCREENING_LISTS``: there, readable, not empty, not older than a week."""
    from bot.trust import ScreeningError, load_list

    if not config.screening_lists:
        _line(out, None, "screening lists", "SCREENING_LISTS is not set: no sanctions screening")
        return True
    now = time.time() if now is None else now
    ok = True
    for name in config.screening_lists:
        url = name.startswith(("http://", "https://"))
        path = config.data_dir / "screening" / Path(name).name if url else Path(name)
        what = f"screening list {Path(name).name}"
        if not path.is_file():
            detail = (
                "not downloaded yet: run `inquiry-bot screening update`" if url else f"{path} does not exist"
            )
            _line(out, False, what, detail)
            ok = False
            continue
        try:
            entries = len(load_list(path).entries)
        except (ScreeningError, OSError) as e:
            _line(out, False, what, f"cannot be read: {e}")
            ok = False
            continue
        days = (now - path.stat().st_mtime) / 86400
        age = f"{entries} entries, {days:.0f} day(s) old"
        if entries == 0:
            _line(out, False, what, f"{age}: the list is empty")
            ok = False
        elif days > SCREENING_MAX_AGE_DAYS:
            fix = "run `inquiry-bot screening update`" if url else "download a fresh copy"
            _line(out, None, what, f"{age}: older than {SCREENING_MAX_AGE_DAYS} days; {fix}")
        else:
            _line(out, True, what, age)
    return ok


def check_llm(config: Config, out: TextIO) -> bool:
    if config.llm is None:
        _line(out, None, "LLM", "OPENAI_API_KEY/OPENAI_BASE_URL not set: drafts use offline templates")
        return True
    import openai

    llm = config.llm
    try:
        client = openai.OpenAI(
            api_key=llm.api_key or "not-needed", base_url=llm.base_url, timeout=15, max_retries=0
        )
        models = [m.id for m in client.models.list()]
        known = llm.model in models if models else None
        _line(
            out,
            True if known or not models else None,
            f"LLM endpoint {llm.base_url or 'api.openai.com'}",
            f"model {llm.model} " + ("available" if known else "not listed by the server"),
        )
        return True
    except Exception as e:
        _line(out, False, "LLM endpoint", f"{type(e).__name__}: check OPENAI_BASE_URL and OPENAI_API_KEY")
        return False


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_postgres_store(url: str, out: TextIO) -> bool:
    """STORE_URL=postgresql://…: reachable, migrated, what it holds."""
    from bot.adapters.store.postgres.pool import redact_url
    from bot.app.store import open_postgres

    where = f"store in PostgreSQL {redact_url(url)}"
    try:
        store, _ = open_postgres(url)  # applies pending migrations, as `run` would
    except Exception as e:
        _line(out, False, where, f"{type(e).__name__}: {e}")
        return False
    try:
        dead = store.outbox.dead()
        _line(out, True, where, f"{store.count()} emails, {store.outbox.pending_count()} deliveries pending")
        if dead:
            last = dead[-1].get("last_error")
            _line(out, False, "undeliverable Slack messages", f"{len(dead)}; last error: {last}")
    finally:
        store.close()
    return not dead


def check_store(config: Config, out: TextIO) -> bool:
    from bot.app.store import open_store
    from bot.config.settings import store_backend
    from bot.desk.outbox import Outbox

    kind, where = store_backend(config)
    if kind == "postgresql":
        return check_postgres_store(where, out)
    if not (config.data_dir / "store" / "meta.json").is_file():  # open nothing, create nothing
        parent = _nearest_existing(config.data_dir)
        if not parent.is_dir():
            _line(out, False, f"DATA_DIR {config.data_dir}", f"cannot be created: {parent} is a file")
            return False
        if not os.access(parent, os.W_OK | os.X_OK):
            _line(out, False, f"DATA_DIR {config.data_dir}", f"cannot be created: {parent} is not writable")
            return False
        _line(out, None, f"store in {config.data_dir}", "no store yet: `inquiry-bot run` creates it")
        return True
    try:
        store = open_store(config.data_dir)
    except Exception as e:
        _line(out, False, f"store in {config.data_dir}", f"{type(e).__name__}: {e}")
        return False
    outbox = Outbox(store)
    dead = outbox.dead()
    _line(
        out,
        True,
        f"store in {config.data_dir}",
        f"{store.count()} emails, {outbox.pending_count()} deliveries pending",
    )
    if dead:
        _line(
            out,
            False,
            "undeliverable Slack messages",
            f"{len(dead)}; last error: {dead[-1].get('last_error')}",
        )
    store.close()
    return not dead


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_permissions(config: Config, out: TextIO, env_file: Path | None = None) -> bool:
    """Warn when mail, inquiries or secrets can be read by other users of the machine."""
    data = config.data_dir
    if data.is_dir():
        wide = _mode(data) & 0o077
        loose = 0
        example = ""
        for root, dirs, files in os.walk(data):
            for name in dirs + files:
                path = Path(root) / name
                try:
                    if _mode(path) & 0o077:
                        loose += 1
                        example = example or str(path.relative_to(data))
                except OSError:
                    continue
        if wide or loose:
            detail = f"mode {_mode(data):o}" if wide else "the folder is private"
            if loose:
                detail += f"; {loose} file(s) or folder(s) inside are readable by others (e.g. {example})"
            _line(out, None, f"permissions of DATA_DIR {data}", f"{detail}: run chmod -R go-rwx {data}")
        else:
            _line(out, True, f"permissions of DATA_DIR {data}", "private (0700 folders, 0600 files)")
    if env_file is not None and env_file.is_file():
        if _mode(env_file) & 0o077:
            _line(
                out,
                None,
                f"permissions of {env_file}",
                f"mode {_mode(env_file):o}: it holds passwords and tokens; run chmod 600 {env_file}",
            )
        else:
            _line(out, True, f"permissions of {env_file}", "private (0600)")
    return True


def check_admins(config: Config, out: TextIO) -> bool:
    if not config.admins:
        _line(
            out,
            None,
            "BOT_ADMINS",
            "empty: nobody can clear a screening hit or take over a colleague's inquiry; "
            "set BOT_ADMINS to one or more member ids (U…)",
        )
    else:
        _line(out, True, "BOT_ADMINS", ", ".join(sorted(config.admins)))
    return True


def check_http_port(config: Config, out: TextIO) -> bool:
    """HTTP mode: can the bot listen on BOT_HTTP_HOST:BOT_HTTP_PORT?"""
    if config.slack is None or config.slack.socket_mode:
        return True
    from bot.adapters.slack.http_server import port_problem

    sl = config.slack
    try:
        infos = socket.getaddrinfo(sl.http_host, sl.http_port, type=socket.SOCK_STREAM)
    except OSError as e:
        _line(out, False, "BOT_HTTP_HOST", f"{sl.http_host!r} does not resolve ({e})")
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as e:
            _line(out, False, "BOT_HTTP_PORT", port_problem(sl.http_host, sl.http_port, e))
            return False
    _line(out, True, "BOT_HTTP_PORT", f"{sl.http_host}:{sl.http_port} is free")
    return True


def channel_ids_by_name(client: WebClient, names: set[str]) -> dict[str, str]:
    """Look channel names up with ``conversations.list`` (every page): name → id."""
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        channels: list[dict[str, Any]] = page.get("channels") or []
        for channel in channels:
            if channel.get("name") in names:
                found[str(channel["name"])] = str(channel["id"])
        meta: dict[str, Any] = page.get("response_metadata") or {}
        cursor = meta.get("next_cursor")
        if not cursor or len(found) == len(names):
            return found


def explain_config_problems(env: Mapping[str, str], out: TextIO) -> None:
    """After a refused configuration: the channel id for a SLACK_CHANNEL given by its name."""
    channel = (env.get("SLACK_CHANNEL") or "").strip()
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if not channel or SLACK_CHANNEL_ID.match(channel):
        return
    name = channel.lstrip("#").lower()
    if not token:
        _line(out, False, "SLACK_CHANNEL", f"{channel!r} is a name; set SLACK_BOT_TOKEN to look its id up")
        return
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=token, base_url=(env.get("SLACK_API_URL") or "").strip() or WebClient.BASE_URL)
    try:
        found = channel_ids_by_name(client, {name})
    except SlackApiError as e:
        _line(out, False, "SLACK_CHANNEL", f"cannot look {channel!r} up ({e.response.get('error')})")
        return
    except OSError as e:
        _line(
            out,
            False,
            "SLACK_CHANNEL",
            f"cannot look {channel!r} up ({type(e).__name__}: cannot reach Slack)",
        )
        return
    if name in found:
        _line(
            out, False, "SLACK_CHANNEL", f"{channel!r} is the channel's name: use SLACK_CHANNEL={found[name]}"
        )
    else:
        _line(
            out,
            False,
            "SLACK_CHANNEL",
            f"no channel named {name!r} is visible to the bot (for a private channel, /invite the bot "
            "first; the id is under the channel's details → About)",
        )


def run_doctor(config: Config, out: TextIO, env_file: Path | None = None) -> int:
    out.write("Configuration: ok (every variable parsed)\n")
    results = [
        check_store(config, out),
        check_permissions(config, out, env_file),
        check_admins(config, out),
        check_http_port(config, out),
        check_screening(config, out),
        check_imap(config, out),
        check_smtp(config, out),
        check_slack(config, out),
        check_llm(config, out),
    ]
    return 0 if all(results) else 1
