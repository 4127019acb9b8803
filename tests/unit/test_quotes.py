"""split_reply: quoted history, signatures, disclaimers, HTML quote containers, and the
third-party reply-body corpora (crisp-oss-email-reply-parser, alfonsrv-mail-parser-reply)."""

from __future__ import annotations

import pytest

from bot.intake.quotes import Reply, split_reply
from tests.corpora import require_corpus

# --------------------------------------------------------------------------- quote headers

NEW = "Please quote 500 pcs of model X-200, FOB Ningbo."


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Mar 2, 2026 at 10:00 AM Sales <sales@ourco.com> wrote:",
        "在 2026年3月2日周一 10:00，Sales <sales@ourco.com> 写道：",
        "於 2026年3月2日 週一 上午10:00，Sales <sales@ourco.com> 寫道：",
        "Vào Th 2, 2 thg 3, 2026 vào lúc 10:00 Sales <sales@ourco.com> đã viết:",
        "Pada tanggal Sen, 2 Mar 2026 pukul 10.00 Sales <sales@ourco.com> menulis:",
        "เมื่อ จ. 2 มี.ค. 2026 เวลา 10:00 Sales <sales@ourco.com> เขียนว่า:",
        "في الاثنين، 2 مارس 2026 10:00 ص كتب Sales <sales@ourco.com>:",
        "2026年3月2日(月) 10:00 Sales <sales@ourco.com>:",
        "2026년 3월 2일 (월) 오전 10:00, Sales <sales@ourco.com>님이 작성:",
        "El lun, 2 mar 2026 a las 10:00, Sales (<sales@ourco.com>) escribió:",
        "Em seg., 2 de mar. de 2026 às 10:00, Sales <sales@ourco.com> escreveu:",
        "Le lun. 2 mars 2026 à 10:00, Sales <sales@ourco.com> a écrit :",
        "Am Mo., 2. März 2026 um 10:00 Uhr schrieb Sales <sales@ourco.com>:",
        "Op ma 2 mrt 2026 om 10:00 schreef Sales <sales@ourco.com>:",
        "W dniu pon., 2 mar 2026 o 10:00 Sales <sales@ourco.com> napisał(a):",
        "Den man. 2. mar. 2026 kl. 10.00 skrev Sales <sales@ourco.com>:",
        "mån 2 mars 2026 kl 10:00 skrev Sales <sales@ourco.com>:",
        "пн, 2 мар. 2026 г. в 10:00, Sales <sales@ourco.com>:",
        "2 марта 2026 г., в 10:00, Sales <sales@ourco.com> написал:",
        "-----Original Message-----",
        "-----原始邮件-----",
        "------------------ 原始邮件 ------------------",
        "---------- Forwarded message ---------",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
    ],
)
def test_quote_headers_in_many_languages_are_cut(header: str) -> None:
    text = f"{NEW}\n\n{header}\n> OLD OFFER USD 1.20\n> line two\n"
    reply = split_reply(text)
    assert reply.new_text == NEW
    assert "OLD OFFER" in reply.quoted
    assert header.strip("-").strip()[:10] not in reply.new_text


@pytest.mark.parametrize(
    "block",
    [
        "From: Sales <sales@ourco.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Buyer\nSubject: Offer",
        "发件人: Sales <sales@ourco.com>\n发送时间: 2026年3月2日 10:00\n收件人: 王先生\n主题: 报价",
        "發件人: Sales <sales@ourco.com>\n寄件日期: 2026年3月2日 10:00\n收件人: 王先生\n主旨: 報價",
        "Từ: Sales <sales@ourco.com>\nĐã gửi: Thứ Hai, 2 tháng 3, 2026 10:00\nĐến: An\nChủ đề: Báo giá",
        "De: Sales <sales@ourco.com>\nEnviado el: lunes, 2 de marzo de 2026 10:00\nPara: Ana\nAsunto: Oferta",
        "Von: Sales <sales@ourco.com>\nGesendet: Montag, 2. März 2026 10:00\nAn: Max\nBetreff: Angebot",
        "*From:* Sales <sales@ourco.com>\n*Sent:* Monday, March 2, 2026 10:00 AM\n*To:* Buyer",
        "________________________________\nFrom: Sales <sales@ourco.com>\nSent: Monday\nTo: Buyer",
    ],
)
def test_outlook_header_blocks_are_cut(block: str) -> None:
    reply = split_reply(f"{NEW}\n\n{block}\n\nOLD OFFER USD 1.20\n")
    assert reply.new_text == NEW
    assert "OLD OFFER" in reply.quoted


def test_plain_greater_than_quotes_are_removed() -> None:
    reply = split_reply(f"{NEW}\n\n> quoted line\n> another\n")
    assert reply.new_text == NEW
    assert "quoted line" in reply.quoted


def test_interleaved_reply_keeps_the_answers() -> None:
    text = (
        "On Mon, Mar 2, 2026 at 10:00 AM Sales <sales@ourco.com> wrote:\n"
        "> What quantity do you need?\n\nWe need 5000 pieces for the first order this spring.\n\n"
        "> Which port?\n\nPlease deliver to Haiphong port, Vietnam, before the end of April.\n"
    )
    reply = split_reply(text)
    assert "5000 pieces" in reply.new_text and "Haiphong" in reply.new_text
    assert "What quantity" not in reply.new_text


def test_prose_mentioning_wrote_is_not_cut() -> None:
    text = "Our engineer wrote a spec last week.\nOn Monday we can confirm the order.\nThanks for the help."
    assert split_reply(text).new_text == text


# --------------------------------------------------------------------------- signatures, noise


@pytest.mark.parametrize(
    "closing",
    [
        "Best regards,",
        "Regards",
        "Thanks,",
        "Saludos",
        "Atenciones",
        "Mit freundlichen Grüßen",
        "Cordialement,",
        "Trân trọng,",
        "Salam,",
        "此致",
        "谢谢！",
        "С уважением,",
        "ขอบคุณครับ",
    ],
)
def test_closings_move_the_signature_block(closing: str) -> None:
    text = f"{NEW}\n\n{closing}\nJohn Tan\nPurchasing Manager, ABC Sdn Bhd\nTel: +60 3 1234 5678\n"
    reply = split_reply(text)
    assert reply.new_text == NEW
    assert reply.signature.startswith(closing)
    assert "+60 3 1234 5678" in reply.signature


def test_dash_dash_signature_delimiter() -> None:
    reply = split_reply(f"{NEW}\n\n-- \nJohn Tan\nwww.abc.com.my\n")
    assert reply.new_text == NEW
    assert "www.abc.com.my" in reply.signature


def test_thanks_inside_the_request_is_not_a_signature() -> None:
    text = "Thanks for your offer.\nPlease quote 500 pcs as well, and tell us the lead time?\n\nRegards,\nAnn"
    reply = split_reply(text)
    assert reply.new_text.startswith("Thanks for your offer.")
    assert "lead time" in reply.new_text
    assert reply.signature == "Regards,\nAnn"


def test_disclaimers_and_sent_from_lines_are_removed() -> None:
    text = (
        f"{NEW}\n\nSent from my iPhone\n\nBest regards,\nAnn\n\n"
        "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and may be privileged.\n"
        "If you are not the intended recipient, please delete it.\n"
    )
    reply = split_reply(text)
    assert reply.new_text == NEW
    assert "CONFIDENTIALITY" not in reply.new_text + reply.signature
    assert "iPhone" not in reply.new_text


def test_chinese_disclaimer_removed() -> None:
    reply = split_reply("请报价。\n\n免责声明：本邮件及其附件含有保密信息。\n")
    assert reply.new_text == "请报价。"


def test_external_sender_banner_removed() -> None:
    text = "CAUTION: This email originated from outside of the organization.\n\nPlease quote 500 pcs."
    assert split_reply(text).new_text == "Please quote 500 pcs."


def test_new_text_is_never_emptied() -> None:
    assert split_reply("Thanks!").new_text == "Thanks!"
    only_quote = "On Mon, Mar 2, 2026 at 10:00 AM Sales <sales@ourco.com> wrote:\n> hello"
    assert split_reply(only_quote).new_text != ""
    assert split_reply("").new_text == ""
    assert split_reply("   \n").new_text == ""


def test_reply_is_frozen() -> None:
    reply = split_reply(NEW)
    assert isinstance(reply, Reply)
    with pytest.raises(AttributeError):
        reply.new_text = "x"  # type: ignore[misc]


def test_line_endings_are_normalised() -> None:
    reply = split_reply(f"{NEW}\r\n\r\nOn Mon, 2 Mar 2026 Sales <s@o.com> wrote:\r\n> old\r\n")
    assert reply.new_text == NEW


# --------------------------------------------------------------------------- HTML


@pytest.mark.parametrize(
    "container",
    [
        '<div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div>'
        "<blockquote>OLD</blockquote></div>",
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Sales<br><b>Sent:</b> Monday</div><div>OLD</div>',
        '<hr id="appendonsend"><div>OLD</div>',
        '<blockquote type="cite">OLD</blockquote>',
    ],
)
def test_html_quote_containers_are_cut_before_conversion(container: str) -> None:
    html = f"<html><body><p>{NEW}</p><p>Kind regards,<br>Ann</p>{container}</body></html>"
    reply = split_reply("", html)
    assert reply.new_text == NEW
    assert reply.signature.startswith("Kind regards")
    assert "OLD" in reply.quoted and "OLD" not in reply.new_text


def test_html_used_when_plain_text_has_no_quote_marker() -> None:
    html = f'<p>{NEW}</p><div class="gmail_quote">older text that was flattened</div>'
    reply = split_reply(f"{NEW}\nolder text that was flattened", html)
    assert reply.new_text == NEW


# --------------------------------------------------------------------------- corpora


CORPUS_CUTS = [
    ("crisp-oss-email-reply-parser/email_10.txt", "De : Company Questions"),
    ("crisp-oss-email-reply-parser/email_12.txt", "Van: Company Questions"),
    ("crisp-oss-email-reply-parser/email_13.txt", "Da: Company Questions"),
    ("crisp-oss-email-reply-parser/email_14.txt", "W dniu 2017-01-09"),
    ("crisp-oss-email-reply-parser/email_22.txt", "30.09.2017, 18.30"),
    ("crisp-oss-email-reply-parser/email_23.txt", "2017-11-24 16:32 GMT+01:00"),
    ("crisp-oss-email-reply-parser/email_24.txt", "On Wed, 14 Nov 2018"),
    ("crisp-oss-email-reply-parser/email_25.txt", "November 17, 2021"),
    ("crisp-oss-email-reply-parser/email_3.txt", "Russell Brown wrote"),
    ("crisp-oss-email-reply-parser/email_7.txt", "Il giovedì 8 dicembre 2016"),
    ("crisp-oss-email-reply-parser/email_8.txt", "schreef Company"),
    ("crisp-oss-email-reply-parser/email_9.txt", "Message du : 12/12/2016"),
    ("crisp-oss-email-reply-parser/email_custom_quote_header.txt", "keltezéssel"),
    ("crisp-oss-email-reply-parser/email_customer_quote_header_2.txt", "From: somedude"),
    ("crisp-oss-email-reply-parser/email_customer_quote_header_3.txt", "De : Someone Somewhere"),
    ("crisp-oss-email-reply-parser/email_danish_dash_separator.txt", "Fra: A B C"),
    ("crisp-oss-email-reply-parser/email_finnish.txt", "kirjoitti"),
    ("crisp-oss-email-reply-parser/email_fr_multiline.txt", "Le lun. 15 nov. 2021"),
    ("crisp-oss-email-reply-parser/email_french_dash_separator.txt", "Message d'origine"),
    ("crisp-oss-email-reply-parser/email_german.txt", "schrieb"),
    ("crisp-oss-email-reply-parser/email_german_2.txt", "Von: John Doe"),
    ("crisp-oss-email-reply-parser/email_german_outlook.txt", "Ursprüngliche Nachricht"),
    ("crisp-oss-email-reply-parser/email_gmail_split_line_from.txt", "The Hiring Engine"),
    ("crisp-oss-email-reply-parser/email_italian.txt", "In data 11 ottobre 2017"),
    ("crisp-oss-email-reply-parser/email_msn.txt", "________________________________"),
    ("crisp-oss-email-reply-parser/email_norwegian_gmail.txt", "skrev Test user"),
    ("crisp-oss-email-reply-parser/email_original_message.txt", "-----original message-----"),
    ("crisp-oss-email-reply-parser/email_original_message_2.txt", "Original Message"),
    ("crisp-oss-email-reply-parser/email_outlook_split_line_from.txt", "From: Human Resources"),
    ("crisp-oss-email-reply-parser/email_portuguese.txt", "escreveu"),
    ("crisp-oss-email-reply-parser/email_russian.txt", "John Doe <doe@example.com>:"),
    ("crisp-oss-email-reply-parser/email_tricky_12_no_space_after_header.txt", "John Smith <john@"),
    ("crisp-oss-email-reply-parser/email_tricky_14_long_quote_header.txt", "at 3:45:32"),
    ("crisp-oss-email-reply-parser/email_tricky_15_original_message_variations.txt", "Original Message"),
    ("crisp-oss-email-reply-parser/email_tricky_17_forward_header.txt", "Forwarded message"),
    ("crisp-oss-email-reply-parser/email_tricky_5_mixed_languages.txt", "Pierre Dubois"),
    ("crisp-oss-email-reply-parser/email_zoho.txt", "john@gmail.com wrote"),
    ("alfonsrv-mail-parser-reply/email_danish_1.txt", "skrev Peter Petersen"),
    ("alfonsrv-mail-parser-reply/email_danish_2.txt", "Fra: Hanne Hansen"),
    ("alfonsrv-mail-parser-reply/email_danish_4.txt", "Oprindelig meddelelse"),
    ("alfonsrv-mail-parser-reply/email_gmail.txt", "On Wed, May 18, 2016"),
    ("alfonsrv-mail-parser-reply/email_ja_1_2.txt", "田中太郎 <taro.tanaka@"),
    ("alfonsrv-mail-parser-reply/email_sv_anon_1.txt", "skrev Person B"),
    ("alfonsrv-mail-parser-reply/email_swedish_2.txt", "Anna Andersson"),
    ("alfonsrv-mail-parser-reply/multi_header.txt", "XYZ <xyz@"),
]


@pytest.mark.parametrize(("relative", "header"), CORPUS_CUTS)
def test_corpus_reply_bodies_have_their_quote_cut(relative: str, header: str) -> None:
    text = (require_corpus("emails") / relative).read_bytes().decode("utf-8", errors="replace")
    assert header in text  # the fixture really has this quote header
    reply = split_reply(text)
    assert len(reply.new_text) < len(text.strip())
    assert header not in reply.new_text
    assert reply.quoted
    assert reply.new_text.strip()


def test_most_corpus_reply_bodies_with_quotes_are_cut() -> None:
    """Across every reply body with an obvious quote marker, at least 85% are cut."""
    base = require_corpus("emails")
    files = sorted(
        [
            *(base / "crisp-oss-email-reply-parser").glob("*.txt"),
            *(base / "alfonsrv-mail-parser-reply").glob("*.txt"),
        ]
    )
    with_marker = cut = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.splitlines()
        if not any(line.startswith(">") for line in lines[3:]):
            continue
        with_marker += 1
        reply = split_reply(text)
        if reply.quoted and not any(line.startswith(">") for line in reply.new_text.splitlines()):
            cut += 1
    assert with_marker >= 20
    print(f"\nquote cut in {cut} of {with_marker} corpus reply bodies with '>' quotes")
    assert cut / with_marker >= 0.85, (cut, with_marker)


@pytest.mark.parametrize(
    "relative",
    [
        "crisp-oss-email-reply-parser/email_tricky_1_on_false_positive.txt",
        "crisp-oss-email-reply-parser/email_tricky_2_url_with_wrote.txt",
        "crisp-oss-email-reply-parser/email_tricky_4_from_in_body.txt",
        "crisp-oss-email-reply-parser/email_tricky_7_multiple_dashes.txt",
        "crisp-oss-email-reply-parser/email_tricky_8_sent_from_in_content.txt",
        "crisp-oss-email-reply-parser/email_21.txt",
    ],
)
def test_corpus_false_positives_are_not_cut(relative: str) -> None:
    text = (require_corpus("emails") / relative).read_bytes().decode("utf-8", errors="replace")
    reply = split_reply(text)
    assert reply.quoted == ""
    assert len(reply.new_text) + len(reply.signature) >= 0.85 * len(text.strip())
