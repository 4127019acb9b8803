"""Every third-party message in shared/corpora/emails goes through parse_email.

``tests/corpora.py`` finds them (beside the repository, or where ``CORPORA_DIR`` points).
Missing corpora skip the tests locally but fail them in CI.
"""

from __future__ import annotations

import time

import pytest

from bot.core.models import ParsedEmail
from bot.intake.parse import parse_email
from tests.corpora import corpus_files, require_corpus

_cache: dict[str, ParsedEmail] = {}


def parsed(relative: str) -> ParsedEmail:
    if relative not in _cache:
        _cache[relative] = parse_email((require_corpus("emails") / relative).read_bytes())
    return _cache[relative]


def test_every_corpus_file_parses_with_a_message_id() -> None:
    files = corpus_files()
    assert len(files) > 400
    started = time.perf_counter()
    for path in files:
        raw = path.read_bytes()
        result = parse_email(raw)
        assert isinstance(result, ParsedEmail), path
        assert result.message_id.startswith("<") and result.message_id.endswith(">"), path
        assert result.size == len(raw)
        assert not any(d.startswith("parser failed") for d in result.defects), (path, result.defects)
        assert isinstance(result.text, str) and isinstance(result.new_text, str)
        if result.text.strip():
            assert result.new_text.strip(), path
    elapsed = time.perf_counter() - started
    print(f"\nparsed {len(files)} corpus files in {elapsed:.2f}s ({len(files) / elapsed:.0f} messages/s)")


@pytest.mark.parametrize(
    ("relative", "expected_in_text"),
    [
        ("spamscope-mail-parser/mail_test_9", "我把镜头拉近些"),  # GB2312
        ("spamscope-mail-parser/mail_test_12", "增值税发票"),  # GB2312 (really utf-8)
        ("jhillyerd-enmime/parts/chardet-success-big-5.raw", "音辭第十八"),  # Big5 labelled us-ascii
        ("mikel-mail/error_emails/content_transfer_encoding_empty.eml", "軟體帝國"),  # Big5, re-encoded
        ("jstedfast-mimekit/tnef/ukr.eml", "шостий"),  # KOI8-R
        ("mikel-mail/multi_charset/japanese_iso_2022.eml", "すみません"),  # ISO-2022-JP
        ("mikel-mail/multi_charset/japanese_shift_jis.eml", "このメールはテスト用のメールです"),
        ("mikel-mail/plain_emails/raw_email.eml", "대부분의"),  # EUC-KR / ks_c_5601-1987
        ("ikvk-imap-tools/attachment_8bit.eml", "отдел расписания"),  # raw 8-bit windows-1251
        ("mikel-mail/plain_emails/raw_email_bad_time.eml", "scanned for viruses"),  # bad boundary
        ("spamscope-mail-parser/mail_malformed_3", "Problemas para visualizar"),  # boundary mismatch
    ],
)
def test_named_charset_examples_decode_to_real_characters(relative: str, expected_in_text: str) -> None:
    result = parsed(relative)
    assert expected_in_text in result.text
    assert "\ufffd" not in result.text[:2000]


@pytest.mark.parametrize(
    ("relative", "expected_subject"),
    [
        ("jstedfast-mimekit/messages/japanese.txt", "日本語メールテスト"),
        ("mikel-mail/multi_charset/japanese_iso_2022.eml", "まみむめも"),
        ("mikel-mail/plain_emails/raw_email.eml", "한국말로"),
        ("spamscope-mail-parser/mail_test_12", "代开各地增值税发票"),
        ("mikel-mail/rfc6532/utf8_headers.eml", "Säying Hello"),
        ("php-mime-mail-parser/issue149", "מענה"),
    ],
)
def test_encoded_and_raw_utf8_subjects_decode(relative: str, expected_subject: str) -> None:
    assert expected_subject in parsed(relative).subject


def test_windows_1251_sender_name_decodes() -> None:
    result = parsed("mikel-mail/plain_emails/raw_email_bad_time.eml")
    assert result.from_name.startswith("Атиков")
    assert result.from_addr == "yusuf75thu@auracom.net"


def test_koi8r_attachment_name_decodes() -> None:
    names = [a.filename for a in parsed("apache-james-mime4j/russian-headers.msg").attachments]
    assert "Список.doc" in names


def test_unknown_charsets_are_recorded_not_fatal() -> None:
    result = parsed("zbateson-mail-mime-parser/invalid-charset.txt")
    assert "The Hare and the Tortoise" in result.text
    assert any("unknown charset" in d for d in result.defects)


def test_same_message_with_lf_crlf_and_cr_endings_parses_the_same() -> None:
    results = [parsed(f"sisimai-set-of-emails/{kind}/lhost-postfix-01.eml") for kind in ("bsd", "dos", "mac")]
    assert results[0].text, "LF version has text"
    assert {r.subject for r in results} == {results[0].subject}
    assert {r.text for r in results} == {results[0].text}
    assert {r.message_id for r in results} == {results[0].message_id}
    assert "\r" not in results[2].text


def test_200kb_header_is_capped() -> None:
    result = parsed("mailgun-flanker/long-header.eml")
    assert all(len(value) <= 2000 for value in result.headers.values())


def test_missing_message_id_in_corpus_is_synthesised() -> None:
    result = parsed("mikel-mail/multi_charset/japanese.eml")
    assert result.message_id_synthetic
    assert result.message_id == f"<{result.content_hash[:32]}@inquiry-desk.invalid>"
