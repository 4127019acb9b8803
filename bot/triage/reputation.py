"""Sender and domain reputation: what the team's clicks taught the desk, as risk signals.

Pure. The store keeps one :class:`Reputation` per sender address and per company domain
(:meth:`bot.desk.ports.MetaRepo.reputation`); this module says which signals they give a new mail:

* the sender's last verdict: *Junk* -> ``junked_sender`` (forces the filtered lane), *Real buyer*
  or *Rescue* -> ``trusted_sender`` (forces the inquiry lane), *Not an inquiry* ->
  ``dismissed_sender`` (weight ``DISMISSED_WEIGHT``: held for review, never filtered on its own);
* the company domain, never a free-mail one: junked more often than confirmed -> ``junked_domain``
  (``2`` for one junk, one more per further junk, at most ``4``); confirmed more often ->
  ``trusted_domain`` (``-1``);
* a sender with an earlier mail in the inquiry lane that nobody called *Not an inquiry* ->
  ``known_buyer`` (``KNOWN_BUYER_WEIGHT``, negative).

``domain_key("anna@mail.licht.de")`` -> ``"licht.de"``; ``domain_key("x@gmail.com")`` -> ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.models import RiskSignal
from bot.triage.lanes import FORCE_FILTERED, FORCE_INQUIRY
from bot.triage.region import domain_of, is_free_mail, registrable_domain

JUNK = "junk"
REAL = "real"
DISMISSED = "not_inquiry"
VERDICTS = (JUNK, REAL, DISMISSED)

DISMISSED_WEIGHT = 6.0  # above REVIEW_AT even with all buyer-like evidence (-2.5), below FILTER_AT
KNOWN_BUYER_WEIGHT = -1.5
TRUSTED_DOMAIN_WEIGHT = -1.0


@dataclass(frozen=True)
class Reputation:
    """Counts of the team's verdicts on one sender or domain, and the latest one."""

    junk: int = 0
    real: int = 0
    dismissed: int = 0
    last: str = ""  # "junk" | "real" | "not_inquiry" | "" (never judged)

    def with_verdict(self, verdict: str) -> Reputation:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        return Reputation(
            junk=self.junk + (verdict == JUNK),
            real=self.real + (verdict == REAL),
            dismissed=self.dismissed + (verdict == DISMISSED),
            last=verdict,
        )

    def to_doc(self) -> dict[str, Any]:
        return {"junk": self.junk, "real": self.real, "dismissed": self.dismissed, "last": self.last}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Reputation:
        if not doc:
            return cls()
        return cls(
            junk=int(doc.get("junk", 0)),
            real=int(doc.get("real", 0)),
            dismissed=int(doc.get("dismissed", 0)),
            last=str(doc.get("last", "")),
        )


def sender_key(addr: str) -> str:
    return (addr or "").strip().lower()


def domain_key(addr: str, own_domains: frozenset[str] = frozenset()) -> str:
    """The company domain a verdict on ``addr`` may teach; "" for free mail and our own domains."""
    domain = domain_of(addr or "")
    if not domain or is_free_mail(domain):
        return ""
    key = registrable_domain(domain)
    if key in own_domains or domain in own_domains:
        return ""
    return key


def sender_signal(rep: Reputation, addr: str) -> RiskSignal | None:
    if rep.last == JUNK:
        return RiskSignal(FORCE_FILTERED, 0.0, f"the team junked mail from {addr} before")
    if rep.last == REAL:
        return RiskSignal(FORCE_INQUIRY, 0.0, f"the team called {addr} a real buyer before")
    if rep.last == DISMISSED:
        return RiskSignal(
            "dismissed_sender", DISMISSED_WEIGHT, f"the team marked mail from {addr} not an inquiry"
        )
    return None


def domain_signal(rep: Reputation, domain: str) -> RiskSignal | None:
    if not domain:
        return None
    if rep.junk > rep.real:
        weight = min(4.0, 2.0 + (rep.junk - rep.real - 1))
        return RiskSignal("junked_domain", weight, f"the team junked {rep.junk} mail(s) from {domain}")
    if rep.real > rep.junk:
        return RiskSignal("trusted_domain", TRUSTED_DOMAIN_WEIGHT, f"the team confirmed buyers at {domain}")
    return None


def known_buyer_signal(addr: str, earlier_inquiry: str | None) -> RiskSignal | None:
    if not earlier_inquiry:
        return None
    return RiskSignal("known_buyer", KNOWN_BUYER_WEIGHT, f"{addr} wrote inquiry #{earlier_inquiry} before")


def learnt_signals(
    addr: str,
    sender: Reputation,
    domain: str,
    domain_rep: Reputation,
    earlier_inquiry: str | None,
    text: RiskSignal | None = None,
) -> tuple[RiskSignal, ...]:
    """Every learnt signal for one mail from ``addr`` (see the module docstring)."""
    found = (
        sender_signal(sender, addr),
        domain_signal(domain_rep, domain),
        known_buyer_signal(addr, earlier_inquiry),
        text,
    )
    return tuple(s for s in found if s is not None)
