"""parse_email on small hand-made fixtures (tests/fixtures/mail), edge cases and random bytes;
normalize_subject; the charset helpers."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.models import ParsedEmail
from bot.intake.charsets import codec_for, decode_bytes, decode_header_value
from bot.intake.parse import MAX_PARTS, MAX_TEXT_CHARS, parse_email
from bot.intake.subject import normalize_subject
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "mail"


def fixture(name: str) -> ParsedEmail:
    return parse_email((FIXTURES / name).read_bytes())


# --------------------------------------------------------------------------- charsets in fixtures


def test_gbk_body_labelled_gb2312_decodes_gbk_only_characters() -> None:
    p = fixture("gbk_labelled_gb2312.eml")
    assert "朱镕基路" in p.text  # 镕 is not in GB2312
    assert p.subject == "询价：不锈钢螺丝"
    assert p.from_name == "李瑄"
    assert p.from_addr == "li.xuan@example.cn"
    assert "\ufffd" not in p.text


def test_big5_body_and_subject_decode() -> None:
    p = fixture("big5.eml")
    assert p.subject == "請報價"
    assert "請報價 500 個不鏽鋼水壺" in p.new_text


def test_iso_2022_jp_subject_sender_and_body_decode() -> None:
    p = fixture("iso2022jp_subject.eml")
    assert p.subject == "お見積りのお願い"
    assert p.from_name == "田中"
    assert "ステンレスボトルの見積り" in p.text


def test_shift_jis_body_with_nec_special_character_decodes() -> None:
    assert "見積り依頼①" in fixture("shift_jis.eml").text


def test_windows_1251_subject_body_and_signature() -> None:
    p = fixture("windows1251.eml")
    assert p.subject == "Запрос цены"
    assert p.from_name == "Иван"
    assert p.new_text == "Здравствуйте!\nПросим прислать прайс-лист на 1000 шт."
    assert p.signature.startswith("С уважением")
    assert p.date_utc_offset_minutes == 180
    assert p.date == datetime(2026, 3, 3, 6, 15, tzinfo=UTC)


def test_windows_874_thai_decodes_although_python_lacks_the_label() -> None:
    p = fixture("windows874_thai.eml")
    assert p.subject == "ขอใบเสนอราคา"
    assert "ขอใบเสนอราคาสินค้า 200 ชิ้น" in p.new_text
    assert "สมชาย" in p.signature


def test_ks_c_5601_with_cr_only_line_endings() -> None:
    p = fixture("cr_only_korean.eml")
    assert p.subject == "견적 요청"
    assert p.text == "안녕하세요.\n견적 부탁드립니다."
    assert p.message_id == "<kr-1@example.kr>"


def test_utf8_bytes_in_part_labelled_us_ascii_and_raw_utf8_headers() -> None:
    p = fixture("mislabelled_ascii.eml")
    assert "Grüße aus München" in p.text
    assert p.from_name == "José Müller"
    assert p.from_addr == "jose@example.de"
    assert p.subject == "Preisanfrage für Flaschen"
    assert any("us-ascii" in d for d in p.defects)


# --------------------------------------------------------------------------- structure


def test_html_only_mail_is_converted_and_gmail_quote_cut() -> None:
    p = fixture("html_only_gmail_quote.eml")
    assert p.content_type == "text/html"
    assert "Please send the price list for model X-200" in p.new_text
    assert "https://buyer.example.com/spec" in p.new_text  # links kept as text
    assert "cid:logo" not in p.text  # no images
    assert "OLD QUOTED OFFER" not in p.new_text
    assert "OLD QUOTED OFFER" in p.text
    assert "Maria" in p.signature
    assert p.in_reply_to == "<offer-9@ourco.com>"
    assert p.references == ("<rfq-1@example.es>", "<offer-9@ourco.com>")


def test_rfc2231_chinese_attachment_names_and_inline_image() -> None:
    p = fixture("rfc2231_chinese_attachment.eml")
    names = [(a.filename, a.content_type) for a in p.attachments]
    assert ("报价单.pdf", "application/pdf") in names
    assert ("产品清单.xls", "application/vnd.ms-excel") in names  # gb2312 continuation
    assert any(ct == "image/png" for _, ct in names)
    pdf = next(a for a in p.attachments if a.filename == "报价单.pdf")
    assert pdf.size == len(b"%PDF-1.4 fake" * 10)  # decoded size
    assert p.text == "Please see the attached PO."


def test_broken_base64_keeps_what_decodes_and_records_defect() -> None:
    p = fixture("broken_base64.eml")
    assert "Please quote 800 units" in p.text
    assert any("Base64" in d for d in p.defects)


def test_missing_message_id_is_synthesised_from_content_hash() -> None:
    raw = (FIXTURES / "missing_message_id.eml").read_bytes()
    p = parse_email(raw)
    digest = hashlib.sha256(raw).hexdigest()
    assert p.content_hash == digest
    assert p.message_id_synthetic
    assert p.message_id == f"<{digest[:32]}@inquiry-desk.invalid>"
    assert p.date is None and p.date_utc_offset_minutes is None
    assert any("Message-ID" in d for d in p.defects)
    assert any("Date" in d for d in p.defects)
    assert parse_email(raw).message_id == p.message_id  # stable


def test_multipart_report_bounce() -> None:
    p = fixture("bounce_report.eml")
    assert p.content_type == "multipart/report"
    assert p.from_addr == "mailer-daemon@mx.ourco.com"
    assert "could not be delivered" in p.text
    assert "ORIGINAL OFFER TEXT" not in p.text  # the returned message is not the body


def test_nested_forward_prefers_outer_text_and_lists_embedded_parts() -> None:
    p = fixture("nested_forward.eml")
    assert p.text == "See below, a buyer from Manila."  # unknown charset fell back cleanly
    kinds = [a.content_type for a in p.attachments]
    assert "message/rfc822" in kinds and "image/jpeg" in kinds
    assert any("unknown charset" in d for d in p.defects)


def test_vietnamese_reply_cuts_da_viet_quote_and_keeps_signature() -> None:
    p = fixture("vietnamese_reply.eml")
    assert p.subject == "Trả lời: Báo giá"
    assert p.from_name == "Nguyễn Văn An"
    assert p.new_text == "Chào anh,\n\nChúng tôi muốn đặt 2000 chiếc, giao hàng tại cảng Hải Phòng."
    assert "đã viết" not in p.new_text and "OLD OFFER" not in p.new_text
    assert p.signature.startswith("Trân trọng")
    assert "+84 24 3333 4444" in p.signature


def test_chinese_reply_cuts_original_mail_disclaimer_and_signature() -> None:
    p = fixture("chinese_reply_original.eml")
    assert p.subject == "回复：报价"
    assert p.new_text == "您好，\n\n我们确认订单，请安排发货。"
    assert "原始邮件" not in p.new_text and "OLDQUOTE" not in p.new_text
    assert "免责声明" not in p.new_text and "免责声明" not in p.signature
    assert "王先生" in p.signature and "+86 755" in p.signature
    assert p.date_utc_offset_minutes == 480
    assert "\r" not in p.text


# --------------------------------------------------------------------------- edge cases


def test_empty_input_gives_a_complete_parsed_email() -> None:
    p = parse_email(b"")
    assert p.message_id_synthetic and p.message_id.endswith("@inquiry-desk.invalid>")
    assert p.text == "" and p.new_text == "" and p.from_addr == "" and p.size == 0
    assert p.content_hash == hashlib.sha256(b"").hexdigest()


def test_garbage_bytes_become_text_not_exceptions() -> None:
    p = parse_email(b"\xff\xfe\x00garbage\x80\x81 no headers at all")
    assert p.message_id_synthetic
    assert isinstance(p.text, str)


def test_malformed_to_header_falls_back() -> None:
    raw = b'From: a@b.com\nTo: "\nCc: "Bob" <BOB@Example.com>, x\nSubject: hi\n\nbody\n'
    p = parse_email(raw)
    assert "bob@example.com" in p.cc
    assert p.text == "body"


def test_addresses_lower_cased_and_lists_collected() -> None:
    raw = (
        b'From: "Smith, Ann" <Ann.Smith@Example.COM>\nTo: A@X.com, b@Y.com\nReply-To: R@Z.com\n'
        b"Subject: =?utf-8?B?5Zue5aSN77yaUkZR?=\nMessage-ID: abc123@host\n\nhello\n"
    )
    p = parse_email(raw)
    assert (p.from_name, p.from_addr) == ("Smith, Ann", "ann.smith@example.com")
    assert p.to == ("a@x.com", "b@y.com")
    assert p.reply_to == ("r@z.com",)
    assert p.subject == "回复：RFQ"
    assert p.message_id == "<abc123@host>" and not p.message_id_synthetic
    assert p.headers["subject"] == "回复：RFQ"
    assert p.headers["from"].lower().startswith('"smith, ann"') or "Ann.Smith" in p.headers["from"]


def test_huge_header_and_huge_body_are_bounded() -> None:
    raw = b"From: a@b.com\nX-Big: " + b"x" * 200_000 + b"\nSubject: s\n\n" + b"word " * 1_100_000
    p = parse_email(raw)
    assert len(p.headers["x-big"]) <= 2000
    assert len(p.text) <= MAX_TEXT_CHARS
    assert any("truncated" in d for d in p.defects)


def test_thousand_attachments_are_listed() -> None:
    parts = b"".join(
        b"--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=f%d.pdf\n\nx\n" % i
        for i in range(1000)
    )
    raw = b'From: a@b.com\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n\nbody\n' + parts + b"--B--\n"
    p = parse_email(raw)
    assert len(p.attachments) == 1000
    assert p.attachments[999].filename == "f999.pdf"
    assert p.text == "body"


def test_part_walk_stops_after_the_limit() -> None:
    parts = b"".join(b"--B\nContent-Type: image/gif\n\nx\n" for _ in range(MAX_PARTS + 50))
    raw = b'Content-Type: multipart/mixed; boundary="B"\n\n' + parts + b"--B--\n"
    p = parse_email(raw)
    assert len(p.attachments) < MAX_PARTS
    assert any("MIME parts" in d for d in p.defects)


def test_deeply_nested_multiparts_do_not_raise() -> None:
    depth = 400
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    )
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    p = parse_email(b"From: a@b.com\n" + head + b"Content-Type: text/plain\n\ndeep text" + tail)
    assert p.from_addr == "a@b.com"  # the headers were still read
    assert any("nested too deep" in d for d in p.defects), p.defects  # and the loss is said


def test_date_offsets_and_bad_dates() -> None:
    p = parse_email(b"Date: Mon, 2 Mar 2026 10:00:00 -0530\n\nx")
    assert p.date_utc_offset_minutes == -330
    assert p.date == datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    bad = parse_email(b"Date: yesterday-ish\n\nx")
    assert bad.date is None and any("Date" in d for d in bad.defects)


def test_unknown_encoded_word_charset_and_uft8_typo() -> None:
    p = parse_email(b"Subject: =?UFT-8?B?w6lsw6h2ZQ==?= =?x-bogus?Q?abc?=\n\nx")
    assert p.subject.startswith("élève")


# --------------------------------------------------------------------------- property tests


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    p = parse_email(raw)
    assert p.message_id and p.size == len(raw)


_header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "References",
        "In-Reply-To",
        "Content-Type",
        "Content-Disposition",
        "Content-Transfer-Encoding",
        "X-Junk",
    ]
)
_header_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            '"',
            "<",
            "=?",
            "=?gb2312?B?",
            "=?utf-8?Q?=E4=",
            "multipart/mixed; boundary=",
            "attachment; filename*=utf-8''%E4",
            "base64",
            "=?x?b?====?=",
            "(",
            "a@",
            "@@@",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_header_names, _header_values), max_size=12), st.binary(max_size=500))
def test_random_header_garbage_never_raises(headers: list[tuple[str, str]], body: bytes) -> None:
    raw = b"".join(
        name.encode() + b": " + value.encode("utf-8", errors="surrogateescape") + b"\n"
        for name, value in headers
    )
    p = parse_email(raw + b"\n" + body)
    assert isinstance(p, ParsedEmail)
    assert all(isinstance(a, str) for a in p.to + p.cc + p.reply_to)


# --------------------------------------------------------------------------- subject


def test_normalize_subject_strips_prefixes_and_tags() -> None:
    assert (
        normalize_subject("RE: Fwd: [ext]  回复：Quotation for  Model [X-200]")
        == "quotation for model [x-200]"
    )
    assert normalize_subject("Re[2]: AW: WG: SV: VS: Antw: RES: Enc: R: TR: FW: Price") == "price"
    assert normalize_subject("回复: 答复: 转发: 报价") == "报价"
    assert normalize_subject("Trả lời: Báo giá") == "báo giá"
    assert normalize_subject("  REQUEST   for\tQuote ") == "request for quote"
    assert normalize_subject("[sales-list] Re: RFQ") == "rfq"
    assert normalize_subject("Regarding the offer") == "regarding the offer"
    assert normalize_subject("[X-200]") == "[x-200]"
    assert normalize_subject("") == ""


def test_normalize_subject_matches_follow_ups() -> None:
    original = normalize_subject("Inquiry: 500 pcs stainless bottles")
    for reply in ("RE: Inquiry: 500 pcs stainless bottles", "Fwd:RE:  inquiry: 500 PCS stainless bottles"):
        assert normalize_subject(reply) == original


# --------------------------------------------------------------------------- charset helpers


def test_codec_aliases() -> None:
    assert codec_for("GB2312") == "gb18030"
    assert codec_for("x-gbk") == "gb18030"
    assert codec_for("big5") == "big5hkscs"
    assert codec_for("ks_c_5601-1987") == "cp949"
    assert codec_for("windows-874") == "cp874"
    assert codec_for("uft-8") == "utf-8"
    assert codec_for("koi8-r") == "koi8-r"
    assert codec_for("no-such-charset") is None


def test_decode_bytes_never_raises_and_reports() -> None:
    text, defects = decode_bytes("Привет".encode("koi8_r"), "koi8-r")
    assert text == "Привет" and defects == ()
    text, defects = decode_bytes(b"\xff\xfe\xfd abc", "utf-8")
    assert "abc" in text and defects
    assert decode_bytes(b"caf\xe9", None)[0] == "café"


def test_decode_header_value_joins_split_multibyte_words() -> None:
    data = "回复".encode()
    first, second = base64.b64encode(data[:2]).decode(), base64.b64encode(data[2:]).decode()
    assert decode_header_value(f"=?utf-8?B?{first}?= =?utf-8?B?{second}?=") == "回复"
    assert decode_header_value("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=") == "café"
