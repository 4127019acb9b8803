"""Command line: ``inquiry-bot run | demo | triage | doctor | …`` (also ``python -m bot``).

This is the composition root's front door: the only place that loads ``.env`` and
configures logging. Bad input gets a usage line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config.settings import Config, load_config
from bot.core.errors import ConfigError


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("slack_bolt", "slack_sdk", "apscheduler", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def config_problems(e: ConfigError) -> int:
    """The one way a configuration error reaches the operator (run, doctor and the rest): the
    whole list on stderr, no traceback, exit status 2."""
    print(f"inquiry-bot: {e}", file=sys.stderr)
    print("See .env.example for every setting.", file=sys.stderr)
    return 2


def _config() -> Config:
    try:
        return load_config(os.environ)
    except ConfigError as e:
        raise SystemExit(config_problems(e)) from e


def cmd_triage(args: argparse.Namespace) -> int:
    from bot.core.models import Lane
    from bot.desk.triage_context import Trust, load_screener, triage_config
    from bot.intake.parse import parse_email
    from bot.triage import triage
    from bot.trust import authentication_results

    config = _config()
    tconf = triage_config(config)
    trust = Trust(config, load_screener(config))
    status = 0
    for name in args.files:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as e:
            print(f"inquiry-bot triage: cannot read {name}: {e.strerror}", file=sys.stderr)
            status = 1
            continue
        email = parse_email(raw)
        verdict = triage(email, tconf)
        found = trust.warnings(email, verdict, authentication_results(raw))
        codes = {w.code for w in verdict.warnings}  # lure_suspected comes with the verdict
        warnings = (*verdict.warnings, *(w for w in found if w.code not in codes))
        if args.json:
            print(
                json.dumps(
                    {
                        "file": name,
                        "is_inquiry": verdict.is_inquiry,
                        "lane": verdict.lane.value,
                        "risk": {
                            "score": float(verdict.risk.score),
                            "signals": [
                                {"name": x.name, "weight": x.weight, "evidence": x.evidence}
                                for x in verdict.risk.signals
                            ],
                        },
                        "category": verdict.category.value,
                        "reason": verdict.reason,
                        "language": verdict.language,
                        "country": verdict.country,
                        "market": verdict.market.value,
                        "tier": verdict.tier.value if verdict.tier else None,
                        "sla_hours": verdict.sla_hours,
                        "reasons": list(verdict.reasons),
                        "company": verdict.company,
                        "warnings": [{"code": w.code, "detail": w.detail} for w in warnings],
                        "defects": list(email.defects),
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
        else:
            tier = verdict.tier.value if verdict.tier else "-"
            kind = {
                Lane.INQUIRY: "INQUIRY",
                Lane.REVIEW: "REVIEW (check first)",
                Lane.FILTERED: f"filtered ({verdict.category.value})",
            }[verdict.lane]
            print(
                f"{name}: {kind}  tier {tier}  {verdict.language}  {verdict.country or '??'}/"
                f"{verdict.market.value}  SLA {verdict.sla_hours:g} h  risk {verdict.risk.score:g}"
            )
            print(f"    reason: {verdict.reason}")
            for x in verdict.risk.signals:
                print(f"    ~ {x.name} ({x.weight:+g}){': ' + x.evidence if x.evidence else ''}")
            for r in verdict.reasons:
                print(f"    - {r}")
            for w in warnings:
                print(f"    ! {w.code}: {w.detail}")
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.app.demo import run_demo

    return run_demo(_config(), lang=args.lang, out=sys.stdout)


def cmd_run(args: argparse.Namespace) -> int:
    config = _config()
    _setup_logging(config.log_level)
    if config.slack is None:
        print(
            "No Slack credentials (SLACK_BOT_TOKEN is not set): running the offline demo instead.\n"
            "To connect the real desk, follow 'Connect Slack and the mailbox' in README.md.\n",
            file=sys.stderr,
        )
        from bot.app.demo import run_demo

        return run_demo(config, lang=config.team_language, out=sys.stdout)
    from bot.adapters.store.coordination import InstanceLocked
    from bot.app.wiring import run_app

    try:
        return run_app(config)
    except ConfigError as e:  # found while starting, e.g. BOT_HTTP_PORT already in use
        return config_problems(e)
    except InstanceLocked as e:  # a second process on the same TinyDB files
        print(f"inquiry-bot: {e}", file=sys.stderr)
        return 2


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.app.doctor import explain_config_problems, run_doctor

    try:
        config = load_config(os.environ)
    except ConfigError as e:
        code = config_problems(e)  # the same list as `run` prints
        explain_config_problems(os.environ, sys.stdout)
        return code
    env_file = getattr(args, "env_file", None)
    return run_doctor(config, out=sys.stdout, env_file=Path(env_file) if env_file else None)


def cmd_screening_update(args: argparse.Namespace) -> int:
    from urllib.parse import urlparse

    from bot.trust import ScreeningError, fetch_list, load_list

    config = _config()
    urls = [u for u in config.screening_lists if u.startswith(("http://", "https://"))]
    if not urls:
        print("SCREENING_LISTS names no http(s) URL: nothing to download.", file=sys.stderr)
        return 1
    status = 0
    for url in urls:
        try:
            path = fetch_list(url, config.data_dir / "screening")
            entries = len(load_list(path).entries)
            print(f"{urlparse(url).netloc}{urlparse(url).path}: {entries} entries -> {path}")
        except (ScreeningError, OSError) as e:
            print(f"inquiry-bot screening update: {url}: {e} (the previous copy is kept)", file=sys.stderr)
            status = 1
    return status


def version() -> str:
    """The installed package's version (the source tree's when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("inquiry-desk")
    except PackageNotFoundError:  # pragma: no cover - run from a tree that was never installed
        return "unknown"


ENV_FILE_HELP = (
    "read settings from PATH before the environment is used (default: .env in the current folder; "
    "variables already set in the environment win); may be given anywhere on the line"
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="inquiry-bot",
        description="Inquiry Desk: the shared sales mailbox in Slack. Settings come from the "
        "environment and .env (see .env.example); without a command, `run`.",
        epilog="Run `inquiry-bot COMMAND --help` for a command's options.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}", help="print the version")
    p.add_argument("--env-file", metavar="PATH", default=".env", help=ENV_FILE_HELP)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="watch the mailbox and serve the Slack desk (offline demo without credentials)",
        description="Watch the mailbox, post cards, answer clicks and commands (Socket Mode with "
        "SLACK_APP_TOKEN, else HTTP mode on BOT_HTTP_PORT), send SLA pings and digests. Stops "
        "cleanly on SIGTERM or Ctrl-C. Without SLACK_BOT_TOKEN it runs the offline demo.",
    )
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser(
        "demo",
        help="run the whole pipeline offline on the bundled sample emails",
        description="Triage the bundled sample emails and print the cards, a draft and the "
        "filtered mail; no mailbox, no Slack, no network.",
    )
    demo.add_argument(
        "--lang", choices=["en", "zh"], default=None, help="language of the bot text (default: TEAM_LANGUAGE)"
    )
    demo.set_defaults(func=cmd_demo)
    tri = sub.add_parser(
        "triage",
        help="triage .eml files and print the verdicts",
        description="Print each file's verdict (inquiry, review or filtered), tier, language, "
        "market, SLA, risk signals and trust warnings; nothing is stored or posted.",
    )
    tri.add_argument("--json", action="store_true", help="one JSON object per file per line")
    tri.add_argument("files", nargs="+", metavar="FILE.eml", help="raw emails (.eml) to triage")
    tri.set_defaults(func=cmd_triage)
    doc = sub.add_parser(
        "doctor",
        help="check the configuration and every connection",
        description="Check every setting and connection and say what to fix: the store and its "
        "permissions, screening lists, IMAP, SMTP login (no mail sent), the Slack bot token and "
        "its scopes, the app token, the channel, the LLM. Creates and sends nothing. Exit status "
        "0 when nothing failed, 1 when something did, 2 when the configuration is refused.",
    )
    doc.set_defaults(func=cmd_doctor)
    scr = sub.add_parser(
        "screening",
        help="sanctions and export-control screening lists",
        description="Manage the SCREENING_LISTS files that buyers are screened against.",
    )
    scr_sub = scr.add_subparsers(dest="screening_command", metavar="ACTION", required=True)
    upd = scr_sub.add_parser(
        "update",
        help="download the SCREENING_LISTS URLs into DATA_DIR/screening",
        description="Download every http(s) URL in SCREENING_LISTS; a failed download keeps the old copy.",
    )
    upd.set_defaults(func=cmd_screening_update)
    from bot.app.cli.auth import add_commands as add_auth_commands
    from bot.app.cli.records import add_commands as add_record_commands

    add_auth_commands(sub)

    add_record_commands(sub)
    from bot.app.cli.store import add_commands as add_store_commands

    add_store_commands(sub)
    return p


def _env_file(argv: list[str]) -> str:
    """Take ``--env-file PATH`` / ``--env-file=PATH`` out of ``argv`` (anywhere on the line)."""
    for i, arg in enumerate(argv):
        if arg == "--env-file":
            value = argv[i + 1] if i + 1 < len(argv) else ".env"
            del argv[i : i + 2]
            return value
        if arg.startswith("--env-file="):
            del argv[i]
            return arg.split("=", 1)[1] or ".env"
    return ".env"


def main(argv: Sequence[str] | None = None) -> int:
    # Everything written under DATA_DIR (mail, inquiries, the audit log, tokens) is private:
    # files 0600, folders 0700, whatever the shell's umask (the store also sets modes itself).
    # Restored on return, for callers that run a command in their own process (tests).
    previous = os.umask(0o077)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env_file = _env_file(argv)  # before parsing: the settings it holds are read first
    try:
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        pass
    parser = build_parser()
    args = parser.parse_args(argv or ["run"])
    args.env_file = env_file
    if not getattr(args, "func", None):
        parser.print_usage(sys.stderr)
        return 2
    try:
        result: int = args.func(args)
    except ConfigError as e:  # e.g. PROMPTS_DIR's company profile is missing or has a bad spec regex
        print(f"inquiry-bot: {e}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
