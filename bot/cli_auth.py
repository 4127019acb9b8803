"""``inquiry-bot auth``: the one-time OAuth2 device-code sign-in for the shared mailbox.

``add_commands(subparsers)`` registers the sub-command; ``run_auth(env, out)`` does the work (the
CLI passes ``os.environ`` after ``.env`` was loaded). It prints the verification URL and the user
code, polls the token endpoint, and stores the tokens in ``DATA_DIR/oauth-token.json`` (mode 0600).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from bot.errors import ConfigError
from bot.oauth import TOKEN_FILE, OAuthClient, OAuthError, TokenStore, oauth_settings
from bot.providers import apply_preset, mailbox_options


def token_path(env: Mapping[str, str]) -> Path:
    return Path((env.get("DATA_DIR") or "").strip() or "./data") / TOKEN_FILE


def run_auth(
    env: Mapping[str, str],
    out: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Walk the user through the device-code flow; 0 on success, 1 on refusal, 2 on bad configuration."""
    try:
        full = apply_preset(env)
        options = mailbox_options(full)
        settings = oauth_settings(full, options.oauth_provider)
    except ConfigError as e:
        out.write(f"inquiry-bot auth: {e}\n")
        return 2
    if options.auth != "oauth2":
        out.write(
            f"inquiry-bot auth: IMAP_AUTH is {options.auth!r} for MAIL_PROVIDER={options.provider}; "
            "set IMAP_AUTH=oauth2 to sign in with OAuth2\n"
        )
        return 2
    client = OAuthClient(settings)
    store = TokenStore(token_path(full))
    try:
        device = client.start_device_flow()
        out.write(
            f"To let Inquiry Desk read the mailbox {full.get('IMAP_USER', '')}:\n"
            f"  1. open {device.verification_uri}\n"
            f"  2. enter the code {device.user_code}\n"
            "  3. sign in as the shared mailbox (or an account with access to it) and approve.\n"
            "Waiting for the approval...\n"
        )
        out.flush()
        tokens = client.poll_device_flow(device, sleep=sleep)
        store.save(tokens)
    except OAuthError as e:
        out.write(f"inquiry-bot auth: {e}\n")
        return 1
    out.write(f"Signed in. Tokens saved to {store.path} (readable by this user only).\n")
    if not tokens.refresh_token:
        out.write("warning: no refresh token was issued; you will have to sign in again within the hour\n")
    return 0


def _cmd_auth(args: argparse.Namespace) -> int:
    return run_auth(os.environ, sys.stdout)


def add_commands(subparsers: Any) -> None:
    """Register ``auth`` on the CLI's ``argparse`` sub-parsers (sets ``func`` to the handler)."""
    parser = subparsers.add_parser(
        "auth",
        help="one-time OAuth2 sign-in for Google Workspace / Microsoft 365 mailboxes (device code)",
        description="Prints a URL and a code; open it in any browser and approve. Tokens go to DATA_DIR.",
    )
    parser.set_defaults(func=_cmd_auth)
