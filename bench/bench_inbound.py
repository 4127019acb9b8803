"""Inbound mail quality (#12): where real junk and lures end, and whether buyers keep their lane.

Run: ``python bench/bench_inbound.py``. Prints, per category of ``shared/corpora/inbound``
(157 real non-inquiries), the share in each lane and the share carrying a warning; then the
buyer sets (the labelled fixtures, the bundled samples, the hard genuine buyers and the other
industries' buyers, when present) with how many left the inquiry lane; then the cost of the risk
signals per mail. The default configuration is used: no mailbox address, no provider id.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import INBOUND, LABELLED, OWN_DOMAINS, ROOT, SAMPLES, Row, machine_line, print_table

HARD = ROOT / "tests" / "fixtures" / "buyers_hard"
INDUSTRIES = ROOT / "tests" / "fixtures" / "industries"


def _buyer_files() -> dict[str, list[Path]]:
    labels = json.loads((LABELLED / "labels.json").read_text("utf-8"))
    sets = {
        "labelled buyers": [LABELLED / n for n, v in labels.items() if v["is_inquiry"]],
        "bundled sample buyers": [p for p in sorted(SAMPLES.glob("*.eml")) if int(p.name[:2]) <= 10],
        "hard genuine buyers": sorted(HARD.glob("*.eml")),
        "buyers written after the rules": sorted(
            (ROOT / "tests" / "fixtures" / "buyers_written").glob("*.eml")
        ),
    }
    if INDUSTRIES.is_dir():
        sets["other industries' buyers (LED profile)"] = sorted(INDUSTRIES.rglob("*.eml"))
    return sets


def main() -> int:
    from bot.core.models import Lane
    from bot.intake.parse import parse_email
    from bot.triage import TriageConfig, triage, warm_up
    from bot.triage.risk import assess
    from bot.trust import authentication_results
    from bot.trust.warnings import TrustContext, compute_warnings

    print(f"bench_inbound: {machine_line()}")
    if not INBOUND.is_dir():
        print(f"inbound corpus not found at {INBOUND} (set CORPORA_DIR)")
        return 1
    warm_up()
    config = TriageConfig(own_domains=OWN_DOMAINS)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    parsed = []
    with (INBOUND / "labels.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            raw = (INBOUND / row["file"]).read_bytes()
            email = parse_email(raw)
            parsed.append(email)
            verdict = triage(email, config)
            trust = compute_warnings(
                email, verdict, TrustContext(own_domains=OWN_DOMAINS), authentication_results(raw)
            )
            for key in (row["category"], "ALL"):
                c = counts[key]
                c["n"] += 1
                c[verdict.lane.value] += 1
                c["warned"] += bool(verdict.warnings or trust)
    rows = []
    for cat in sorted(counts, key=lambda k: (k == "ALL", k)):
        c = counts[cat]
        n = c["n"]
        target, met = "", None
        if cat == "ALL":
            target, met = "inquiry <= 10 %", c["inquiry"] / n <= 0.10
        elif cat == "rfq_phishing":
            target = "inquiry <= 5 %, warned >= 95 %"
            met = c["inquiry"] / n <= 0.05 and c["warned"] / n >= 0.95
        rows.append(
            Row(
                f"{cat} ({n})",
                f"inquiry {c['inquiry'] / n:.0%} · review {c['review'] / n:.0%} · "
                f"filtered {c['filtered'] / n:.0%} · warned {c['warned'] / n:.0%}",
                target,
                met,
            )
        )
    print_table("inbound non-inquiries by category (lanes, warnings)", rows)

    buyer_rows = []
    for name, files in _buyer_files().items():
        held = [p.name for p in files if triage(parse_email(p.read_bytes()), config).lane is not Lane.INQUIRY]
        buyer_rows.append(
            Row(
                f"{name} ({len(files)})",
                f"{len(files) - len(held)} in the inquiry lane"
                + (f"; held: {', '.join(held)}" if held else ""),
                "all",
                not held,
            )
        )
    print_table("genuine buyers", buyer_rows)

    written = sorted((ROOT / "tests" / "fixtures" / "lures_written").glob("*.eml"))
    let_in = [p.name for p in written if triage(parse_email(p.read_bytes()), config).lane is Lane.INQUIRY]
    print_table(
        "lures and pitches written after the rules",
        [
            Row(
                f"held off the inquiry lane ({len(written)})",
                f"{len(written) - len(let_in)} held" + (f"; let in: {', '.join(let_in)}" if let_in else ""),
                "all",
                not let_in,
            )
        ],
    )

    rounds = 5
    t0 = time.perf_counter()
    for _ in range(rounds):
        for email in parsed:
            assess(email, config)
    per = (time.perf_counter() - t0) / (rounds * len(parsed))
    print_table(
        "cost",
        [
            Row(
                "risk signals per mail (inbound corpus)",
                f"{per * 1000:.2f} ms ({1 / per:,.0f} mail/s, one core)",
            )
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
