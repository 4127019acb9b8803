"""Where the test suite's files are, relative to the repository: the checkout, the fixtures, the samples.

Test modules import these instead of counting ``parents[n]`` from their own place, so a module can
move between ``tests/unit`` and ``tests/integration`` without its look-ups breaking.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
SAMPLES = REPO / "bot" / "app" / "samples"
