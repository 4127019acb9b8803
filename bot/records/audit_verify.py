"""``audit verify`` over a whole ``DATA_DIR``: the chain, its head, witnessed anchors, and
the store's events checked against the log — reading files only, never writing one.

:func:`verify_data_dir` fails when

* the log or its head is missing while the store holds events,
* the chain is broken (an entry edited, deleted, reordered; the tail cut: see
  :func:`bot.records.audit.verify_files`),
* an inquiry in the store holds events the log lacks, or the log holds events of an
  inquiry that the store lacks (the tail cut *and* the head rewritten to match),
* the entry at a witnessed anchor (``SEQ:HASH`` posted to Slack by
  :mod:`bot.records.audit_anchor`) differs or is gone (the whole chain and its head rewritten).

The store is read straight from its shard files (``store/shards/NNNN.json``, TinyDB
layout ``{"inquiries": {"<id>": {..., "events": [...]}}}``), falling back to ``.bak`` as
the store itself does, so opening it cannot rewrite its index or create anything.

    >>> verify_data_dir(Path("data"), anchors=[(57, "9f2c…")])
    VerifyResult(ok=True, count=57, problems=[], ...)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.records.audit import VerifyResult, is_event_entry, read_entries, verify_files

MAX_INQUIRY_PROBLEMS = 20


@dataclass(frozen=True)
class StoreEvents:
    """Event actions per inquiry id, as the store's shards hold them."""

    actions: dict[str, Counter[str]]
    problems: tuple[str, ...]  # unreadable shards

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.actions.values())


def _read_json(path: Path, problems: list[str]) -> dict[str, object] | None:
    for candidate in (path, path.with_name(path.name + ".bak")):
        try:
            data = json.loads(candidate.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            if candidate != path:
                problems.append(f"store shard {path.name} is unreadable; its backup was checked instead")
            return data
    return None


def store_events(data_dir: Path) -> StoreEvents:
    """Read every shard (read-only) and count each inquiry's event actions."""
    actions: dict[str, Counter[str]] = {}
    problems: list[str] = []
    shard_dir = Path(data_dir) / "store" / "shards"
    paths = sorted(shard_dir.glob("*.json")) if shard_dir.is_dir() else []
    for path in paths:
        data = _read_json(path, problems)
        if data is None:
            problems.append(f"store shard {path.name} is unreadable")
            continue
        table = data.get("inquiries") or {}
        if not isinstance(table, dict):
            problems.append(f"store shard {path.name} has no inquiries table")
            continue
        for doc_id, doc in table.items():
            events = doc.get("events") if isinstance(doc, dict) else None
            if not isinstance(events, list):
                problems.append(f"store shard {path.name}: inquiry {doc_id} is unreadable")
                continue
            counts = Counter(str(e.get("action", "")) for e in events if isinstance(e, dict))
            actions[str(doc.get("id", doc_id))] = counts
    return StoreEvents(actions, tuple(problems))


def _describe(counter: Counter[str]) -> str:
    return ", ".join(f"{action} ×{n}" if n > 1 else action for action, n in sorted(counter.items()))


def cross_check(store: StoreEvents, log_path: Path) -> list[str]:
    """Problems where the store's events and the log's event entries disagree."""
    chain: dict[str, Counter[str]] = {}
    for entry in read_entries(log_path):
        if is_event_entry(entry) and entry.inquiry_id is not None:
            chain.setdefault(entry.inquiry_id, Counter())[entry.action] += 1
    found: list[str] = []
    for inq_id in sorted(set(store.actions) | set(chain), key=lambda i: (len(i), i)):
        held, logged = store.actions.get(inq_id, Counter()), chain.get(inq_id, Counter())
        if held == logged:
            continue
        if inq_id not in store.actions:
            found.append(f"inquiry {inq_id}: in the log ({sum(logged.values())} events) but not in the store")
            continue
        missing, extra = held - logged, logged - held
        if missing:
            found.append(
                f"inquiry {inq_id}: {sum(missing.values())} event(s) in the store are missing from the log "
                f"({_describe(missing)}): entries cut, or a crash between the store write and the log"
            )
        if extra:
            found.append(
                f"inquiry {inq_id}: the log holds {sum(extra.values())} event(s) the store does not "
                f"({_describe(extra)})"
            )
    if len(found) > MAX_INQUIRY_PROBLEMS:
        more = len(found) - MAX_INQUIRY_PROBLEMS
        found = [*found[:MAX_INQUIRY_PROBLEMS], f"… and {more} more inquiries disagree"]
    return found


def verify_data_dir(data_dir: Path, anchors: Iterable[tuple[int, str]] = ()) -> VerifyResult:
    """Everything ``audit verify`` checks; see the module docstring. Never writes."""
    witnessed = list(anchors)
    log_path = Path(data_dir) / "audit" / "audit.jsonl"
    result = _once(data_dir, log_path, witnessed)
    if any(p.startswith("inquiry ") for p in result.problems):
        # The bot may be appending right now (store first, then the log): look once more.
        result = _once(data_dir, log_path, witnessed)
    return result


def _once(data_dir: Path, log_path: Path, anchors: list[tuple[int, str]]) -> VerifyResult:
    store = store_events(data_dir)  # the store first: the log is written after it
    if not log_path.exists():
        if store.total == 0 and not anchors and not store.problems:
            return VerifyResult(ok=True, count=0, notes=["no audit log yet, and the store holds no events"])
        problems = [f"the audit log {log_path.name} is missing but the store holds {store.total} events"]
        problems += [
            f"the witnessed anchor seq {seq} cannot be checked: the log is missing" for seq, _ in anchors
        ]
        return VerifyResult(ok=False, count=0, problems=[*store.problems, *problems])
    chained = verify_files(log_path, anchors=anchors)
    problems = [*chained.problems, *store.problems, *cross_check(store, log_path)]
    return VerifyResult(
        ok=not problems, count=chained.count, problems=problems, notes=chained.notes, head=chained.head
    )
