"""Prompt files: loading, strict ``${name}`` rendering, scenarios and the scenario choice.

Everything the drafter says comes from files under ``PROMPTS_DIR`` (default: the bundled ``prompts/``),
which the team edits: ``system.md``, ``scenarios/<name>.md``, ``company_profile.toml`` and offline
templates ``templates/<lang>.json``. ``PromptLibrary.load()`` reads and validates them all at start-up,
so a broken file fails the boot, not a draft::

    lib = PromptLibrary.load()
    lib.template("vi")["greeting"]          # 'Kính gửi ${buyer_name},'
    render("Hi ${name}", {"name": "Ana"})   # 'Hi Ana'
    render("Hi ${name}", {})                # raises TemplateError
"""

from __future__ import annotations

import json
import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.core.errors import TemplateError
from bot.core.models import Inquiry, Status
from bot.core.names import REGIONAL_LANGUAGES, language_display_name
from bot.triage.profile import without_triage_fields


def _bundled_prompts() -> Path:
    """prompts/ as shipped: inside the installed package (``bot/prompts``, copied there by the build
    step in setup.py), else the repository's top-level ``prompts/`` (a checkout, an editable install)."""
    package = Path(__file__).resolve().parents[1]
    return package / "prompts" if (package / "prompts").is_dir() else package.parent / "prompts"


BUNDLED_PROMPTS_DIR: Path = _bundled_prompts()
# The team's own files: PROMPTS_DIR from the environment (the entry point has read .env by now).
PROMPTS_DIR: Path = Path(os.environ.get("PROMPTS_DIR") or BUNDLED_PROMPTS_DIR).expanduser()

FIRST_REPLY = "first_reply"
QUOTATION_FOLLOWUP = "quotation_followup"
SAMPLES = "samples"
ORDER_CONFIRMATION = "order_confirmation"
AFTER_SALES = "after_sales"
SILENCE_FOLLOWUP = "silence_followup"
SCENARIOS: tuple[str, ...] = (
    FIRST_REPLY,
    QUOTATION_FOLLOWUP,
    SAMPLES,
    ORDER_CONFIRMATION,
    AFTER_SALES,
    SILENCE_FOLLOWUP,
)
TEMPLATE_PARTS: tuple[str, ...] = ("greeting", "greeting_unknown", "closing", "details_line")
DEFAULT_LANGUAGE = "en"

# Names for languages that have no offline template (the template files name their own language).


class _StrictTemplate(string.Template):
    """``${name}`` placeholders only; ``$$`` is a literal dollar sign."""

    braceidpattern = r"[A-Za-z_][A-Za-z0-9_]*"


def render(template_text: str, variables: Mapping[str, str]) -> str:
    """Substitute ``${name}`` placeholders; raise ``TemplateError`` on a missing or malformed one.

    Values are inserted verbatim and never re-scanned, so buyer text containing ``${x}`` is safe.
    """
    try:
        return _StrictTemplate(template_text).substitute(variables)
    except KeyError as e:
        raise TemplateError(f"template needs variable {e.args[0]!r}, which was not given") from e
    except ValueError as e:
        raise TemplateError(f"malformed placeholder in template: {e}") from e


def normalize_language(code: str) -> str:
    """'pt-BR' -> 'pt', 'zh_TW' -> 'zh-tw', 'ZH' -> 'zh', '' -> 'und'."""
    code = code.strip().lower().replace("_", "-")
    if not code:
        return "und"
    if code in REGIONAL_LANGUAGES:
        return code
    return code.split("-", 1)[0]


def language_base(code: str) -> str:
    return normalize_language(code).split("-", 1)[0]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str  # first line of the scenario file
    instructions: str  # the rest


@dataclass(frozen=True)
class CompanyProfile:
    """The facts drafts may state, parsed from ``company_profile.toml``."""

    name: str
    website: str
    email: str
    phone: str
    certificates: tuple[str, ...]
    default_rep_name: str
    signature_template: str  # contains ${rep_name}
    source_text: str  # the file without comment lines, still with ${rep_name}

    def rep(self, rep_name: str) -> str:
        return rep_name.strip() or self.default_rep_name

    def signature(self, rep_name: str) -> str:
        return render(self.signature_template, {"rep_name": self.rep(rep_name)}).strip()

    def prompt_text(self, rep_name: str) -> str:
        """The profile as given to the model (and used as the checker's allow-list)."""
        return render(self.source_text, {"rep_name": self.rep(rep_name)}).strip()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise TemplateError(f"cannot read prompt file {path.name}: {e.strerror}") from e


def _load_profile(path: Path) -> CompanyProfile:
    raw = _read(path)
    try:
        data: dict[str, Any] = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"{path.name} is not valid TOML: {e}") from e
    try:
        company = data["company"]
        signature = str(data["signature"]["text"])
        certificates = tuple(str(c) for c in data.get("products", {}).get("certificates", ()))
        profile = CompanyProfile(
            name=str(company["name"]),
            website=str(company.get("website", "")),
            email=str(company.get("email", "")),
            phone=str(company.get("phone", "")),
            certificates=certificates,
            default_rep_name=str(company.get("default_rep_name", company["name"])),
            signature_template=signature,
            source_text=without_triage_fields(
                "\n".join(ln for ln in raw.splitlines() if not ln.lstrip().startswith("#"))
            ),
        )
    except (KeyError, TypeError) as e:
        raise TemplateError(f"{path.name} lacks a required field: {e}") from e
    profile.signature("x")  # validate placeholders now, not at draft time
    profile.prompt_text("x")
    return profile


def _load_scenario(path: Path, name: str) -> Scenario:
    text = _read(path).strip()
    title, _, rest = text.partition("\n")
    if not rest.strip():
        raise TemplateError(f"scenario file {path.name} needs a title line and instructions")
    return Scenario(name=name, title=title.strip(), instructions=rest.strip())


def _load_template(path: Path) -> Mapping[str, str]:
    try:
        data = json.loads(_read(path))
    except ValueError as e:
        raise TemplateError(f"template {path.name} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise TemplateError(f"template {path.name} must be a JSON object")
    missing = [k for k in (*TEMPLATE_PARTS, *SCENARIOS) if not isinstance(data.get(k), str) or not data[k]]
    if missing:
        raise TemplateError(f"template {path.name} lacks {', '.join(missing)}")
    return MappingProxyType({str(k): str(v) for k, v in data.items()})


@dataclass(frozen=True)
class PromptLibrary:
    """Every prompt file, loaded and validated once."""

    directory: Path
    system_template: str
    scenarios: Mapping[str, Scenario]
    profile: CompanyProfile
    templates: Mapping[str, Mapping[str, str]]  # language code -> parts

    @classmethod
    def load(cls, directory: Path | None = None) -> PromptLibrary:
        root = (directory or PROMPTS_DIR).resolve()
        if not root.is_dir():
            raise TemplateError(f"prompts directory not found: {root}")
        scenarios = {n: _load_scenario(root / "scenarios" / f"{n}.md", n) for n in SCENARIOS}
        templates = {p.stem.lower(): _load_template(p) for p in sorted((root / "templates").glob("*.json"))}
        if DEFAULT_LANGUAGE not in templates:
            raise TemplateError(f"the {DEFAULT_LANGUAGE!r} offline template is required")
        return cls(
            directory=root,
            system_template=_read(root / "system.md"),
            scenarios=MappingProxyType(scenarios),
            profile=_load_profile(root / "company_profile.toml"),
            templates=MappingProxyType(templates),
        )

    def scenario(self, name: str) -> Scenario:
        try:
            return self.scenarios[name]
        except KeyError:
            raise TemplateError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None

    def template(self, language: str) -> Mapping[str, str] | None:
        """The offline template for ``language`` ('pt-BR' finds 'pt'), or None."""
        code = normalize_language(language)
        return self.templates.get(code) or self.templates.get(language_base(code))

    def language_name(self, language: str) -> str:
        code = normalize_language(language)
        tpl = self.templates.get(code)
        if code not in REGIONAL_LANGUAGES and tpl and tpl.get("language_name"):
            return tpl["language_name"]
        if code == "und":
            return "the language the buyer wrote in"
        return language_display_name(code, "en") or f"the language with ISO 639-1 code '{code}'"


_WON_DETAIL = re.compile(r"\bwon\b", re.IGNORECASE)


def _won_at(inquiry: Inquiry) -> datetime | None:
    times = [
        e.at
        for e in inquiry.events
        if e.action == "won" or (e.action in ("status", "status_changed") and _WON_DETAIL.search(e.detail))
    ]
    return max(times) if times else None


def choose_scenario(inquiry: Inquiry) -> str:
    """Pick the drafting scenario from the inquiry's status and who spoke last.

    - won: ``order_confirmation``; ``after_sales`` once we have written after the win
    - we answered and the buyer has not written since: ``silence_followup``
    - new: ``first_reply``; quoted / negotiating: ``quotation_followup``; samples: ``samples``
    - lost: ``quotation_followup`` (the buyer re-opened it); not an inquiry: ``first_reply``
    """
    if inquiry.status is Status.WON:
        won_at = _won_at(inquiry)
        if won_at is not None and any(
            m.direction == "out" and m.received_at > won_at for m in inquiry.messages
        ):
            return AFTER_SALES
        return ORDER_CONFIRMATION
    buyer_silent = inquiry.answered_at is not None and inquiry.sla_started_at is None
    if buyer_silent:
        return SILENCE_FOLLOWUP
    return {
        Status.NEW: FIRST_REPLY,
        Status.QUOTED: QUOTATION_FOLLOWUP,
        Status.SAMPLES: SAMPLES,
        Status.NEGOTIATING: QUOTATION_FOLLOWUP,
        Status.LOST: QUOTATION_FOLLOWUP,
        Status.NOT_INQUIRY: FIRST_REPLY,
    }[inquiry.status]
