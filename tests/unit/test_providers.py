"""Provider presets, TLS mode, extra folders, connection plan and localized folder names (no network)."""

from __future__ import annotations

import re

import pytest

from bot.adapters.mail.folders import pick_folder, resolve_folder
from bot.config.providers import (
    PRESETS,
    apply_preset,
    mailbox_options,
    parse_extra_folders,
    plan_connections,
)
from bot.config.settings import load_config
from bot.core.errors import ConfigError
from tests.paths import REPO

DOCS = REPO / "docs" / "providers.md"


def test_exmail_preset_fills_imap_and_smtp_with_implicit_tls() -> None:
    env = apply_preset({"MAIL_PROVIDER": "exmail", "IMAP_USER": "sales@acme.cn", "IMAP_PASSWORD": "pw"})
    assert env["IMAP_HOST"] == "imap.exmail.qq.com"
    assert (env["IMAP_PORT"], env["IMAP_TLS_MODE"], env["IMAP_SSL"]) == ("993", "ssl", "true")
    assert (env["SMTP_HOST"], env["SMTP_PORT"], env["SMTP_SECURITY"]) == ("smtp.exmail.qq.com", "465", "ssl")
    assert env["SMTP_USER"] == "sales@acme.cn" and env["SMTP_PASSWORD"] == "pw"
    assert env["IMAP_AUTH"] == "password"


def test_explicit_variables_always_win_over_the_preset() -> None:
    env = apply_preset(
        {
            "MAIL_PROVIDER": "zoho",
            "IMAP_HOST": "imap.zoho.eu",
            "IMAP_PORT": "1993",
            "SMTP_HOST": "smtp.zoho.eu",
            "SMTP_SECURITY": "starttls",
            "SMTP_PORT": "2587",
            "SMTP_USER": "bot@acme.eu",
        }
    )
    assert (env["IMAP_HOST"], env["IMAP_PORT"]) == ("imap.zoho.eu", "1993")
    assert (env["SMTP_HOST"], env["SMTP_SECURITY"], env["SMTP_PORT"]) == ("smtp.zoho.eu", "starttls", "2587")
    assert env["SMTP_USER"] == "bot@acme.eu"


def test_m365_uses_oauth2_and_smtp_starttls_on_587() -> None:
    env = apply_preset({"MAIL_PROVIDER": "m365"})
    assert env["IMAP_HOST"] == "outlook.office365.com" and env["IMAP_PORT"] == "993"
    assert (env["SMTP_HOST"], env["SMTP_PORT"], env["SMTP_SECURITY"]) == (
        "smtp.office365.com",
        "587",
        "starttls",
    )
    assert env["IMAP_AUTH"] == "oauth2"
    assert mailbox_options(env).oauth_provider == "microsoft"


def test_choosing_starttls_on_a_tls_preset_moves_to_port_143() -> None:
    env = apply_preset({"MAIL_PROVIDER": "zoho", "IMAP_TLS_MODE": "starttls"})
    assert (env["IMAP_PORT"], env["IMAP_SSL"]) == ("143", "false")


def test_proton_bridge_loads_as_starttls_on_1143_with_ca_file() -> None:
    env = apply_preset(
        {
            "MAIL_PROVIDER": "proton-bridge",
            "IMAP_USER": "sales@proton.me",
            "IMAP_PASSWORD": "bridge-pw",
            "IMAP_CA_FILE": "/etc/inquiry/bridge.pem",
        }
    )
    config = load_config(env)
    assert config.imap is not None
    assert (config.imap.host, config.imap.port, config.imap.ssl) == ("127.0.0.1", 1143, False)
    assert config.smtp is not None and (config.smtp.port, config.smtp.security) == (1025, "starttls")
    opts = mailbox_options(env)
    assert (opts.tls_mode, opts.ca_file) == ("starttls", "/etc/inquiry/bridge.pem")


def test_imap_ssl_false_without_preset_still_means_plain_imap() -> None:
    env = apply_preset({"IMAP_HOST": "127.0.0.1", "IMAP_SSL": "false"})
    assert env["IMAP_TLS_MODE"] == "none" and "IMAP_PORT" in env and env["IMAP_PORT"] == "143"


def test_custom_preset_leaves_unset_values_unset() -> None:
    env = apply_preset({"IMAP_HOST": "mail.acme.com"})
    assert "SMTP_HOST" not in env and env["IMAP_TLS_MODE"] == "ssl" and env["IMAP_PORT"] == "993"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        apply_preset({"MAIL_PROVIDER": "umail", "IMAP_TLS_MODE": "tls1.3", "IMAP_AUTH": "kerberos"})
    text = str(err.value)
    assert (
        "IMAP_TLS_MODE='tls1.3'" in text
        and "IMAP_AUTH='kerberos'" in text
        and "IMAP_HOST must be set" in text
    )


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="exmail"):
        apply_preset({"MAIL_PROVIDER": "yahoo"})


def test_contradicting_imap_ssl_and_tls_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="contradicts"):
        apply_preset({"IMAP_HOST": "h", "IMAP_SSL": "true", "IMAP_TLS_MODE": "starttls"})


def test_extra_folders_are_parsed_in_order_without_duplicates() -> None:
    assert parse_extra_folders(" Junk, 垃圾邮件 ,,Junk") == ("Junk", "垃圾邮件")
    opts = mailbox_options(apply_preset({"IMAP_HOST": "h", "IMAP_EXTRA_FOLDERS": "junk,Other"}))
    assert opts.extra_folders == ("junk", "Other")


def test_connection_cap_comes_from_the_preset_and_can_be_overridden() -> None:
    assert mailbox_options(apply_preset({"MAIL_PROVIDER": "netease"})).max_connections == 5
    opts = mailbox_options(apply_preset({"MAIL_PROVIDER": "netease", "IMAP_MAX_CONNECTIONS": "8"}))
    assert opts.max_connections == 8 and opts.send_id is True
    with pytest.raises(ConfigError, match="IMAP_MAX_CONNECTIONS"):
        mailbox_options({"IMAP_MAX_CONNECTIONS": "0"})


def test_oauth2_on_a_custom_server_needs_a_token_endpoint() -> None:
    with pytest.raises(ConfigError, match="OAUTH_TOKEN_URL"):
        mailbox_options(apply_preset({"IMAP_HOST": "h", "IMAP_AUTH": "oauth2"}))


def test_connection_plan_warns_only_above_the_cap() -> None:
    assert plan_connections(["INBOX", "Sent"], 3) == []
    assert plan_connections(["INBOX", "Sent", "Junk"], None) == []
    (warning,) = plan_connections(["INBOX", "Sent", "Junk", "INBOX"], 3)
    assert "needs 4 IMAP connections" in warning and "allows 3" in warning


def test_every_preset_is_consistent() -> None:
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.tls_mode in {"ssl", "starttls", "none"} and p.smtp_security in {"ssl", "starttls", "none"}
        assert p.auth in {"password", "oauth2"}
        assert (p.auth == "oauth2") == (p.oauth_provider is not None)


def test_docs_table_has_a_row_for_every_preset() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.M))
    assert rows >= set(PRESETS)


# -- folders ------------------------------------------------------------------------------------------
def _entries(
    *names: str, flags: dict[str, bytes] | None = None
) -> list[tuple[tuple[bytes, ...], bytes, str]]:
    flags = flags or {}
    return [((b"\\HasNoChildren", *((flags[n],) if n in flags else ())), b"/", n) for n in names]


def test_localized_sent_and_drafts_are_found_without_special_use() -> None:
    folders = _entries("INBOX", "已发送", "草稿箱", "垃圾邮件")
    assert pick_folder(folders, "sent") == "已发送"
    assert pick_folder(folders, "drafts") == "草稿箱"
    assert pick_folder(folders, "junk") == "垃圾邮件"


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Sent Messages", "sent"),
        ("Gesendete Elemente", "sent"),
        ("Elementos enviados", "sent"),
        ("Éléments envoyés", "sent"),
        ("Posta inviata", "sent"),
        ("Отправленные", "sent"),
        ("已發送", "sent"),
        ("已发邮件", "sent"),
        ("草稿", "drafts"),
        ("INBOX/Черновики", "drafts"),
        ("Junk E-mail", "junk"),
    ],
)
def test_known_localized_names_are_recognised(name: str, role: str) -> None:
    assert pick_folder(_entries("INBOX", name), role) == name


def test_special_use_wins_over_names_and_preset_hints() -> None:
    folders = _entries("Sent", "Sent Messages", "Outbox", flags={"Outbox": b"\\Sent"})
    assert pick_folder(folders, "sent", prefer=("Sent Messages",)) == "Outbox"


def test_preset_hints_are_tried_before_the_generic_names() -> None:
    folders = _entries("Sent", "Sent Messages")
    assert pick_folder(folders, "sent") == "Sent"
    assert pick_folder(folders, "sent", prefer=("Sent Messages",)) == "Sent Messages"


def test_extra_folder_resolves_a_role_or_a_literal_name() -> None:
    folders = _entries("INBOX", "Spam", "Other")
    assert resolve_folder(folders, "junk") == "Spam"
    assert resolve_folder(folders, "other") == "Other"
    assert resolve_folder(folders, "Archive") is None
