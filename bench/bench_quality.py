"""Triage quality on the labelled set (tests/fixtures/labelled/labels.json), and langdetect alone.

Run: ``python bench/bench_quality.py [--misses]``. Prints figures; not a test.

Filtering is judged on every labelled message; language, country, market and tier on the
labelled inquiries (a dropped inquiry counts as wrong, and the "of kept" column shows the
figure over the inquiries triage kept, as tests/unit/test_triage_labelled.py does). The
baseline is plain langdetect (``DetectorFactory.seed = 0``) on subject + new text, the same
text triage reads, with ``zh-cn``/``zh-tw`` folded to ``zh`` as in the labels.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import LABELLED, OWN_DOMAINS, Row, corpus_files, print_table, sample_profile


def langdetect_alone(text: str) -> str:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        code = str(detect(text))
    except LangDetectException:
        return "und"
    return code.split("-")[0]


def pct(ok: int, total: int) -> str:
    return f"{ok / total:.0%} ({ok}/{total})" if total else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="triage quality on the labelled set")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args(argv)

    from bot.intake.parse import parse_email
    from bot.triage import TriageConfig, triage

    labels: dict[str, dict[str, Any]] = json.loads((LABELLED / "labels.json").read_text("utf-8"))
    config = TriageConfig(own_domains=OWN_DOMAINS, profile=sample_profile())
    filter_ok = kept = dropped = wrongly_kept = 0
    inquiries = non_inquiries = 0
    ok = {"language": 0, "country": 0, "market": 0, "tier": 0}
    ok_kept = dict(ok)
    base_ok = base_full_ok = 0
    lang_all = base_all = 0  # language over every labelled message, inquiries or not
    misses: list[str] = []
    for name, want in sorted(labels.items()):
        email = parse_email((LABELLED / name).read_bytes())
        got = triage(email, config)
        filter_ok += got.is_inquiry == want["is_inquiry"]
        lang_all += got.language == want["language"]
        base_all += langdetect_alone(f"{email.subject}\n{email.new_text or email.text}") == want["language"]
        if not want["is_inquiry"]:
            non_inquiries += 1
            if got.is_inquiry:
                wrongly_kept += 1
                misses.append(f"{name}: kept as an inquiry")
            continue
        inquiries += 1
        if got.is_inquiry:
            kept += 1
        else:
            dropped += 1
            misses.append(f"{name}: dropped ({got.category.value}: {got.reason})")
        values = {
            "language": (got.language, want["language"]),
            "country": (got.country, want["country"]),
            "market": (got.market.value, want["market"]),
            "tier": (got.tier.value if got.tier else None, want["tier"]),
        }
        for what, (g, w) in values.items():
            right = g == w and got.is_inquiry
            ok[what] += right
            ok_kept[what] += right
            if g != w:
                misses.append(f"{name}: {what} {g} != {w}")
        text = f"{email.subject}\n{email.new_text or email.text}"
        base = langdetect_alone(text)
        base_ok += base == want["language"]
        base_full_ok += langdetect_alone(f"{email.subject}\n{email.text}") == want["language"]
        if base != want["language"]:
            misses.append(f"{name}: langdetect alone {base} != {want['language']}")

    rows = [
        Row("labelled messages", f"{len(labels)} ({inquiries} inquiries, {non_inquiries} not)"),
        Row("filtering: right call (inquiry or not)", pct(filter_ok, len(labels))),
        Row("  inquiries kept", pct(kept, inquiries)),
        Row("  non-inquiries filtered", pct(non_inquiries - wrongly_kept, non_inquiries)),
    ]
    for what in ("language", "country", "market", "tier"):
        rows.append(
            Row(
                f"{what} (all labelled inquiries)",
                pct(ok[what], inquiries) + f"; of kept {pct(ok_kept[what], kept)}",
            )
        )
    rows.append(
        Row(
            "language: langdetect alone, subject + new text",
            pct(base_ok, inquiries),
            f"triage {ok['language'] - base_ok:+d}",
            ok["language"] >= base_ok,
        )
    )
    rows.append(Row("language: langdetect alone, subject + whole body", pct(base_full_ok, inquiries)))
    rows.append(Row("language, every labelled message: triage", pct(lang_all, len(labels))))
    rows.append(Row("language, every labelled message: langdetect alone", pct(base_all, len(labels))))
    print_table("Triage quality on tests/fixtures/labelled", rows)

    # Unlabelled sanity check: the shared corpus is library test mail (bounces, spam, broken MIME,
    # personal replies); none of it is a buyer asking an LED exporter for a quote.
    corpus = corpus_files()
    if corpus:
        cats: dict[str, int] = {}
        for path in corpus:
            verdict = triage(parse_email(path.read_bytes()), config)
            key = "inquiry" if verdict.is_inquiry else verdict.category.value
            cats[key] = cats.get(key, 0) + 1
        print_table(
            "Unlabelled real-world corpus (no buyer inquiries expected)",
            [
                Row("messages", str(len(corpus))),
                Row(
                    "judged buyer inquiries (each would be a card)", pct(cats.get("inquiry", 0), len(corpus))
                ),
                Row(
                    "verdicts", ", ".join(f"{k}={v}" for k, v in sorted(cats.items(), key=lambda kv: -kv[1]))
                ),
            ],
        )
    if args.misses:
        print("misses:")
        for line in misses:
            print("  " + line)
    else:
        print(f"{len(misses)} misses (run with --misses to list them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
