"""The wheel ships prompts/ (as bot/prompts): installed in a fresh venv outside the checkout,
``inquiry-bot demo`` drafts from the bundled templates, ``inquiry-bot triage --json`` grades with the
bundled LED profile, and PROMPTS_DIR swaps in a team's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import REPO

ROOT = REPO
INDUSTRIES = ROOT / "tests" / "fixtures" / "industries"

LED_ORDER = """From: Sipho Dlamini <buyer@lumenafrica.co.za>
To: sales@brightway-led.com
Subject: floodlights
Date: Tue, 17 Nov 2026 09:00:00 +0200
Message-ID: <wheel-test-1@lumenafrica.co.za>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Good day, we need 1000 pcs floodlights 200W IP66 for a stadium project. Please quote.

Sipho Dlamini
Lumen Africa (Pty) Ltd, Johannesburg
"""


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True, **kw)  # type: ignore[call-overload,no-any-return]


@pytest.mark.slow
def test_installed_wheel_carries_prompts_and_triages_with_them(tmp_path: Path) -> None:
    src = tmp_path / "src"  # a clean copy: no build/ or egg-info left in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "bot", src / "bot", ignore=ignore)
    shutil.copytree(ROOT / "prompts", src / "prompts", ignore=ignore)

    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("inquiry_desk-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: MIT" in zf.read(metadata).decode()
    for needed in ("company_profile.toml", "system.md", "templates/en.json", "scenarios/first_reply.md"):
        assert f"bot/prompts/{needed}" in names
    data_files = sorted(f.relative_to(ROOT).as_posix() for f in ROOT.glob("bot/*/data/*") if f.is_file())
    assert {"bot/triage/data/markets.json", "bot/sla/data/main_zones.json"} <= set(data_files)
    assert [f for f in data_files if f not in names] == []  # the hand-kept tables ship in the wheel

    venv = tmp_path / "venv"  # system site-packages: the dependencies are not downloaded again
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--force-reinstall",
            str(wheel),
        ]
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "order.eml").write_text(LED_ORDER, "utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PROMPTS_DIR")}
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import bot.drafting.prompts as p; print(p.PROMPTS_DIR)"],
        cwd=work,
        env=env,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv) and Path(where, "company_profile.toml").is_file()

    cli = str(venv / "bin" / "inquiry-bot")
    demo = _run([cli, "demo"], cwd=work, env=env).stdout
    assert "14 bundled sample emails" in demo and "Anfrage: LED-Panels 62x62, 2.000 Stück" in demo
    assert "Best regards," in demo  # a draft written from the wheel's own templates
    assert "Filtered (kept in the store, not posted as cards): 4" in demo and "14 emails stored" in demo
    assert sorted(p.name for p in work.iterdir()) == ["order.eml"]  # the demo wrote nothing here

    (row,) = map(
        json.loads, _run([cli, "triage", "--json", "order.eml"], cwd=work, env=env).stdout.splitlines()
    )
    assert row["is_inquiry"] and row["tier"] == "A"  # 200W and IP66 are specs of the bundled LED profile
    assert "spec: wattage 200W, IP rating IP66" in row["reasons"]

    # PROMPTS_DIR: a furniture team's own profile, from the same installed wheel.
    chairs = INDUSTRIES / "furniture" / "de-de-a.eml"
    env["PROMPTS_DIR"] = str(INDUSTRIES / "furniture" / "prompts")
    (row,) = map(
        json.loads, _run([cli, "triage", "--json", str(chairs)], cwd=work, env=env).stdout.splitlines()
    )
    assert row["tier"] == "A" and "quantity: 300 Stühle" in row["reasons"]
