"""Language detection: scripts, short one-liners, Malay vs Indonesian, hints."""

from __future__ import annotations

import threading

import pytest

from bot.triage.language import detect_language, malay_or_indonesian


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("我们想订购LED面板，请报价", "zh"),
        ("請報價", "zh"),  # langdetect says Korean
        ("報價單", "zh"),
        ("您好，我們是台北的燈具代理商，請提供LED投光燈的報價單與型錄，謝謝。", "zh"),
        ("こんにちは、見積もりをお願いします", "ja"),
        ("LEDパネルのカタログを送ってください", "ja"),
        ("안녕하세요 견적 부탁드립니다", "ko"),
        ("สวัสดีครับ ขอใบเสนอราคา", "th"),
        ("مرحبا، نرجو إرسال عرض سعر", "ar"),
        ("שלום, אנא שלחו הצעת מחיר", "he"),
        ("Здравствуйте, пришлите прайс-лист", "ru"),
        ("Добрий день, надішліть, будь ласка, прайс", "uk"),
        ("Xin chào, vui lòng gửi báo giá đèn LED", "vi"),
        ("Cảm ơn", "vi"),
    ],
)
def test_script_rules_decide_non_latin_text(text: str, lang: str) -> None:
    assert detect_language(text)[0] == lang


@pytest.mark.parametrize(
    "text", ["pls send catalog", "price list pls", "MOQ?", "Hi, price?", "need quotation"]
)
def test_short_english_one_liners_are_english(text: str) -> None:
    assert detect_language(text)[0] == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Guten Tag, wir benötigen ein Angebot für 500 LED Panels für ein Bürogebäude.", "de"),
        ("Buongiorno, vorremmo un preventivo per 200 fari LED per un progetto.", "it"),
        ("Dzień dobry, prosimy o ofertę na panele LED do magazynu.", "pl"),
        ("Merhaba, LED panel için fiyat teklifi rica ederim, teşekkürler.", "tr"),
        ("Goedemiddag, wij willen graag een offerte voor LED panelen ontvangen.", "nl"),
        ("Bom dia, gostaria de um orçamento para painéis LED para o nosso projeto.", "pt"),
        ("Bonjour, pourriez-vous nous envoyer votre catalogue et vos prix ?", "fr"),
        ("Buenos días, necesitamos cotización de 300 paneles LED para un proyecto.", "es"),
        ("Hola", "es"),
        ("Merci", "fr"),
        ("Danke", "de"),
    ],
)
def test_latin_languages(text: str, lang: str) -> None:
    assert detect_language(text)[0] == lang


def test_malay_words_make_malay() -> None:
    lang, reason = detect_language("Kami berminat dengan lampu LED anda, sila hantar sebut harga.")
    assert lang == "ms"
    assert "Malay words" in reason


def test_indonesian_words_make_indonesian() -> None:
    text = "Kami tertarik dengan lampu LED, mohon kirimkan penawaran harga untuk proyek kami."
    assert detect_language(text)[0] == "id"


def test_shared_malay_indonesian_text_is_decided_by_country() -> None:
    assert detect_language("Terima kasih, harga lampu?", country="MY")[0] == "ms"
    assert detect_language("Terima kasih, harga lampu?", tld_country="ID")[0] == "id"
    assert malay_or_indonesian("terima kasih", "MY") == ("ms", "Malay/Indonesian decided by country MY")


def test_short_text_uses_thread_language_hint() -> None:
    lang, reason = detect_language("OK 👍", thread_language="vi")
    assert lang == "vi"
    assert "thread" in reason


def test_short_unknown_text_uses_country_hint() -> None:
    assert detect_language("ok", country="TH")[0] == "th"


def test_nothing_known_is_und() -> None:
    assert detect_language("")[0] == "und"
    assert detect_language("12345 !!!")[0] == "und"


def test_urls_and_addresses_do_not_decide_language() -> None:
    text = "Bitte senden Sie uns Ihren Katalog. www.example-shop.com info@example-shop.com"
    assert detect_language(text)[0] == "de"


def test_detection_is_deterministic_and_thread_safe() -> None:
    text = "Bonjour, nous voudrions recevoir votre catalogue de projecteurs LED."
    results: list[str] = []

    def work() -> None:
        for _ in range(20):
            results.append(detect_language(text)[0])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {"fr"}
    assert len(results) == 80
