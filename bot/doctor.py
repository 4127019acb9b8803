"""``inquiry-bot doctor``: check the configuration and each connection, say what to fix."""

from __future__ import annotations

from typing import TextIO

from bot.config import Config


def _line(out: TextIO, ok: bool | None, what: str, detail: str = "") -> None:
    mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
    out.write(f"[{mark}] {what}{': ' + detail if detail else ''}\n")


def check_imap(config: Config, out: TextIO) -> bool:
    if config.imap is None:
        _line(out, None, "IMAP", "IMAP_HOST is not set: no mailbox will be watched")
        return True
    from bot.mail.connect import doctor_imap_report
    from bot.watching import connection

    spec, tokens = connection(config)
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


def check_store(config: Config, out: TextIO) -> bool:
    from bot.outbox import Outbox
    from bot.store.repo import Store

    try:
        store = Store(config.data_dir)
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


def run_doctor(config: Config, out: TextIO) -> int:
    out.write("Configuration: ok (every variable parsed)\n")
    results = [
        check_store(config, out),
        check_imap(config, out),
        check_slack(config, out),
        check_llm(config, out),
    ]
    return 0 if all(results) else 1
