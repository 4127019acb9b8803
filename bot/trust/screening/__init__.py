"""Export-control screening: load published sanctions lists and fuzzy-match buyers against them.

Formats, detected from the file itself:

- OpenSanctions ``targets.simple.csv`` (header ``id,schema,name,aliases,…,countries,…,emails,…``;
  lists inside a cell are ``;``-separated);
- OFAC ``sdn.csv`` (no header: ``ent_num,SDN_Name,SDN_Type,Program,…,Remarks``; ``-0-`` is null),
  with the ``alt.csv`` aliases beside it (``ent_num,alt_num,alt_type,alt_name,alt_remarks``);
- the US Consolidated Screening List CSV (header ``_id,source,entity_number,type,programs,name,…,
  alt_names,…``).

Names are folded before matching (Cyrillic transliteration, accents, punctuation, case, legal
forms such as LLC/GmbH/ООО/有限公司 dropped, a few spelling variants such as ks/x, w/v unified) and
compared order-insensitively with rapidfuzz. A candidate needs a score of at least ``threshold``
and, when only part of a name matched, token coverage on both sides, so that "Ali Hassan Trading"
does not match every "Ali". An inverted index (tokens, 4-letter prefixes and suffixes) keeps a
query against 50,000 entries to a few milliseconds. Vessels and aircraft are not loaded.

``Screener([load_list(path)]).screen(["Ivan Petrov"], ["x@y.ru"], ["y.ru"])`` ->
``[Match("PETROV, Ivan", "sdn.csv (OFAC SDN)", 100.0, "name 'Ivan Petrov'", "12345")]``.
"""

from bot.trust.screening.download import fetch_list
from bot.trust.screening.lists import (
    Entry,
    ScreeningError,
    ScreeningList,
    detect_format,
    load_list,
)
from bot.trust.screening.matcher import Match, Screener, name_tokens, normalize_name

__all__ = [
    "Entry",
    "Match",
    "Screener",
    "ScreeningError",
    "ScreeningList",
    "detect_format",
    "fetch_list",
    "load_list",
    "name_tokens",
    "normalize_name",
]
