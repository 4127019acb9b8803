"""Triage for other trades: buyers of furniture, machinery, textiles, auto parts and packaging, each
desk with its own profile (tests/fixtures/industries/<trade>/prompts), directly and through PROMPTS_DIR
with ``inquiry-bot triage --json``. Every buyer stays in the inquiry lane; tiers are right (prints them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.drafting.prompts import BUNDLED_PROMPTS_DIR
from bot.intake.parse import parse_email
from bot.triage import TriageConfig, triage
from bot.triage.profile import load_profile
from tests.paths import FIXTURES, REPO

INDUSTRIES = FIXTURES / "industries"
TRADES = sorted(p.name for p in INDUSTRIES.iterdir() if (p / "labels.json").exists())
ROOT = REPO


def _labels(trade: str) -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads((INDUSTRIES / trade / "labels.json").read_text("utf-8"))
    return labels


def _own_domain(trade: str) -> str:
    import tomllib

    data = tomllib.loads((INDUSTRIES / trade / "prompts" / "company_profile.toml").read_text("utf-8"))
    return str(data["company"]["website"])


def _score(rows: dict[str, dict[str, Any]], labels: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Share of buyers kept, and tier/language/country accuracy over them (country where labelled)."""
    kept = [n for n in labels if rows[n]["lane_inquiry"]]
    known = [n for n in kept if labels[n]["country"]]
    return {
        "kept": len(kept) / len(labels),
        "tier": sum(rows[n]["tier"] == labels[n]["tier"] for n in kept) / max(1, len(kept)),
        "language": sum(rows[n]["language"] == labels[n]["language"] for n in kept) / max(1, len(kept)),
        "country": sum(rows[n]["country"] == labels[n]["country"] for n in known) / max(1, len(known)),
    }


def test_each_trade_has_a_profile_and_at_least_six_labelled_buyers_of_every_tier() -> None:
    assert len(TRADES) >= 4
    languages: set[str] = set()
    for trade in TRADES:
        labels = _labels(trade)
        assert len(labels) >= 6, trade
        assert {v["tier"] for v in labels.values()} == {"A", "B", "C"}, trade
        assert all((INDUSTRIES / trade / name).exists() for name in labels)
        assert not load_profile(INDUSTRIES / trade / "prompts").empty
        languages |= {v["language"] for v in labels.values()}
    assert len(languages) >= 8


@pytest.mark.parametrize("trade", TRADES)
def test_buyers_of_other_trades_with_their_own_profile(
    trade: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = TriageConfig(
        own_domains=frozenset({_own_domain(trade)}), profile=load_profile(INDUSTRIES / trade / "prompts")
    )
    labels = _labels(trade)
    rows: dict[str, dict[str, Any]] = {}
    misses: list[str] = []
    for name, want in labels.items():
        got = triage(parse_email((INDUSTRIES / trade / name).read_bytes()), config)
        tier = got.tier.value if got.tier else None
        rows[name] = {
            "lane_inquiry": got.is_inquiry,
            "tier": tier,
            "language": got.language,
            "country": got.country,
        }
        if not got.is_inquiry or tier != want["tier"]:
            misses.append(f"{name}: inquiry={got.is_inquiry} tier {tier} != {want['tier']} ({got.reason})")
    figures = _score(rows, labels)
    with capsys.disabled():
        print(f"\n{trade}: " + ", ".join(f"{k} {v:.0%}" for k, v in figures.items()))
        for miss in misses:
            print("  miss:", miss)
    assert figures["kept"] == 1.0, misses
    assert figures["tier"] >= 0.9, misses
    assert figures["language"] >= 0.9
    assert figures["country"] >= 0.9


@pytest.mark.parametrize("trade", TRADES)
def test_the_led_teams_profile_keeps_other_trades_buyers(trade: str) -> None:
    """Another trade's words are not a reason to drop a mail: generic request words suffice."""
    config = TriageConfig(
        own_domains=frozenset({"brightway-led.com"}), profile=load_profile(BUNDLED_PROMPTS_DIR)
    )
    for name in _labels(trade):
        got = triage(parse_email((INDUSTRIES / trade / name).read_bytes()), config)
        assert got.is_inquiry, f"{trade}/{name}: {got.reason}"


def _cli_triage(files: list[Path], prompts_dir: Path | None, cwd: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PROMPTS_DIR"}
    if prompts_dir is not None:
        env["PROMPTS_DIR"] = str(prompts_dir)
    out = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "--json", *map(str, files)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_prompts_dir_points_the_cli_at_a_teams_own_profile(tmp_path: Path) -> None:
    """`inquiry-bot triage --json` (python -m bot) reads the products of PROMPTS_DIR's profile."""
    all_rows: dict[str, dict[str, Any]] = {}
    all_labels: dict[str, dict[str, Any]] = {}
    for trade in TRADES:
        labels = _labels(trade)
        files = [INDUSTRIES / trade / name for name in labels]
        rows = _cli_triage(files, INDUSTRIES / trade / "prompts", tmp_path)
        assert [r["file"] for r in rows] == list(map(str, files))
        for name, row in zip(labels, rows, strict=True):
            key = f"{trade}/{name}"
            all_labels[key] = labels[name]
            all_rows[key] = {
                **row,
                "lane_inquiry": row.get("lane", "inquiry") == "inquiry" and row["is_inquiry"],
            }
    figures = _score(all_rows, all_labels)
    print("\nthrough PROMPTS_DIR:", ", ".join(f"{k} {v:.0%}" for k, v in figures.items()))
    assert figures["kept"] == 1.0
    assert figures["tier"] >= 0.9

    # The same furniture order with the LED team's (bundled) profile: no furniture spec is known there.
    order = INDUSTRIES / "furniture" / "de-de-a.eml"
    (own,) = _cli_triage([order], INDUSTRIES / "furniture" / "prompts", tmp_path)
    (led,) = _cli_triage([order], None, tmp_path)
    assert own["tier"] == "A" and "quantity: 300 Stühle" in own["reasons"]
    assert any("seat height Sitzhöhe 46 cm" in r for r in own["reasons"])
    assert led["is_inquiry"] and not any("seat height" in r for r in led["reasons"])


def test_a_bad_prompts_dir_is_a_clear_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "prompts"
    bad.mkdir()
    (bad / "company_profile.toml").write_text(
        '[products]\nlines = ["Chairs"]\n[products.spec_patterns]\n"seat height" = "(\\\\d+ cm"\n', "utf-8"
    )
    env = {**os.environ, "PROMPTS_DIR": str(bad)}
    sample = ROOT / "bot" / "app" / "samples"
    out = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "--json", str(next(sample.glob("*.eml")))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "seat height" in out.stderr and "bad regex" in out.stderr
    assert "Traceback" not in out.stderr
