"""OAuth2 settings for the mailbox (``OAUTH_*``): which endpoints, scope and sign-in flow.

The token calls, the token file and refresh live in :mod:`bot.adapters.mail.oauth`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.errors import ConfigError

TOKEN_FILE = "oauth-token.json"
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
MICROSOFT_SCOPE = (
    "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access"
)


@dataclass(frozen=True)
class OAuthSettings:
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_url: str = ""
    device_url: str = ""
    scope: str = ""
    provider: str = "custom"  # "google" | "microsoft" | "custom"
    auth_url: str = ""  # authorization endpoint (browser sign-in); empty: device-code flow
    redirect_port: int | None = None  # fixed loopback port for the redirect; None: a free one
    redirect_timeout: float = 300.0  # seconds to wait for the browser to come back

    @property
    def flow(self) -> str:
        """``loopback`` (authorization code + PKCE in a browser) or ``device`` (device code)."""
        return "loopback" if self.auth_url else "device"


def oauth_settings(env: Mapping[str, str], provider: str | None) -> OAuthSettings:
    """Settings from ``OAUTH_CLIENT_ID``, ``OAUTH_CLIENT_SECRET``, ``OAUTH_TENANT`` and overrides."""

    def raw(name: str) -> str | None:
        v = (env.get(name) or "").strip()
        return v or None

    problems: list[str] = []
    client_id = raw("OAUTH_CLIENT_ID")
    if client_id is None:
        problems.append(
            "OAUTH_CLIENT_ID must be set for IMAP_AUTH=oauth2 (register an app, see docs/providers.md)"
        )
    kind = (provider or "custom").lower()
    auth_url = ""
    if kind == "google":
        # Google's device flow cannot grant the Gmail scope: Google signs in through the browser.
        token_url, device_url, scope = "https://oauth2.googleapis.com/token", "", GOOGLE_SCOPE
        auth_url = GOOGLE_AUTH_URL
    elif kind == "microsoft":
        tenant = raw("OAUTH_TENANT") or "organizations"
        base = f"https://login.microsoftonline.com/{urllib.parse.quote(tenant)}/oauth2/v2.0"
        token_url, device_url, scope = f"{base}/token", f"{base}/devicecode", MICROSOFT_SCOPE
    else:
        token_url, device_url, scope = "", "", ""
    token_url = raw("OAUTH_TOKEN_URL") or token_url
    device_url = raw("OAUTH_DEVICE_URL") or device_url
    auth_url = raw("OAUTH_AUTH_URL") or auth_url
    scope = raw("OAUTH_SCOPE") or scope
    if not token_url:
        problems.append("OAUTH_TOKEN_URL must be set when OAUTH_PROVIDER is not google or microsoft")
    redirect_port: int | None = None
    port_text = raw("OAUTH_REDIRECT_PORT")
    if port_text is not None:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            problems.append(f"OAUTH_REDIRECT_PORT must be a port number (1-65535), not {port_text!r}")
        else:
            redirect_port = int(port_text) or None
    redirect_timeout = 300.0
    timeout_text = raw("OAUTH_REDIRECT_TIMEOUT")
    if timeout_text is not None:
        try:
            redirect_timeout = float(timeout_text)
        except ValueError:
            redirect_timeout = -1.0
        if not 0 < redirect_timeout < 86400:
            problems.append(
                f"OAUTH_REDIRECT_TIMEOUT must be a number of seconds (e.g. 300), not {timeout_text!r}"
            )
    if problems:
        raise ConfigError(problems)
    return OAuthSettings(
        client_id=client_id or "",
        client_secret=raw("OAUTH_CLIENT_SECRET"),
        token_url=token_url,
        device_url=device_url,
        scope=scope,
        provider=kind,
        auth_url=auth_url,
        redirect_port=redirect_port,
        redirect_timeout=redirect_timeout,
    )
