"""The desk learns from its team: clicks become reputation and text-model counts in the store,
and a new mail gets the signals they imply (issue #12).

* :meth:`Learning.teach` records one verdict on a stored mail: *Junk* (``junk``), *Not an
  inquiry* (``not_inquiry``), *Real buyer* or *Rescue* (``real``). It updates the sender's
  reputation, the company domain's (junk and real only; never a free-mail domain), and the text
  model (``junk`` and ``not_inquiry`` are the junk class, ``real`` the buyer class). A mail taught
  before (junked, then rescued) is first forgotten by the text model, so one mail counts once.
* :meth:`Learning.signals` gives a new mail's learnt signals (see :mod:`bot.triage.reputation`
  and :mod:`bot.triage.textmodel`), applied by the ingestor with
  :func:`bot.triage.lanes.with_signals`.

The caller holds the store lock (the desk's click and the ingestor's delivery both do).
"""

from __future__ import annotations

import weakref
from typing import Any

from bot.core.models import Inquiry, RiskSignal, Status
from bot.desk.ports import Store
from bot.triage import reputation, textmodel
from bot.triage.lanes import FORCE_INQUIRY
from bot.triage.reputation import Reputation

#: The text model of each store, parsed once and shared by every Learning over that store.
_models: weakref.WeakKeyDictionary[Any, textmodel.TextModel] = weakref.WeakKeyDictionary()


def label_of(verdict: str) -> str:
    """The text-model class a verdict teaches."""
    return textmodel.BUYER if verdict == reputation.REAL else textmodel.JUNK


def first_text(inq: Inquiry) -> str:
    inbound = [m for m in inq.messages if m.direction == "in"]
    return inbound[0].new_text if inbound else ""


class Learning:
    def __init__(self, store: Store, own_domains: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.own_domains = frozenset(d.lower() for d in own_domains)

    # ------------------------------------------------------------- reading
    def model(self) -> textmodel.TextModel:
        with self.store.transaction():
            cached = _models.get(self.store)
            if cached is not None:
                return cached
            model = textmodel.from_doc(self.store.text_model())
            _models[self.store] = model
            return model

    def sender(self, addr: str) -> Reputation:
        return Reputation.from_doc(self.store.reputation("sender", reputation.sender_key(addr)))

    def domain(self, addr: str) -> tuple[str, Reputation]:
        key = reputation.domain_key(addr, self.own_domains)
        return key, Reputation.from_doc(self.store.reputation("domain", key)) if key else Reputation()

    def earlier_inquiry(self, addr: str) -> str | None:
        """An earlier inquiry-lane mail of this sender nobody called not an inquiry."""
        inq = self.store.latest_inquiry_of_buyer(addr)
        if inq is None or not inq.triage.is_inquiry or inq.status is Status.NOT_INQUIRY:
            return None
        return inq.id

    def signals(self, addr: str, subject: str, text: str) -> tuple[RiskSignal, ...]:
        """The learnt signals of one new mail from ``addr``."""
        if not addr:
            return ()
        domain, domain_rep = self.domain(addr)
        model = self.model()
        text_signal = textmodel.signal(model, textmodel.tokens(subject, text)) if model.ready else None
        return reputation.learnt_signals(
            addr, self.sender(addr), domain, domain_rep, self.earlier_inquiry(addr), text_signal
        )

    @staticmethod
    def trusted(signals: tuple[RiskSignal, ...]) -> bool:
        return any(s.name == FORCE_INQUIRY for s in signals)

    # ------------------------------------------------------------ teaching
    def teach(self, inq: Inquiry, verdict: str, previous_label: str | None = None) -> str:
        """Record the team's ``verdict`` on ``inq``; return the text-model class it taught."""
        addr = inq.buyer_addr
        with self.store.transaction():
            if addr:
                key = reputation.sender_key(addr)
                self.store.set_reputation("sender", key, self.sender(addr).with_verdict(verdict).to_doc())
                domain, domain_rep = self.domain(addr)
                if domain and verdict in (reputation.JUNK, reputation.REAL):
                    self.store.set_reputation("domain", domain, domain_rep.with_verdict(verdict).to_doc())
            label = label_of(verdict)
            if previous_label != label:
                toks = textmodel.tokens(inq.subject, first_text(inq))
                model = self.model()
                if previous_label in textmodel.CLASSES:
                    model = textmodel.update(model, toks, previous_label, times=-1)
                model = textmodel.update(model, toks, label)
                self.store.set_text_model(textmodel.to_doc(model))
                _models[self.store] = model
            return label
