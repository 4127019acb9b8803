"""Published sanctions lists, read into ``ScreeningList``s; the format is detected from the file.

- OpenSanctions ``targets.simple.csv`` (header ``id,schema,name,aliases,…,countries,…,emails,…``;
  lists inside a cell are ``;``-separated);
- OFAC ``sdn.csv`` (no header: ``ent_num,SDN_Name,SDN_Type,Program,…,Remarks``; ``-0-`` is null),
  with the ``alt.csv`` aliases beside it (``ent_num,alt_num,alt_type,alt_name,alt_remarks``);
- the US Consolidated Screening List CSV (header ``_id,source,entity_number,type,programs,name,…,
  alt_names,…``).

Vessels and aircraft are not loaded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import InquiryDeskError

csv.field_size_limit(16 * 1024 * 1024)


class ScreeningError(InquiryDeskError):
    """A screening list could not be fetched, recognised or read."""


@dataclass(frozen=True)
class Entry:
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    schema: str = ""
    countries: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    programs: str = ""
    source: str = ""  # the CSL's source list, e.g. "Entity List (EL) - Bureau of Industry and Security"


@dataclass(frozen=True)
class ScreeningList:
    name: str  # shown in warnings, e.g. "sdn.csv (OFAC SDN)"
    format: str  # "opensanctions" | "ofac_sdn" | "csl"
    path: str
    entries: tuple[Entry, ...]


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SKIP_SCHEMAS = frozenset({"vessel", "aircraft", "airplane"})


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScreeningError(f"cannot read screening list {path}: {e}") from e
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _first_row(text: str) -> list[str]:
    for row in csv.reader(io.StringIO(text[:65536])):
        if row:
            return row
    return []


def detect_format(text: str) -> str:
    """``opensanctions``, ``csl``, ``ofac_sdn`` or ``ofac_alt``; raises ScreeningError otherwise."""
    head = [c.strip().lower() for c in _first_row(text)]
    if {"id", "schema", "name"} <= set(head):
        return "opensanctions"
    if {"source", "name"} <= set(head) and ("entity_number" in head or "_id" in head):
        return "csl"
    if head and head[0].strip().isdigit():
        if len(head) >= 10:
            return "ofac_sdn"
        if len(head) in (4, 5):
            return "ofac_alt"
    raise ScreeningError("unrecognised screening list format (expected OpenSanctions, OFAC SDN or CSL CSV)")


def _null(value: str) -> str:
    value = value.strip()
    return "" if value in ("-0-", "-0- ") else value


def _split(value: str, sep: str = ";") -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(sep) if v.strip())


def _dict_rows(text: str) -> Iterable[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [f.strip().lower() for f in (reader.fieldnames or [])]
    for row in reader:
        yield {k: (v or "") for k, v in row.items() if isinstance(k, str)}


def _load_opensanctions(text: str) -> list[Entry]:
    entries = []
    for row in _dict_rows(text):
        schema = row.get("schema", "").strip()
        if schema.lower() in _SKIP_SCHEMAS or not row.get("name", "").strip():
            continue
        entries.append(
            Entry(
                entry_id=row.get("id", "").strip(),
                name=row["name"].strip(),
                aliases=_split(row.get("aliases", "")),
                schema=schema,
                countries=_split(row.get("countries", "")),
                emails=tuple(e.lower() for e in _split(row.get("emails", ""))),
                programs=row.get("sanctions", "").strip(),
                source=row.get("dataset", "").strip(),
            )
        )
    return entries


def _load_csl(text: str) -> list[Entry]:
    entries = []
    for row in _dict_rows(text):
        kind = row.get("type", "").strip()
        if kind.lower() in _SKIP_SCHEMAS or not row.get("name", "").strip():
            continue
        extra = " ".join(row.get(k, "") for k in ("remarks", "ids", "addresses"))
        entries.append(
            Entry(
                entry_id=(row.get("entity_number") or row.get("_id") or "").strip(),
                name=row["name"].strip(),
                aliases=_split(row.get("alt_names", "")),
                schema=kind,
                countries=_split(row.get("nationalities", "") or row.get("citizenships", ""), ","),
                emails=tuple(sorted({e.lower() for e in _EMAIL_RE.findall(extra)})),
                programs=row.get("programs", "").strip(),
                source=row.get("source", "").strip(),
            )
        )
    return entries


def _find_alt(path: Path) -> Path | None:
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return None
    for sibling in siblings:
        if sibling.name.lower() == "alt.csv":
            return sibling
    return None


def _load_ofac(text: str, alt_text: str | None) -> list[Entry]:
    aliases: dict[str, list[str]] = {}
    if alt_text:
        for row in csv.reader(io.StringIO(alt_text)):
            if len(row) >= 4 and row[0].strip().isdigit() and _null(row[3]):
                aliases.setdefault(row[0].strip(), []).append(_null(row[3]))
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 4 or not row[0].strip().isdigit():
            continue  # the trailing \x1a control row, blank lines
        kind = _null(row[2])
        if kind.lower() in _SKIP_SCHEMAS or not _null(row[1]):
            continue
        remarks = _null(row[11]) if len(row) > 11 else ""
        entries.append(
            Entry(
                entry_id=row[0].strip(),
                name=_null(row[1]),
                aliases=tuple(aliases.get(row[0].strip(), ())),
                schema=kind or "entity",
                emails=tuple(sorted({e.lower().rstrip(".") for e in _EMAIL_RE.findall(remarks)})),
                programs=_null(row[3]),
                source="OFAC SDN",
            )
        )
    return entries


_FORMAT_LABEL = {
    "opensanctions": "OpenSanctions",
    "ofac_sdn": "OFAC SDN",
    "csl": "Consolidated Screening List",
}


def load_list(path: str | Path) -> ScreeningList:
    """Read one list file, detecting its format; ``alt.csv`` beside an OFAC ``sdn.csv`` is merged."""
    path = Path(path)
    text = read_text(path)
    fmt = detect_format(text)
    if fmt == "opensanctions":
        entries = _load_opensanctions(text)
    elif fmt == "csl":
        entries = _load_csl(text)
    elif fmt == "ofac_sdn":
        alt = _find_alt(path)
        entries = _load_ofac(text, read_text(alt) if alt else None)
    else:
        raise ScreeningError(f"{path.name} is an OFAC alias file; load the sdn.csv beside it instead")
    return ScreeningList(
        name=f"{path.name} ({_FORMAT_LABEL[fmt]})", format=fmt, path=str(path), entries=tuple(entries)
    )
