"""Per-member preferences, set from the App Home: digest time, DM pings, language.

A :class:`MemberPrefs` with ``None`` fields means "the team's default" (``DIGEST_TIME``,
``TEAM_LANGUAGE``), so a member who never opened the Preferences modal gets exactly what the
team configured. Stored by :meth:`bot.desk.ports.MetaRepo.set_member_prefs` as a small document:

    {"digest_time": "07:30", "dm_pings": false, "lang": "zh"}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from bot.core.i18n import SUPPORTED, ui_lang

DIGEST_CUTOFF = time(12, 0)  # a morning digest not sent by noon is skipped (bot.sla.digest)


def parse_hhmm(value: str) -> time:
    """``"07:30"`` -> ``time(7, 30)``; ``ValueError`` for anything else.

    >>> parse_hhmm("07:30")
    datetime.time(7, 30)
    """
    hh, sep, mm = value.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"not a time like 09:00: {value!r}")
    return time(int(hh), int(mm))


def digest_cutoff(digest_time: time) -> time:
    """The latest local time a digest set for ``digest_time`` may still go out: noon for a
    morning digest, the end of the day for one set in the afternoon or evening."""
    return DIGEST_CUTOFF if digest_time < DIGEST_CUTOFF else time(23, 59, 59)


@dataclass(frozen=True)
class MemberPrefs:
    digest_time: time | None = None  # None: the team's DIGEST_TIME
    dm_pings: bool = True  # False: SLA and follow-up pings go to the card's thread only
    lang: str | None = None  # None: the team's language; else one of bot.core.i18n.SUPPORTED

    def lang_or(self, default: str) -> str:
        return self.lang if self.lang in SUPPORTED else default

    def digest_time_or(self, default: time) -> time:
        return self.digest_time if self.digest_time is not None else default

    def to_doc(self) -> dict[str, Any]:
        return {
            "digest_time": self.digest_time.strftime("%H:%M") if self.digest_time else None,
            "dm_pings": self.dm_pings,
            "lang": self.lang,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> MemberPrefs:
        """Tolerant of old or hand-edited documents: an unreadable field is the default."""
        if not doc:
            return cls()
        dt: time | None = None
        raw_time = doc.get("digest_time")
        if isinstance(raw_time, str) and raw_time:
            try:
                dt = parse_hhmm(raw_time)
            except ValueError:
                dt = None
        raw_lang = doc.get("lang")
        lang = ui_lang(raw_lang) if isinstance(raw_lang, str) and raw_lang else None
        return cls(digest_time=dt, dm_pings=doc.get("dm_pings") is not False, lang=lang)
