"""The desk's text model: tokens, naive Bayes counts, log-odds and the capped ``text_model`` signal."""

from __future__ import annotations

import pytest

from bot.triage import textmodel as tm

LURES = [
    ("NEW PO please quote", "Dear sales, kindly see attached PO and quote your best price urgently."),
    ("Purchase order #4471", "Please find attached purchase order, confirm receipt and send proforma."),
    ("RE: Payment advice", "Kindly find attached payment advice copy, view document to confirm."),
    ("Urgent RFQ", "Dear sir, see attached RFQ file, open the document and quote urgently."),
    ("New order from Indonesia", "Please see the attached order list and confirm the price asap."),
    ("Shipping documents", "Attached is the B/L copy, kindly view document and confirm payment."),
]
BUYERS = [
    ("LED panels 600x600", "We need 2,000 pcs of 600x600 LED panels 40W 4000K, FOB Shenzhen price please."),
    ("Floodlights for stadium", "Our project needs 120 floodlights 200W IP66; please send the datasheet."),
    ("High bay 150W", "Could you quote 300 high bay lights 150W, 5000K, delivery to Hamburg in March?"),
    ("Street lights tender", "We are bidding a tender for 800 street lights 100W; CIF Lagos price please."),
    ("Downlights", "Please quote 1,500 downlights 12W 3000K with DALI driver, samples first."),
    ("Track lights", "Our shop chain needs 400 track lights 30W CRI 90; what is your MOQ and lead time?"),
]


def trained() -> tm.TextModel:
    examples = [(tm.tokens(s, b), tm.JUNK) for s, b in LURES]
    examples += [(tm.tokens(s, b), tm.BUYER) for s, b in BUYERS]
    return tm.train(examples)


def test_tokens_are_lowercase_words_with_subject_marked_and_numbers_folded() -> None:
    toks = tm.tokens("NEW PO", "Please quote 2000 pcs of A60-9W, write to joe@x.com or https://x.com/a")
    assert "s:new" in toks and "s:po" in toks
    assert "please" in toks and "quote" in toks and "<n>" in toks
    assert "a00" in toks and "0w" in toks and "9w" not in toks  # digits inside a word become 0
    assert not any("joe" in t or "x.com" in t or "https" in t for t in toks)  # addresses and links dropped


def test_han_text_becomes_character_bigrams() -> None:
    toks = tm.tokens("", "我们需要报价")
    assert toks == ("我们", "们需", "需要", "要报", "报价")


def test_a_young_model_has_no_opinion() -> None:
    model = tm.train([(tm.tokens(s, b), tm.JUNK) for s, b in LURES])  # no buyer examples yet
    assert not model.ready
    assert tm.signal(model, tm.tokens(*LURES[0])) is None


def test_a_lure_like_mail_scores_junk_and_a_buyer_like_one_scores_buyer() -> None:
    model = trained()
    assert model.ready and model.docs == (6, 6)
    lure = tm.tokens("Please see attached PO", "Kindly view document attached and confirm urgently.")
    buyer = tm.tokens("Quote for 500 panels", "We need 500 LED panels 600x600 40W, FOB price and MOQ please.")
    assert tm.score(model, lure).log_odds > 2
    assert tm.score(model, buyer).log_odds < -2
    junk_signal, buyer_signal = tm.signal(model, lure), tm.signal(model, buyer)
    assert junk_signal is not None and junk_signal.name == "text_model" and 0 < junk_signal.weight <= 3.0
    assert buyer_signal is not None and -2.0 <= buyer_signal.weight < 0
    assert "attached" in junk_signal.evidence or "kindly" in junk_signal.evidence


def test_the_weight_is_capped_however_long_the_mail() -> None:
    model = trained()
    long_lure = tm.tokens("see attached PO", " ".join(b for _, b in LURES) * 20)
    s = tm.signal(model, long_lure)
    assert s is not None and s.weight == tm.MAX_WEIGHT


def test_a_mail_with_few_known_words_gets_no_signal() -> None:
    assert tm.signal(trained(), tm.tokens("Hallo", "Grüße")) is None


def test_forgetting_undoes_an_update_and_documents_round_trip() -> None:
    model = trained()
    toks = tm.tokens("Catalog please", "Send me your catalog and price list")
    again = tm.update(tm.update(model, toks, tm.JUNK), toks, tm.JUNK, times=-1)
    assert again == model
    assert tm.from_doc(tm.to_doc(model)) == model
    assert tm.from_doc(None) == tm.empty()


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="label"):
        tm.update(tm.empty(), ("a",), "spam")


def test_vocabulary_stays_bounded() -> None:
    model = tm.empty()
    for i in range(3):
        words = [f"w{i}x{j}" for j in range(tm.MAX_VOCABULARY // 2 + 10)]
        model = tm.update(model, words, tm.JUNK)
    assert len(model.counts) <= tm.MAX_VOCABULARY
    assert model.totals[0] == sum(c[0] for c in model.counts.values())
