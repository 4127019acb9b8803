"""Configuration: read from a mapping of environment variables, validated at once.

``load_config(env)`` returns a frozen :class:`Config` or raises :class:`ConfigError`
listing *every* problem in one message. Only the entry point reads ``os.environ``
(and a ``.env`` file); everything else receives a ``Config``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.oauth import OAuthSettings, oauth_settings
from bot.config.providers import MailboxOptions, apply_preset, mailbox_options
from bot.core.errors import ConfigError
from bot.core.models import Market

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    ssl: bool
    user: str
    password: str
    folder: str = "INBOX"
    sent_folder: str | None = None
    drafts_folder: str | None = None
    backfill_hours: float = 24.0
    idle_renew_seconds: float = 540.0
    poll_seconds: float = 60.0


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    app_token: str | None
    signing_secret: str | None
    channel: str
    api_url: str | None
    http_port: int = 3000
    post_interval: float = 1.0  # seconds between posts to one channel (Slack: about 1/s)
    review_channel: str | None = None  # "check first" cards (issue #12); None: the desk channel
    http_host: str = "127.0.0.1"  # HTTP mode: put a TLS proxy in front rather than 0.0.0.0
    http_max_body_bytes: int = 1024 * 1024
    http_timeout_seconds: float = 10.0
    http_max_connections: int = 2000

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)


@dataclass(frozen=True)
class LlmConfig:
    api_key: str | None
    base_url: str | None
    model: str
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    security: str  # "starttls" | "ssl" | "none"
    from_addr: str | None


@dataclass(frozen=True)
class Config:
    data_dir: Path
    own_domains: frozenset[str]
    sla_hours: Mapping[Market, float]
    imap: ImapConfig | None
    slack: SlackConfig | None
    llm: LlmConfig | None
    smtp: SmtpConfig | None
    admins: frozenset[str] = frozenset()
    team_timezone: str = "UTC"
    team_language: str = "en"
    sla_warn_at: str = "50%,1h"
    sla_tick_seconds: float = 60.0
    sla_team_mention: str = "<!here>"
    # Optional business-hours calendars per market (off by default): the window then counts
    # only working time. BusinessCalendar objects from bot.sla.calendar.
    sla_calendars: Mapping[Market, Any] = field(default_factory=dict)
    digest_time: time = time(9, 0)
    log_level: str = "INFO"
    market_overrides: Mapping[str, Market] = field(default_factory=dict)
    routing_rules: str | None = None
    authserv_id: str | None = None
    embargoed_countries: frozenset[str] = frozenset({"CU", "IR", "KP", "SY"})
    screening_lists: tuple[str, ...] = ()
    screening_threshold: float = 88.0
    retention_days: float | None = None
    quote_rates: Mapping[str, float] = field(default_factory=lambda: {"USD": 1.0})
    mailbox: MailboxOptions = field(default_factory=MailboxOptions)
    oauth: OAuthSettings | None = None
    review_at: float = 3.0  # risk score from which a kept mail is held for review (issue #12)
    filter_at: float = 8.0  # risk score from which it is filtered
    audit_anchor_channel: str | None = None  # where the daily audit anchor goes (default: SLACK_CHANNEL)
    # Mail older than this when the watcher catches up goes into one summary card, not a card
    # each (issue #16); None: every mail gets its card.
    backfill_summary_after_minutes: float | None = 10.0
    # Where the store lives (issue #15): "tinydb:" (files under data_dir, the default),
    # "tinydb:<folder>" (files under that folder) or a "postgresql://…" connection URL.
    store_url: str = field(default="tinydb:", repr=False)  # repr: a URL may hold a password


class _Reader:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def parsed(self, name: str, default: T, parse: Callable[[str], T], what: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except (ValueError, TypeError):
            self.problems.append(f"{name}={value!r} is not {what}")
            return default

    def boolean(self, name: str, default: bool) -> bool:
        def parse(v: str) -> bool:
            low = v.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(v)

        return self.parsed(name, default, parse, "true or false")

    def hours(self, name: str, default: float) -> float:
        def parse(v: str) -> float:
            h = float(v)
            if not h > 0 or h > 24 * 365:
                raise ValueError(v)
            return h

        return self.parsed(name, default, parse, "a positive number of hours (fractions allowed)")

    def port(self, name: str, default: int) -> int:
        def parse(v: str) -> int:
            p = int(v)
            if not 0 < p < 65536:
                raise ValueError(v)
            return p

        return self.parsed(name, default, parse, "a TCP port (1-65535)")

    def require(self, names: list[str], because: str) -> None:
        missing = [n for n in names if not self.raw(n)]
        if missing:
            self.problems.append(f"{', '.join(missing)} must be set {because}")


def _csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _positive_int(v: str) -> int:
    n = int(v)
    if n <= 0:
        raise ValueError(v)
    return n


def _positive_float(v: str) -> float:
    x = float(v)
    if not x > 0:
        raise ValueError(v)
    return x


def _mention(v: str | None) -> str:
    """``here`` (default), ``channel``, ``none``, a user group id ``S…`` or a user id ``U…``."""
    value = (v or "here").strip().lstrip("@!<").rstrip(">")
    if value.lower() in ("none", "off", ""):
        return ""
    if value.lower() in ("here", "channel"):
        return f"<!{value.lower()}>"
    if value.upper().startswith("S"):
        return f"<!subteam^{value.upper()}>"
    return f"<@{value.upper()}>"


def _parse_rates(v: str) -> dict[str, float]:
    from bot.trust.quote_risk import parse_rates

    rates = parse_rates(v)
    rates.setdefault("USD", 1.0)
    return rates


def _score(v: str) -> float:
    value = float(v)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(v)
    return value


def _parse_time(v: str) -> time:
    hh, mm = v.split(":")
    return time(int(hh), int(mm))


def _parse_overrides(v: str) -> dict[str, Market]:
    out: dict[str, Market] = {}
    for item in _csv(v):
        country, _, market = item.partition("=")
        if len(country.strip()) != 2:
            raise ValueError(item)
        out[country.strip().upper()] = Market(market.strip().upper())
    return out


SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]+$")


def _check_ids(r: _Reader) -> None:
    """Slack ids where ids belong: ROUTING_RULES (markets, member ids) and BOT_ADMINS."""
    from bot.config.routing_rules import parse_rules, user_id_problem

    try:
        parse_rules(r.raw("ROUTING_RULES"))
    except ConfigError as e:
        r.problems.extend(e.problems)
    for admin in _csv(r.raw("BOT_ADMINS")):
        problem = user_id_problem(admin)
        if problem:
            r.problems.append(f"BOT_ADMINS: {problem}")


def load_config(env: Mapping[str, str]) -> Config:
    """Build the configuration from ``env``; raise ConfigError listing every problem.

    ``MAIL_PROVIDER`` presets (``bot.config.providers``) fill in hosts, ports, TLS mode and folder
    names first; every explicit variable still wins."""
    preset_problems: list[str] = []
    try:
        env = apply_preset(env)
    except ConfigError as e:
        preset_problems = e.problems
    r = _Reader(env)
    r.problems.extend(preset_problems)
    mailbox = MailboxOptions()
    oauth: OAuthSettings | None = None
    try:
        mailbox = mailbox_options(env)
        if mailbox.auth == "oauth2":
            oauth = oauth_settings(env, mailbox.oauth_provider)
    except ConfigError as e:
        r.problems.extend(p for p in e.problems if p not in r.problems)
    sla = {
        Market.EU: r.hours("SLA_HOURS_EU", 8.0),
        Market.US: r.hours("SLA_HOURS_US", 8.0),
        Market.SEA: r.hours("SLA_HOURS_SEA", 4.0),
        Market.OTHER: r.hours("SLA_HOURS_OTHER", 8.0),
    }

    imap: ImapConfig | None = None
    if r.raw("IMAP_HOST"):
        if mailbox.auth == "oauth2":
            r.require(["IMAP_USER"], "when IMAP_HOST is set")
        else:
            r.require(["IMAP_USER", "IMAP_PASSWORD"], "when IMAP_HOST is set (or IMAP_AUTH=oauth2)")
        use_ssl = r.boolean("IMAP_SSL", True)
        imap = ImapConfig(
            host=r.text("IMAP_HOST", ""),
            port=r.port("IMAP_PORT", 993 if use_ssl else 143),
            ssl=use_ssl,
            user=r.text("IMAP_USER", ""),
            password=r.text("IMAP_PASSWORD", ""),
            folder=r.text("IMAP_FOLDER", "INBOX"),
            sent_folder=r.raw("IMAP_SENT_FOLDER"),
            drafts_folder=r.raw("IMAP_DRAFTS_FOLDER"),
            backfill_hours=r.parsed(
                "IMAP_BACKFILL_HOURS", 24.0, lambda v: max(0.0, float(v)), "a number of hours"
            ),
            idle_renew_seconds=r.parsed("IMAP_IDLE_RENEW_SECONDS", 540.0, float, "a number of seconds"),
            poll_seconds=r.parsed("IMAP_POLL_SECONDS", 60.0, float, "a number of seconds"),
        )

    slack: SlackConfig | None = None
    if r.raw("SLACK_BOT_TOKEN"):
        r.require(["SLACK_CHANNEL"], "when SLACK_BOT_TOKEN is set (the channel id for cards)")
        if not r.raw("SLACK_APP_TOKEN") and not r.raw("SLACK_SIGNING_SECRET"):
            r.problems.append(
                "set SLACK_APP_TOKEN (Socket Mode, recommended) or SLACK_SIGNING_SECRET (HTTP mode)"
            )
        channel = r.raw("SLACK_CHANNEL")
        if channel and not SLACK_CHANNEL_ID.match(channel):
            r.problems.append(
                f"SLACK_CHANNEL={channel!r} must be a channel id such as C0123ABCD, not a name "
                "(`inquiry-bot doctor` looks the id up; or the channel's details → About → Channel ID)"
            )
        app_token = r.raw("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            r.problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        slack = SlackConfig(
            bot_token=r.text("SLACK_BOT_TOKEN", ""),
            app_token=app_token,
            signing_secret=r.raw("SLACK_SIGNING_SECRET"),
            channel=r.text("SLACK_CHANNEL", ""),
            api_url=r.raw("SLACK_API_URL"),
            http_port=r.port("BOT_HTTP_PORT", 3000),
            post_interval=r.parsed(
                "SLACK_POST_INTERVAL_SECONDS", 1.0, lambda v: max(0.0, float(v)), "a number of seconds"
            ),
            review_channel=r.raw("REVIEW_CHANNEL"),
            http_host=r.text("BOT_HTTP_HOST", "127.0.0.1"),
            http_max_body_bytes=r.parsed(
                "BOT_HTTP_MAX_BODY_BYTES", 1024 * 1024, _positive_int, "a positive number of bytes"
            ),
            http_timeout_seconds=r.parsed(
                "BOT_HTTP_TIMEOUT_SECONDS", 10.0, _positive_float, "a positive number of seconds"
            ),
            http_max_connections=r.parsed(
                "BOT_HTTP_MAX_CONNECTIONS", 2000, _positive_int, "a positive number of connections"
            ),
        )

    llm: LlmConfig | None = None
    if r.raw("OPENAI_API_KEY") or r.raw("OPENAI_BASE_URL"):
        llm = LlmConfig(
            api_key=r.raw("OPENAI_API_KEY"),
            base_url=r.raw("OPENAI_BASE_URL"),
            model=r.text("OPENAI_MODEL", "gpt-4o-mini"),
            timeout_seconds=r.parsed("OPENAI_TIMEOUT_SECONDS", 60.0, float, "a number of seconds"),
        )

    smtp: SmtpConfig | None = None
    if r.raw("SMTP_HOST"):
        security = r.text("SMTP_SECURITY", "starttls").lower()
        if security not in {"starttls", "ssl", "none"}:
            r.problems.append(f"SMTP_SECURITY={security!r} must be starttls, ssl or none")
        smtp = SmtpConfig(
            host=r.text("SMTP_HOST", ""),
            port=r.port("SMTP_PORT", 465 if security == "ssl" else 587),
            user=r.raw("SMTP_USER"),
            password=r.raw("SMTP_PASSWORD"),
            security=security,
            from_addr=r.raw("SMTP_FROM") or r.raw("IMAP_USER"),
        )

    team_tz = r.text("TEAM_TIMEZONE", "UTC")
    try:
        ZoneInfo(team_tz)
    except (ZoneInfoNotFoundError, ValueError):
        r.problems.append(f"TEAM_TIMEZONE={team_tz!r} is not an IANA time zone (e.g. Asia/Shanghai)")
    team_lang = r.text("TEAM_LANGUAGE", "en").lower()
    if team_lang not in {"en", "zh"}:
        r.problems.append(f"TEAM_LANGUAGE={team_lang!r} must be en or zh")

    warn_at = r.text("SLA_WARN_AT", "50%,1h")
    try:
        from bot.sla.engine import parse_warn_at

        parse_warn_at(warn_at)
    except ValueError as e:
        r.problems.append(f"SLA_WARN_AT={warn_at!r}: {e}")
    calendars: dict[Market, Any] = {}
    for market in Market:
        spec = r.raw(f"SLA_CALENDAR_{market.value}")
        if not spec:
            continue
        from bot.sla.calendar import parse_calendar

        parts = spec.split()
        try:
            if len(parts) < 1 or len(parts) > 3:
                raise ValueError("use 'TIMEZONE [HH:MM-HH:MM] [mon-fri]'")
            ZoneInfo(parts[0])
            holidays = _csv(r.raw(f"SLA_HOLIDAYS_{market.value}"))
            hours = parts[1] if len(parts) > 1 else "09:00-18:00"
            days = parts[2] if len(parts) > 2 else "mon-fri"
            calendars[market] = parse_calendar(parts[0], hours, days, holidays)
        except (ValueError, ZoneInfoNotFoundError) as e:
            r.problems.append(f"SLA_CALENDAR_{market.value}={spec!r}: {e}")
    review_at = r.parsed("REVIEW_AT", 3.0, _score, "a number (a risk score such as 3 or 4.5)")
    filter_at = r.parsed("FILTER_AT", 8.0, _score, "a number (a risk score such as 8)")
    if not review_at < filter_at:
        r.problems.append(f"REVIEW_AT ({review_at:g}) must be below FILTER_AT ({filter_at:g})")
    _check_ids(r)
    # The per-mail worker budget (read by bot.desk.prework when the pool starts): checked here so a
    # typo is one clear line from run and doctor alike, not an error when the first mail comes.
    r.parsed("MAIL_WORKERS", 2, _positive_int, "a whole number of worker processes (1 or more)")
    r.parsed("MAIL_CPU_BUDGET_SECONDS", 2.0, _positive_float, "a positive number of seconds")
    r.parsed("MAIL_WALL_BUDGET_SECONDS", 10.0, _positive_float, "a positive number of seconds")
    r.parsed("MAIL_MEMORY_BUDGET_MB", 300.0, _positive_float, "a positive number of megabytes")
    config = Config(
        data_dir=Path(r.text("DATA_DIR", "./data")),
        own_domains=frozenset(d.lower().lstrip("@") for d in _csv(r.raw("OWN_DOMAINS"))),
        sla_hours=sla,
        imap=imap,
        slack=slack,
        llm=llm,
        smtp=smtp,
        admins=frozenset(_csv(r.raw("BOT_ADMINS"))),
        team_timezone=team_tz,
        team_language=team_lang,
        sla_warn_at=warn_at,
        sla_tick_seconds=r.parsed(
            "SLA_TICK_SECONDS", 60.0, lambda v: max(0.5, float(v)), "a number of seconds"
        ),
        sla_team_mention=_mention(r.raw("SLA_TEAM_MENTION")),
        sla_calendars=calendars,
        digest_time=r.parsed("DIGEST_TIME", time(9, 0), _parse_time, "a time like 09:00"),
        log_level=r.text("LOG_LEVEL", "INFO").upper(),
        market_overrides=r.parsed("MARKET_OVERRIDES", {}, _parse_overrides, "a list like TR=EU,AU=OTHER"),
        routing_rules=r.raw("ROUTING_RULES"),
        authserv_id=r.raw("AUTHSERV_ID"),
        embargoed_countries=frozenset(
            c.upper() for c in _csv(r.raw("EMBARGOED_COUNTRIES") or "CU,IR,KP,SY") if c.lower() != "none"
        ),
        screening_lists=tuple(_csv(r.raw("SCREENING_LISTS"))),
        screening_threshold=r.parsed(
            "SCREENING_THRESHOLD", 88.0, lambda v: min(100.0, max(50.0, float(v))), "a score from 50 to 100"
        ),
        mailbox=mailbox,
        oauth=oauth,
        quote_rates=r.parsed(
            "QUOTE_RATES", {"USD": 1.0}, _parse_rates, "a list like EUR=1.08,CNY=0.14,USD=1"
        ),
        retention_days=r.parsed(
            "RETENTION_DAYS", None, lambda v: float(v) if float(v) > 0 else None, "a number of days"
        ),
        review_at=review_at,
        filter_at=filter_at,
        audit_anchor_channel=r.raw("AUDIT_ANCHOR_CHANNEL"),
        backfill_summary_after_minutes=r.parsed(
            "BACKFILL_SUMMARY_AFTER_MINUTES",
            _minutes_or_off("10"),
            _minutes_or_off,
            "a number of minutes (0 turns the summary off)",
        ),
        store_url=_store_url(r),
    )
    if r.problems:
        raise ConfigError(r.problems)
    return config


def _store_url(r: _Reader) -> str:
    """``STORE_URL``: unset or ``tinydb:[folder]`` (TinyDB files), or ``postgresql://…``.

    A problem names the part that is wrong, never the URL itself (it may hold a password)."""
    from urllib.parse import parse_qs, urlsplit

    value = r.raw("STORE_URL")
    if value is None or value == "tinydb:":
        return "tinydb:"
    if value.startswith("tinydb:"):
        return value
    shape = "expected tinydb:[folder] or postgresql://user:password@host:port/database"
    try:
        url = urlsplit(value)
        port = url.port  # raises ValueError on a port that is not a number
    except ValueError:
        r.problems.append(f"STORE_URL is not a valid URL ({shape})")
        return "tinydb:"
    if url.scheme not in ("postgresql", "postgres"):
        r.problems.append(f"STORE_URL has the scheme {url.scheme or '(none)'!r}: {shape}")
    elif not url.path.strip("/"):
        r.problems.append(f"STORE_URL names no database ({shape})")
    elif not url.hostname and "host" not in parse_qs(url.query):
        r.problems.append(f"STORE_URL names no host (or ?host=/socket/folder) ({shape})")
    elif port is not None and not 0 < port < 65536:
        r.problems.append(f"STORE_URL has the port {port}, outside 1-65535")
    else:
        return value
    return "tinydb:"


def store_backend(config: Config) -> tuple[str, str]:
    """``("tinydb", folder)`` or ``("postgresql", url)`` for the configured ``STORE_URL``."""
    url = config.store_url
    if url.startswith("tinydb:"):
        return "tinydb", url[len("tinydb:") :] or str(config.data_dir)
    return "postgresql", url


def _minutes_or_off(value: str) -> float | None:
    """``BACKFILL_SUMMARY_AFTER_MINUTES``: a positive number of minutes, or 0 for off."""
    minutes = float(value)
    return minutes if minutes > 0 else None
