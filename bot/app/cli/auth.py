"""``inquiry-bot auth``: the one-time OAuth2 sign-in for the shared mailbox.

``add_commands(subparsers)`` registers the sub-command; ``run_auth(env, out)`` does the work (the
CLI passes ``os.environ`` after ``.env`` was loaded). Google (and any provider with an authorization
endpoint, ``OAUTH_AUTH_URL``) signs in through the browser: loopback redirect to ``127.0.0.1`` with
PKCE (:mod:`~bot.adapters.mail.oauth_loopback`).
Microsoft keeps the device code: a URL and a code to enter. Either
way the tokens go to ``DATA_DIR/oauth-token.json`` (mode 0600), where the bot refreshes them; with
``STORE_URL=postgresql://…`` they go into the PostgreSQL store instead, where every instance reads
and refreshes them (:mod:`bot.adapters.mail.oauth_shared`).

Exit codes: 0 signed in; 2 for anything else (bad configuration, declined, state mismatch, no
redirect in time, the token endpoint refused), always with one line saying what to do and no
traceback; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from bot.adapters.mail.oauth import OAuthClient, OAuthError, TokenKeeper, TokenSet, TokenStore
from bot.adapters.mail.oauth_loopback import sign_in
from bot.config.oauth import TOKEN_FILE, oauth_settings
from bot.config.providers import apply_preset, mailbox_options
from bot.core.errors import ConfigError, StoreError


def token_path(env: Mapping[str, str]) -> Path:
    return Path((env.get("DATA_DIR") or "").strip() or "./data") / TOKEN_FILE


def postgres_url(env: Mapping[str, str]) -> str | None:
    """``STORE_URL`` when it names a PostgreSQL store (the tokens then go there), else None."""
    url = (env.get("STORE_URL") or "").strip()
    return url if url.startswith(("postgresql://", "postgres://")) else None


@contextlib.contextmanager
def shared_keeper(url: str) -> Iterator[TokenKeeper]:
    """The token keeper in the PostgreSQL store at ``url`` (opened, migrated, closed after)."""
    from bot.adapters.mail.oauth_shared import StoredTokens
    from bot.adapters.store.postgres.pool import redact_url
    from bot.app.store import shared_store

    with shared_store(url) as (store, coordination):
        yield StoredTokens(store, coordination, where=f"the PostgreSQL store {redact_url(url)}")


def open_local_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser when this machine has one; False otherwise.

    On Linux without ``DISPLAY``/``WAYLAND_DISPLAY`` (a server over SSH) nothing is tried, so a text
    browser never takes over the terminal; ``BROWSER`` set by the user is always honoured.
    """
    graphical = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and not graphical and not os.environ.get("BROWSER"):
        return False
    try:
        return bool(webbrowser.open(url, new=1))
    except webbrowser.Error:
        return False


def run_auth(
    env: Mapping[str, str],
    out: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
    open_browser: Callable[[str], bool] | None = None,
    err: TextIO | None = None,
) -> int:
    """Sign in (browser loopback or device code); 0 on success, 2 on any failure (one line on ``err``)."""
    errors = err or out

    def fail(message: str, code: int = 2) -> int:
        errors.write(f"inquiry-bot auth: {message}\n")
        errors.flush()
        return code

    try:
        full = apply_preset(env)
        options = mailbox_options(full)
        settings = oauth_settings(full, options.oauth_provider)
    except ConfigError as e:
        return fail("; ".join(e.problems))
    if options.auth != "oauth2":
        return fail(
            f"IMAP_AUTH is {options.auth!r} for MAIL_PROVIDER={options.provider}; "
            "set IMAP_AUTH=oauth2 to sign in with OAuth2"
        )
    client = OAuthClient(settings)
    url = postgres_url(full)
    mailbox = (full.get("IMAP_USER") or "").strip()
    with contextlib.ExitStack() as stack:
        store: TokenKeeper = TokenStore(token_path(full))
        try:
            if url is not None:  # opened before the sign-in: a wrong STORE_URL fails first
                store = stack.enter_context(shared_keeper(url))
            if settings.flow == "loopback":
                tokens = _browser_sign_in(client, out, mailbox, open_browser)
            else:
                tokens = _device_sign_in(client, out, mailbox, sleep)
            with store.exclusive():  # not while a running instance refreshes
                store.save(tokens)
        except (OAuthError, StoreError) as e:
            return fail(str(e))
        except OSError as e:
            return fail(f"cannot save the tokens to {store.where}: {e.strerror or type(e).__name__}")
        except KeyboardInterrupt:
            return fail("interrupted; nothing was saved", 130)
    if url is None:
        out.write(f"Signed in. Tokens saved to {store.where} (readable by this user only).\n")
    else:
        out.write(f"Signed in. Tokens saved to {store.where}, where every instance reads them.\n")
    if not tokens.refresh_token:
        out.write("warning: no refresh token was issued; you will have to sign in again within the hour\n")
    return 0


def _browser_sign_in(
    client: OAuthClient, out: TextIO, mailbox: str, open_browser: Callable[[str], bool] | None
) -> TokenSet:
    timeout = client.settings.redirect_timeout

    def announce(url: str, redirect_uri: str, opened: bool) -> None:
        out.write(
            f"To let Inquiry Desk read the mailbox {mailbox}, open this address in a browser"
            f"{' (it was opened for you)' if opened else ''}:\n\n{url}\n\n"
            "Sign in as the shared mailbox (or an account with access to it) and allow access.\n"
        )
        if not opened:
            port = redirect_uri.rsplit(":", 1)[1].rstrip("/")
            out.write(
                f"The browser must reach {redirect_uri} on this machine. On a server without a\n"
                "browser: set OAUTH_REDIRECT_PORT (e.g. 8765), connect with\n"
                f"`ssh -L {port}:127.0.0.1:{port} this-server` and open the address on your computer.\n"
            )
        out.write(f"Waiting up to {timeout:g} s for the browser to come back...\n")
        out.flush()

    return sign_in(client, announce=announce, open_browser=open_browser, login_hint=mailbox or None)


def _device_sign_in(
    client: OAuthClient, out: TextIO, mailbox: str, sleep: Callable[[float], None]
) -> TokenSet:
    device = client.start_device_flow()
    out.write(
        f"To let Inquiry Desk read the mailbox {mailbox}:\n"
        f"  1. open {device.verification_uri}\n"
        f"  2. enter the code {device.user_code}\n"
        "  3. sign in as the shared mailbox (or an account with access to it) and approve.\n"
        "Waiting for the approval...\n"
    )
    out.flush()
    return client.poll_device_flow(device, sleep=sleep)


def _cmd_auth(args: argparse.Namespace) -> int:
    opener = None if args.no_browser else open_local_browser
    return run_auth(os.environ, sys.stdout, open_browser=opener, err=sys.stderr)


def add_commands(subparsers: Any) -> None:
    """Register ``auth`` on the CLI's ``argparse`` sub-parsers (sets ``func`` to the handler)."""
    parser = subparsers.add_parser(
        "auth",
        help="one-time OAuth2 sign-in for Google Workspace (browser) / Microsoft 365 (device code)",
        description=(
            "Google: prints a sign-in address (and opens it when a browser is available); the browser "
            "comes back to 127.0.0.1 on this machine (OAUTH_REDIRECT_PORT fixes the port, "
            "OAUTH_REDIRECT_TIMEOUT the wait). Microsoft: prints a URL and a code to enter in any "
            "browser. Tokens are saved to DATA_DIR/oauth-token.json, or into the store when STORE_URL "
            "is postgresql://…"
        ),
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the sign-in address, do not try to open a browser",
    )
    parser.set_defaults(func=_cmd_auth)
