"""Sender and domain reputation: the signals it gives, how the store keeps it, what a click teaches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.store import open_store
from bot.core.errors import StoreError
from bot.core.models import Category, Inquiry, Lane, MessageRecord, Status
from bot.desk.learning import Learning
from bot.records.privacy import forget
from bot.triage import reputation as rp
from bot.triage import textmodel as tm
from bot.triage.lanes import Thresholds, with_signals
from tests.inquiries import make_inquiry
from tests.test_textmodel import BUYERS, LURES

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_verdicts_count_and_the_last_one_wins() -> None:
    rep = rp.Reputation().with_verdict(rp.JUNK).with_verdict(rp.REAL)
    assert (rep.junk, rep.real, rep.last) == (1, 1, rp.REAL)
    assert rp.Reputation.from_doc(rep.to_doc()) == rep
    with pytest.raises(ValueError, match="verdict"):
        rep.with_verdict("maybe")


def test_sender_signals_force_the_lane_by_the_last_verdict() -> None:
    t = Thresholds()
    verdict = make_inquiry("1").triage
    junked = rp.sender_signal(rp.Reputation(junk=1, last=rp.JUNK), "x@lure.example")
    trusted = rp.sender_signal(rp.Reputation(junk=1, real=1, last=rp.REAL), "x@lure.example")
    dismissed = rp.sender_signal(rp.Reputation(dismissed=1, last=rp.DISMISSED), "x@lure.example")
    assert junked is not None and trusted is not None and dismissed is not None
    assert with_signals(verdict, [junked], t).lane is Lane.FILTERED
    assert with_signals(verdict, [trusted], t).lane is Lane.INQUIRY
    assert with_signals(verdict, [dismissed], t).lane is Lane.REVIEW  # held, never filtered alone
    assert rp.sender_signal(rp.Reputation(), "x@lure.example") is None


def test_free_mail_and_own_domains_are_never_judged_as_a_domain() -> None:
    assert rp.domain_key("anna@mail.licht.co.uk") == "licht.co.uk"
    assert rp.domain_key("someone@gmail.com") == ""
    assert rp.domain_key("someone@163.com") == ""
    assert rp.domain_key("rep@brightway-led.com", frozenset({"brightway-led.com"})) == ""


def test_domain_signal_grows_with_junk_and_turns_with_confirmed_buyers() -> None:
    one = rp.domain_signal(rp.Reputation(junk=1, last=rp.JUNK), "lure.example")
    many = rp.domain_signal(rp.Reputation(junk=9, last=rp.JUNK), "lure.example")
    good = rp.domain_signal(rp.Reputation(real=2, last=rp.REAL), "licht.de")
    assert one is not None and one.name == "junked_domain" and one.weight == 2.0
    assert many is not None and many.weight == 4.0
    assert good is not None and good.name == "trusted_domain" and good.weight < 0
    assert rp.domain_signal(rp.Reputation(junk=1, last=rp.JUNK), "") is None


def test_store_keeps_reputation_per_key_across_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    store.set_reputation("sender", "a@x.example", {"junk": 1, "last": "junk"})
    store.set_reputation("sender", "b@x.example", {"real": 1, "last": "real"})
    store.set_reputation("sender", "a@x.example", {"junk": 2, "last": "junk"})
    store.set_text_model({"docs": [1, 0], "totals": [2, 0], "counts": {"po": [2, 0]}})
    store.close()
    again = open_store(tmp_path, shards=4)
    assert again.reputation("sender", "a@x.example") == {"junk": 2, "last": "junk"}
    assert again.reputation("sender", "b@x.example") == {"real": 1, "last": "real"}
    assert again.reputation("sender", "c@x.example") is None
    assert again.reputation("domain", "x.example") is None
    assert tm.from_doc(again.text_model()).counts == {"po": (2, 0)}
    with pytest.raises(StoreError, match="kind"):
        again.reputation("planet", "mars")
    again.close()


def _mail(n: int, addr: str, subject: str, body: str) -> Inquiry:
    inq = make_inquiry(str(n), buyer_addr=addr, subject=subject)
    msg = MessageRecord(f"<m{n}@x>", "in", NOW, addr, subject, body)
    return replace(inq, messages=(msg,))


def test_teaching_junk_then_real_moves_the_sender_and_counts_the_mail_once(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    learning = Learning(store)
    inq = _mail(1, "po@lure-trading.example", *LURES[0])
    label = learning.teach(inq, rp.JUNK)
    sig = learning.signals("po@lure-trading.example", "hi", "hello")
    assert [s.name for s in sig] == ["junked_sender", "junked_domain"]
    colleague = learning.signals("ceo@lure-trading.example", "hi", "hello")
    assert [s.name for s in colleague] == ["junked_domain"]
    assert learning.model().docs == (1, 0)

    learning.teach(inq, rp.REAL, previous_label=label)  # rescued after all
    assert learning.model().docs == (0, 1)  # forgotten as junk, learnt as buyer
    assert [s.name for s in learning.signals("po@lure-trading.example", "hi", "hello")] == ["trusted_sender"]
    store.close()


def test_free_mail_junk_teaches_the_address_only(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    learning = Learning(store)
    learning.teach(_mail(1, "lure123@gmail.com", *LURES[1]), rp.JUNK)
    assert [s.name for s in learning.signals("lure123@gmail.com", "x", "y")] == ["junked_sender"]
    assert learning.signals("real.buyer@gmail.com", "x", "y") == ()
    store.close()


def test_known_buyer_needs_an_earlier_inquiry_nobody_dismissed(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    learning = Learning(store)
    store.add(make_inquiry("1", buyer_addr="anna@licht.de"))
    store.add(
        replace(
            make_inquiry("2", buyer_addr="bob@other.example"),
            status=Status.NOT_INQUIRY,
        )
    )
    store.add(
        replace(
            make_inquiry("3", buyer_addr="carl@filtered.example"),
            triage=replace(
                make_inquiry("3").triage, is_inquiry=False, lane=Lane.FILTERED, category=Category.SPAM
            ),
        )
    )
    known = learning.signals("anna@licht.de", "x", "y")
    assert [(s.name, s.weight) for s in known] == [("known_buyer", rp.KNOWN_BUYER_WEIGHT)]
    assert learning.signals("bob@other.example", "x", "y") == ()
    assert learning.signals("carl@filtered.example", "x", "y") == ()
    store.close()


def test_the_text_model_speaks_once_it_has_seen_both_kinds(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    learning = Learning(store)
    for n, (subject, body) in enumerate(LURES[:4]):
        learning.teach(_mail(n + 1, f"l{n}@gmail.com", subject, body), rp.JUNK)
    assert not any(s.name == "text_model" for s in learning.signals("new@gmail.com", *LURES[4]))
    for n, (subject, body) in enumerate(BUYERS[:5]):
        learning.teach(_mail(n + 10, f"b{n}@gmail.com", subject, body), rp.REAL)
    learning.teach(_mail(20, "l20@gmail.com", *LURES[5]), rp.DISMISSED)
    sig = {s.name: s for s in learning.signals("new@gmail.com", *LURES[4])}
    assert "text_model" in sig and sig["text_model"].weight > 0
    store.close()
    # The counts live in the store: a new process has the same opinion.
    again = open_store(tmp_path, shards=4)
    assert Learning(again).model().docs == (5, 5)
    again.close()


def test_erasing_a_person_removes_their_reputation_and_keeps_the_rest(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=4)
    learning = Learning(store)
    learning.teach(_mail(1, "po@lure-trading.example", *LURES[0]), rp.JUNK)
    learning.teach(_mail(2, "other@lure-trading.example", *LURES[1]), rp.JUNK)
    assert learning.sender("po@lure-trading.example").junk == 1
    forget(tmp_path, store, "po@lure-trading.example", now=NOW)
    assert store.reputation("sender", "po@lure-trading.example") is None
    assert learning.sender("other@lure-trading.example").junk == 1
    assert learning.domain("x@lure-trading.example")[1].junk == 2
    store.close()
