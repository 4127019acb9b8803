"""Build step: ship the repository's top-level ``prompts/`` inside the package as ``bot/prompts``.

``prompts/`` stays at the top of the repository (the team edits it there); an installed wheel finds it
as ``bot/prompts`` (the default of ``PROMPTS_DIR``, see ``bot/drafting/prompts.py``). Everything
else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROMPTS = Path(__file__).resolve().parent / "prompts"


class BuildWithPrompts(build_py):  # type: ignore[misc]
    """build_py that also copies prompts/ to <build>/bot/prompts (wheels and sdist-built wheels)."""

    def run(self) -> None:
        super().run()
        if not PROMPTS.is_dir():
            raise SystemExit(f"setup.py: {PROMPTS} is missing: the wheel would ship without its prompts")
        target = Path(self.build_lib) / "bot" / "prompts"
        shutil.copytree(PROMPTS, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithPrompts})
