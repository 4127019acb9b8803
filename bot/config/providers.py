"""Mail provider presets (``MAIL_PROVIDER``) and the IMAP options that come with them.

``apply_preset(env)`` is called by the entry point *before* ``load_config``: it returns a copy of the
environment with the preset's host, ports, TLS mode, SMTP settings, auth kind and connection cap filled
in wherever the explicit variable is unset (an explicit variable always wins). ``mailbox_options(env)``
then reads the settings ``ImapConfig`` does not carry (TLS mode, CA file, auth kind, extra folders,
connection cap, folder hints). Everything here is pure: no network, no imapclient.

Example::

    >>> env = apply_preset({"MAIL_PROVIDER": "exmail", "IMAP_USER": "sales@acme.cn"})
    >>> env["IMAP_HOST"], env["IMAP_PORT"], env["IMAP_TLS_MODE"], env["SMTP_PORT"]
    ('imap.exmail.qq.com', '993', 'ssl', '465')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.errors import ConfigError

TLS_MODES = ("ssl", "starttls", "none")
AUTH_KINDS = ("password", "oauth2")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_STANDARD_IMAP_PORT = {"ssl": 993, "starttls": 143, "none": 143}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class Preset:
    """What we know about one provider's IMAP/SMTP service (public documentation only)."""

    name: str
    label: str
    imap_host: str | None
    imap_port: int
    tls_mode: str  # "ssl" (implicit TLS) | "starttls" | "none"
    smtp_host: str | None
    smtp_port: int
    smtp_security: str  # "ssl" | "starttls" | "none"
    auth: str = "password"  # "password" | "oauth2"
    oauth_provider: str | None = None  # "google" | "microsoft"
    max_connections: int | None = None  # concurrent IMAP connections we allow ourselves
    sent: tuple[str, ...] = ()
    drafts: tuple[str, ...] = ()
    junk: tuple[str, ...] = ()
    send_id: bool = False  # send the IMAP ID command after login (NetEase refuses SELECT without it)
    verified: bool = True  # False: values not confirmed from the provider's docs ("check with provider")
    # The authserv-id this provider writes in its Authentication-Results header ("microsoft": none,
    # with compauth=); "mx*" matches any id starting with "mx". None: unknown, set AUTHSERV_ID.
    authserv_id: str | None = None
    notes: str = ""

    def folder_hints(self) -> dict[str, tuple[str, ...]]:
        return {"sent": self.sent, "drafts": self.drafts, "junk": self.junk}


PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "zoho",
            "Zoho Mail (global)",
            "imap.zoho.com",
            993,
            "ssl",
            "smtp.zoho.com",
            465,
            "ssl",
            max_connections=5,
            sent=("Sent",),
            drafts=("Drafts",),
            junk=("Spam",),
            notes="EU/IN data centres: set IMAP_HOST=imap.zoho.eu / imap.zoho.in (and SMTP_HOST).",
            authserv_id="mx.zohomail.com",
        ),
        Preset(
            "zoho-cn",
            "Zoho Mail (China)",
            "imap.zoho.com.cn",
            993,
            "ssl",
            "smtp.zoho.com.cn",
            465,
            "ssl",
            max_connections=5,
            sent=("Sent",),
            drafts=("Drafts",),
            junk=("Spam",),
        ),
        Preset(
            "exmail",
            "Tencent Exmail (腾讯企业邮箱)",
            "imap.exmail.qq.com",
            993,
            "ssl",
            "smtp.exmail.qq.com",
            465,
            "ssl",
            max_connections=5,
            sent=("Sent Messages", "已发送"),
            drafts=("Drafts", "草稿箱"),
            junk=("Junk", "垃圾箱"),
        ),
        Preset(
            "263",
            "263 企业邮箱",
            "imap.263.net",
            993,
            "ssl",
            "smtp.263.net",
            465,
            "ssl",
            max_connections=5,
            sent=("已发送", "Sent"),
            drafts=("草稿箱", "Drafts"),
            junk=("垃圾邮件", "Junk"),
            verified=False,
        ),
        Preset(
            "netease",
            "NetEase enterprise mail (网易企业邮箱)",
            "imap.qiye.163.com",
            993,
            "ssl",
            "smtp.qiye.163.com",
            465,
            "ssl",
            max_connections=5,
            sent=("已发送",),
            drafts=("草稿箱",),
            junk=("垃圾邮件",),
            send_id=True,
            authserv_id="mx*",
        ),
        Preset(
            "umail",
            "U-Mail (self-hosted; host is your own)",
            None,
            993,
            "ssl",
            None,
            465,
            "ssl",
            max_connections=5,
            sent=("已发送", "Sent"),
            drafts=("草稿箱", "Drafts"),
            junk=("垃圾邮件", "Junk"),
            verified=False,
            notes="Set IMAP_HOST and SMTP_HOST to your U-Mail server (e.g. mail.yourdomain.com).",
        ),
        Preset(
            "gmail",
            "Google Workspace / Gmail",
            "imap.gmail.com",
            993,
            "ssl",
            "smtp.gmail.com",
            465,
            "ssl",
            auth="oauth2",
            oauth_provider="google",
            max_connections=15,
            sent=("[Gmail]/Sent Mail", "[Google Mail]/Sent Mail"),
            drafts=("[Gmail]/Drafts", "[Google Mail]/Drafts"),
            junk=("[Gmail]/Spam", "[Google Mail]/Spam"),
            authserv_id="mx.google.com",
        ),
        Preset(
            "m365",
            "Microsoft 365 / Exchange Online",
            "outlook.office365.com",
            993,
            "ssl",
            "smtp.office365.com",
            587,
            "starttls",
            auth="oauth2",
            oauth_provider="microsoft",
            max_connections=16,
            sent=("Sent Items",),
            drafts=("Drafts",),
            junk=("Junk Email",),
            authserv_id="microsoft",
        ),
        Preset(
            "proton-bridge",
            "Proton Mail via Proton Mail Bridge",
            "127.0.0.1",
            1143,
            "starttls",
            "127.0.0.1",
            1025,
            "starttls",
            max_connections=None,
            sent=("Sent",),
            drafts=("Drafts",),
            junk=("Spam",),
            notes="Bridge uses a self-signed certificate: export it and set IMAP_CA_FILE to it.",
        ),
        Preset("custom", "Any other IMAP server", None, 993, "ssl", None, 587, "starttls"),
    )
}


@dataclass(frozen=True)
class MailboxOptions:
    """IMAP settings beyond ``ImapConfig``: how to connect, authenticate and what else to watch."""

    provider: str = "custom"
    tls_mode: str = "ssl"
    ca_file: str | None = None
    auth: str = "password"
    oauth_provider: str | None = None
    extra_folders: tuple[str, ...] = ()
    max_connections: int | None = None
    send_id: bool = False
    folder_hints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ssl(self) -> bool:
        return self.tls_mode == "ssl"


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def preset_for(env: Mapping[str, str]) -> Preset:
    """The preset named by ``MAIL_PROVIDER`` (``custom`` when unset); ConfigError when unknown."""
    name = (_raw(env, "MAIL_PROVIDER") or "custom").lower()
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError([f"MAIL_PROVIDER={name!r} must be one of {', '.join(PRESETS)}"]) from None


def _tls_mode(env: Mapping[str, str], preset: Preset, problems: list[str]) -> str:
    explicit = _raw(env, "IMAP_TLS_MODE")
    ssl_flag = _raw(env, "IMAP_SSL")
    ssl_value: bool | None = None
    if ssl_flag is not None:
        if ssl_flag.lower() in _TRUE:
            ssl_value = True
        elif ssl_flag.lower() in _FALSE:
            ssl_value = False
    if explicit is not None:
        mode = explicit.lower()
        if mode not in TLS_MODES:
            problems.append(f"IMAP_TLS_MODE={explicit!r} must be ssl, starttls or none")
            return preset.tls_mode
        if ssl_value is not None and ssl_value != (mode == "ssl"):
            problems.append(f"IMAP_SSL={ssl_flag!r} contradicts IMAP_TLS_MODE={mode}: drop IMAP_SSL")
        return mode
    if ssl_value is True:
        return "ssl"
    if ssl_value is False:
        # Backwards compatible: IMAP_SSL=false meant plain IMAP; a preset's STARTTLS is kept.
        return "starttls" if preset.tls_mode == "starttls" else "none"
    return preset.tls_mode


def apply_preset(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the ``MAIL_PROVIDER`` preset filled in where the explicit variables are unset.

    Always sets ``IMAP_TLS_MODE`` and a consistent ``IMAP_SSL`` (``true`` only for implicit TLS), so
    ``load_config`` keeps working unchanged. Raises ConfigError listing every problem.
    """
    problems: list[str] = []
    preset = preset_for(env)
    out = {k: v for k, v in env.items()}

    def fill(name: str, value: object) -> None:
        if value is not None and _raw(out, name) is None:
            out[name] = str(value)

    mode = _tls_mode(env, preset, problems)
    out["IMAP_TLS_MODE"] = mode
    out["IMAP_SSL"] = "true" if mode == "ssl" else "false"
    fill("IMAP_HOST", preset.imap_host)
    port = preset.imap_port if mode == preset.tls_mode else _STANDARD_IMAP_PORT[mode]
    fill("IMAP_PORT", port)
    fill("IMAP_AUTH", preset.auth)
    fill("IMAP_MAX_CONNECTIONS", preset.max_connections)
    fill("AUTHSERV_ID", preset.authserv_id)
    if preset.smtp_host is not None or _raw(env, "SMTP_HOST") is not None:
        smtp_from_preset = _raw(env, "SMTP_HOST") is None
        fill("SMTP_HOST", preset.smtp_host)
        if smtp_from_preset or _raw(env, "SMTP_SECURITY") is None:
            fill("SMTP_SECURITY", preset.smtp_security)
        if _raw(out, "SMTP_SECURITY") == preset.smtp_security:
            fill("SMTP_PORT", preset.smtp_port)
        if smtp_from_preset:  # same account for sending unless told otherwise
            fill("SMTP_USER", _raw(env, "IMAP_USER"))
            fill("SMTP_PASSWORD", _raw(env, "IMAP_PASSWORD"))
    auth = (_raw(out, "IMAP_AUTH") or "password").lower()
    if auth not in AUTH_KINDS:
        problems.append(f"IMAP_AUTH={auth!r} must be password or oauth2")
    if _raw(out, "IMAP_HOST") is None and preset.name != "custom":
        problems.append(
            f"IMAP_HOST must be set for MAIL_PROVIDER={preset.name} ({preset.notes or 'no default'})"
        )
    if problems:
        raise ConfigError(problems)
    return out


def parse_extra_folders(value: str | None) -> tuple[str, ...]:
    """``IMAP_EXTRA_FOLDERS`` ("Junk, 垃圾邮件") -> ("Junk", "垃圾邮件"); duplicates dropped, order kept.

    ``junk``, ``sent`` and ``drafts`` in lower case name a role (resolved against the server later,
    see :func:`bot.adapters.mail.folders.resolve_folder`).
    """
    seen: dict[str, None] = {}
    for part in (value or "").split(","):
        name = part.strip()
        if name and name not in seen:
            seen[name] = None
    return tuple(seen)


def mailbox_options(env: Mapping[str, str]) -> MailboxOptions:
    """Read the IMAP options from an env that went through :func:`apply_preset`."""
    preset = preset_for(env)
    problems: list[str] = []
    mode = _tls_mode(env, preset, problems)
    auth = (_raw(env, "IMAP_AUTH") or preset.auth).lower()
    if auth not in AUTH_KINDS:
        problems.append(f"IMAP_AUTH={auth!r} must be password or oauth2")
    cap_raw = _raw(env, "IMAP_MAX_CONNECTIONS")
    cap = preset.max_connections
    if cap_raw is not None:
        try:
            cap = int(cap_raw)
            if cap < 1:
                raise ValueError(cap_raw)
        except ValueError:
            problems.append(f"IMAP_MAX_CONNECTIONS={cap_raw!r} is not a positive whole number")
    oauth_provider = _raw(env, "OAUTH_PROVIDER") or preset.oauth_provider
    if auth == "oauth2" and oauth_provider is None and _raw(env, "OAUTH_TOKEN_URL") is None:
        problems.append("IMAP_AUTH=oauth2 needs OAUTH_PROVIDER (google|microsoft) or OAUTH_TOKEN_URL")
    ca_file = _raw(env, "IMAP_CA_FILE")
    if problems:
        raise ConfigError(problems)
    return MailboxOptions(
        provider=preset.name,
        tls_mode=mode,
        ca_file=ca_file,
        auth=auth,
        oauth_provider=oauth_provider,
        extra_folders=parse_extra_folders(_raw(env, "IMAP_EXTRA_FOLDERS")),
        max_connections=cap,
        send_id=preset.send_id,
        folder_hints=preset.folder_hints(),
    )


def plan_connections(folders: Sequence[str], cap: int | None) -> list[str]:
    """Warnings for the connection plan: one IDLE connection per watched folder plus one for writes.

    Returns an empty list when the plan fits within ``cap`` (None: no known cap).

    >>> plan_connections(["INBOX", "Sent", "Junk"], 3)[0][:40]
    'the plan needs 4 IMAP connections (3 IDL'
    """
    watched = list(dict.fromkeys(folders))
    needed = len(watched) + 1
    if cap is None or needed <= cap:
        return []
    return [
        f"the plan needs {needed} IMAP connections ({len(watched)} IDLE for {', '.join(watched)} "
        f"+ 1 short-lived for writes) but the provider allows {cap}; other mail clients on the same "
        "account count too. Drop folders from IMAP_EXTRA_FOLDERS or raise IMAP_MAX_CONNECTIONS "
        "if your provider allows more."
    ]


def is_loopback(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("127.")
