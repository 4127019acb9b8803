"""Split a reply into the sender's new text, their signature, and the quoted history.

Works on plain text (quote headers in many languages, ``>`` lines, Outlook header blocks) and,
when given, on the HTML body (cut at ``div.gmail_quote``, ``#divRplyFwdMsg``, ``#appendonsend``,
``blockquote[type=cite]`` ... before converting). Signatures are moved, not deleted: the triage
reads them for country hints. Disclaimers and "Sent from my iPhone" lines are dropped.

Example::

    >>> r = split_reply("Please quote 500 pcs.\\n\\nBest regards,\\nAn\\n\\nOn Mon, X <x@y.z> wrote:\\n> hi")
    >>> r.new_text, r.signature
    ('Please quote 500 pcs.', 'Best regards,\\nAn')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TEXT = 200_000
MAX_HTML = 1_000_000
_MAX_HEADER_LINE = 400


@dataclass(frozen=True)
class Reply:
    new_text: str
    signature: str
    quoted: str


# --------------------------------------------------------------------------- HTML


_HTML_CUTS = (
    re.compile(r"<div[^>]*\bclass\s*=\s*[\"']?[^\"'>]*\bgmail_quote\b", re.I),
    re.compile(r"<div[^>]*\bid\s*=\s*[\"']?divRplyFwdMsg\b", re.I),
    re.compile(r"<(?:div|hr|span)[^>]*\bid\s*=\s*[\"']?appendonsend\b", re.I),
    re.compile(r"<blockquote[^>]*\btype\s*=\s*[\"']?cite\b", re.I),
    re.compile(r"<div[^>]*\bclass\s*=\s*[\"']?[^\"'>]*\bmoz-cite-prefix\b", re.I),
    re.compile(r"<div[^>]*\bclass\s*=\s*[\"']?[^\"'>]*\byahoo_quoted\b", re.I),
    re.compile(r"<hr[^>]*\bid\s*=\s*[\"']?stopSpelling\b", re.I),
    re.compile(
        r"<div[^>]*\bid\s*=\s*[\"']?(?:mail-editor-reference-message-container|OLK_SRC_BODY_SECTION)\b", re.I
    ),
    re.compile(r"<blockquote[^>]*\bclass\s*=\s*[\"']?[^\"'>]*\bgmail_quote\b", re.I),
)


def html_to_text(html: str) -> str:
    """Convert HTML to plain text: links kept as text, images dropped; never raises."""
    html = html[:MAX_HTML]
    try:
        import html2text

        conv = html2text.HTML2Text()
        conv.ignore_images = True
        conv.ignore_links = False
        conv.ignore_emphasis = True
        conv.body_width = 0
        conv.unicode_snob = True
        conv.single_line_break = False
        text = str(conv.handle(html))
    except Exception:  # html2text is a best effort; fall back to stripping tags
        text = re.sub(r"<[^>]{0,2000}>", " ", html)
        import html as htmllib

        text = htmllib.unescape(text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def cut_html_quote(html: str) -> tuple[str, str] | None:
    """Return (before, quoted) HTML split at the first known quote container, or None."""
    html = html[:MAX_HTML]
    best: int | None = None
    for pattern in _HTML_CUTS:
        match = pattern.search(html)
        if match and (best is None or match.start() < best):
            best = match.start()
    if best is None:
        return None
    return html[:best], html[best:]


# --------------------------------------------------------------------------- quote headers

_WROTE_VERBS = (
    r"wrote|writes|schrieb|schreibt|a\s+écrit|a\s+ecrit|écrit|escribió|escribio|escreveu|ha\s+scritto|scrisse"
    r"|schreef|heeft\s+geschreven|napisał(?:\(a\)|a)?|napisal(?:\(a\)|a)?|pisze|skrev|skrifaði|написал(?:а)?|пишет"
    r"|написав|kirjoitti|đã\s+viết|da\s+viet|viết|menulis|telah\s+menulis|เขียนว่า|เขียน|كتب|写道|寫道|寫了|写了"
    r"|書きました|のメッセージ|님이\s*작성|작성|napsal(?:a)?|írta|yazdı|έγραψε|wrote\s+on"
)
# "On <date>, <name> <addr> wrote:" and its translations; the header may wrap onto 3 lines.
_WROTE_RE = re.compile(r"^.{0,600}?(?:" + _WROTE_VERBS + r")\s*[:：]?\s*$", re.I | re.S)
# Headers that must begin with a known lead-in to count when the verb is generic.
_WROTE_LEADS = re.compile(
    r"^\s*(?:on|am|le|el|em|il|op|w\s+dniu|dnia|den|d\.|в|у|vào|pada|lúc|在|於|于|el\s+día|ons|tis|mån|tors|fre|lör|sön)\b"
    r"|\d|@|<|\(",
    re.I,
)
# Gmail in languages without a verb: "ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:"
_ADDR_COLON_RE = re.compile(r"^(?=.*\d).{0,400}<\s*[^<>@\s]+@[^<>\s]+\s*>\s*[:：]\s*$", re.S)

_SEPARATOR_WORDS = (
    r"original\s+message|original\s+e-?mail|ursprüngliche\s+nachricht|originalnachricht|message\s+d'origine"
    r"|mensaje\s+original|mensagem\s+original|messaggio\s+originale|oorspronkelijk\s+bericht"
    r"|oorspronkelijke\s+bericht|opprinnelig\s+melding|oprindelig\s+meddelelse|originalmeddelelse"
    r"|ursprungligt\s+meddelande|ursprungligt\s+mail|исходное\s+сообщение|пересланное\s+сообщение"
    r"|wiadomość\s+oryginalna|wiadomosc\s+oryginalna|alkuperäinen\s+viesti|původní\s+zpráva|eredeti\s+üzenet"
    r"|forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|mensaje\s+reenviado"
    r"|mensagem\s+encaminhada|messaggio\s+inoltrato|doorgestuurd\s+bericht|videresendt\s+meddelelse"
    r"|原始邮件|原始郵件|原邮件|原郵件|转发的邮件|轉寄的郵件|转发邮件|邮件原文|原始信息|tin\s+nhắn\s+gốc|thư\s+gốc"
    r"|pesan\s+asli|pesan\s+yang\s+diteruskan|ข้อความต้นฉบับ|الرسالة\s+الأصلية|元のメッセージ|転送メッセージ"
    r"|원본\s*메시지|전달된\s*메시지|reply\s+message|original"
)
_SEPARATOR_RE = re.compile(
    r"^\s*[-_=*~—–]{2,}\s*(?:" + _SEPARATOR_WORDS + r")\s*[-_=*~—–:]*\s*$"
    r"|^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht"
    r"|début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado)\s*:\s*$",
    re.I,
)
_UNDERSCORE_RULE = re.compile(r"^\s*_{20,}\s*$")

# Outlook-style header blocks: "From: ... / Sent: ... / To: ... / Subject: ..."
_FROM_LABELS = (
    r"from|von|de|da|van|od|från|fra|fram|от|lähettäjä|feladó|kimden|发件人|發件人|寄件者|寄件人|从|"
    r"từ|người\s+gửi|dari|pengirim|จาก|من|差出人|送信者|보낸\s*사람|보낸사람|afzender|avsändare|avsender|expéditeur"
)
_OTHER_LABELS = (
    r"sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|date|à|objet|enviado(?:\s+el)?|fecha|para|asunto"
    r"|inviato|data|oggetto|a|verzonden|aan|onderwerp|wysłano|wysłane|data|do|temat|skickat|datum|till|ämne"
    r"|sendt|til|emne|dato|отправлено|дата|кому|тема|lähetetty|päivämäärä|vastaanottaja|aihe"
    r"|发送时间|發送時間|日期|时间|收件人|抄送|主题|主旨|寄件日期|傳送時間|副本|đã\s+gửi|ngày|đến|tới|chủ\s+đề|cc"
    r"|dikirim|tanggal|kepada|perihal|subjek|ส่ง|วันที่|ถึง|เรื่อง|أرسل|أرسلت|التاريخ|إلى|الموضوع"
    r"|送信日時|日付|宛先|件名|보낸\s*날짜|받는\s*사람|제목|날짜|enviada\s+em|enviado\s+em|assunto|gönderildi|konu"
)
_HEADER_LINE = r"^\s*[*_]{0,2}\s*(?:%s)\s*[*_]{0,2}\s*[:：]"
_FROM_LINE_RE = re.compile(_HEADER_LINE % _FROM_LABELS, re.I)
_OTHER_LINE_RE = re.compile(_HEADER_LINE % _OTHER_LABELS, re.I)

_QUOTED_LINE = re.compile(r"^\s*>")


def _find_quote_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or None."""
    n = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or len(stripped) > _MAX_HEADER_LINE:
            continue
        if _SEPARATOR_RE.match(stripped):
            return i
        if _UNDERSCORE_RULE.match(stripped) and i + 1 < n and _FROM_LINE_RE.match(_next_text(lines, i + 1)):
            return i
        if _FROM_LINE_RE.match(stripped) and _header_block_follows(lines, i):
            return _walk_back(lines, i)
        if _is_wrote_header(lines, i):
            return i
        if len(stripped) < 120 and _SENT_FROM_RE.match(stripped) and _next_text(lines, i + 1):
            # Mobile clients put "Sent from my phone" between the reply and the quote.
            return i
    return None


_RULE_LINE = re.compile(r"^\s*[-=_*~—–]{3,}\s*$")
_DATE_LABEL_LINE = re.compile(r"^\s*[^:：]{1,30}[:：]\s*\S.{0,80}$")


def _walk_back(lines: list[str], i: int) -> int:
    """Include separator rules and a "Message du : <date>" line just above a header block."""
    start = i
    j = i - 1
    blanks = 0
    while j >= 0 and i - j <= 6:
        stripped = lines[j].strip()
        if not stripped:
            blanks += 1
            if blanks > 2:
                break
        elif _RULE_LINE.match(stripped) or (
            _DATE_LABEL_LINE.match(stripped) and re.search(r"\d", stripped) and j == start - 1
        ):
            start = j
            blanks = 0
        else:
            break
        j -= 1
    return start


def _next_text(lines: list[str], start: int) -> str:
    for line in lines[start : start + 3]:
        if line.strip():
            return line.strip()
    return ""


def _header_block_follows(lines: list[str], i: int) -> bool:
    """A "From:" line followed within a few lines by another header label line."""
    seen = 0
    for line in lines[i + 1 : i + 6]:
        stripped = line.strip()
        if not stripped:
            continue
        if _OTHER_LINE_RE.match(stripped):
            return True
        seen += 1
        if seen > 1:  # a wrapped From line is allowed, a paragraph is not
            return False
    return False


def _is_wrote_header(lines: list[str], i: int) -> bool:
    first = lines[i].strip().strip("-—– ")
    if _QUOTED_LINE.match(first) or not _WROTE_LEADS.search(first):
        return False
    window = first
    for extra in range(3):
        if extra:
            if i + extra >= len(lines):
                return False
            nxt = lines[i + extra].strip()
            # A wrapped address leaves "<addr" on one line and ">:" on the next.
            closes_addr = nxt.startswith(">") and window.rfind("<") > window.rfind(">")
            if not nxt or len(nxt) > _MAX_HEADER_LINE or (_QUOTED_LINE.match(nxt) and not closes_addr):
                return False
            window = window + " " + nxt.strip("-—– ")
        if _WROTE_RE.match(window) and _WROTE_LEADS.search(window) and _looks_like_header(window):
            return True
        if _ADDR_COLON_RE.match(window):
            return True
    return False


def _looks_like_header(window: str) -> bool:
    """Guard against prose that happens to end in "wrote": a header names a date or an address."""
    has_digit = bool(re.search(r"\d", window))
    has_addr = "@" in window or "<" in window
    ends_colon = window.rstrip().endswith((":", "："))
    if not ends_colon and not has_addr:
        return False
    if len(window) > 300 and not has_addr:
        return False
    return has_digit or has_addr


# --------------------------------------------------------------------------- signatures etc.

_SENT_FROM_RE = re.compile(
    r"^\s*(?:sent\s+from\s+(?:my\s+)?\S.{0,60}|sent\s+(?:from|via|with)\s+.{1,60}|get\s+outlook\s+for\s+\S.{0,40}"
    r"|envoyé\s+(?:à\s+partir\s+de|depuis)\s+\S.{0,50}|enviado\s+desde\s+(?:mi\s+)?\S.{0,50}|enviado\s+do\s+(?:meu\s+)?\S.{0,50}|envoyé\s+de\s+mon\s+\S.{0,50}"
    r"|von\s+meinem\s+\S.{0,50}\s+gesendet|gesendet\s+von\s+(?:meinem\s+)?\S.{0,50}|inviato\s+da\s+\S.{0,50}"
    r"|verzonden\s+(?:vanaf|met)\s+\S.{0,50}|wysłane\s+z\s+\S.{0,50}|skickat\s+från\s+\S.{0,50}"
    r"|sendt\s+fra\s+\S.{0,50}|отправлено\s+(?:с|из)\s+\S.{0,50}|gửi\s+từ\s+\S.{0,50}|được\s+gửi\s+từ\s+\S.{0,50}"
    r"|dikirim\s+dari\s+\S.{0,50}|发自我的\S{0,30}|从我的\S{0,30}发送|來自我的\S{0,30}|发自\s*\S{0,30}(?:邮箱|客户端|手机)"
    r"|iPhoneから送信|\S{0,20}から送信)\s*$",
    re.I,
)

_DISCLAIMER_RE = re.compile(
    r"^\s*[*_]{0,2}(?:confidentiality\s+(?:notice|note|statement|warning)|disclaimer\s*[:：]|important\s+notice\s*[:：]"
    r"|legal\s+disclaimer|privileged\s*(?:and|&)\s*confidential|this\s+e-?mail\s+(?:message\s+)?(?:and\s+any\s+"
    r"(?:files|attachments?)\s+(?:transmitted\s+with\s+it\s+)?)?(?:is|are|may\s+be)\s+(?:strictly\s+)?"
    r"(?:confidential|intended|privileged)"
    r"|this\s+(?:e-?mail|message|communication)\s+(?:and\s+any\s+attachments?\s+)?(?:is|are)\s+(?:intended|confidential)"
    r"|the\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication)"
    r"|the\s+content\s+of\s+this\s+e-?mail\s+is\s+confidential|if\s+you\s+are\s+not\s+the\s+intended\s+recipient"
    r"|免责声明|免責聲明|保密声明|保密聲明|本邮件及其附件|本郵件及其附件|此邮件及其附件|本电子邮件|本電子郵件"
    r"|disclaimer\s*$)",
    re.I,
)

_CLOSINGS = (
    r"best\s+regards|kind\s+regards|warm\s+regards|warmest\s+regards|best\s+wishes|regards|rgds|br|brgds"
    r"|many\s+thanks|thanks(?:\s+(?:and|&)\s+(?:best\s+)?regards)?|thank\s+you(?:\s+(?:very\s+much|so\s+much))?"
    r"|thanks\s+in\s+advance|thx|cheers|sincerely|yours\s+sincerely|yours\s+faithfully|yours\s+truly"
    r"|respectfully|best|all\s+the\s+best|cordially|with\s+(?:best\s+|kind\s+)?regards"
    r"|saludos(?:\s+cordiales)?|un\s+saludo|atentamente|atenciones|cordiales\s+saludos|gracias|muchas\s+gracias"
    r"|atenciosamente|cumprimentos|abraços|obrigad[oa]|mit\s+freundlichen\s+grüßen|mit\s+freundlichen\s+grüssen"
    r"|freundliche\s+grüße|viele\s+grüße|beste\s+grüße|liebe\s+grüße|gruß|grüße|mfg|lg|vg|danke"
    r"|cordialement|bien\s+cordialement|bien\s+à\s+vous|salutations|merci(?:\s+beaucoup)?"
    r"|distinti\s+saluti|cordiali\s+saluti|saluti|grazie|met\s+vriendelijke\s+groet(?:en)?|groeten|mvg"
    r"|pozdrawiam|z\s+poważaniem|med\s+venlig\s+hilsen|venlig\s+hilsen|mvh|hilsen|kh|med\s+vänlig\s+hälsning"
    r"|vänliga\s+hälsningar|hälsningar|ystävällisin\s+terveisin|terveisin|с\s+уважением|спасибо|всего\s+доброго"
    r"|trân\s+trọng|thân\s+ái|cảm\s+ơn|xin\s+cảm\s+ơn|salam|hormat\s+kami|hormat\s+saya|terima\s+kasih"
    r"|ขอแสดงความนับถือ|ขอบคุณ(?:ครับ|ค่ะ|คะ)?|مع\s+تحياتي|مع\s+خالص\s+التحية|شكرا|تحياتي"
    r"|此致|此致敬礼|此致\s*敬礼|谢谢|謝謝|多谢|祝好|顺祝商祺|順祝商祺|祝商祺|敬上|敬启|よろしくお願いします"
    r"|よろしくお願いいたします|宜しくお願い致します|敬具|감사합니다|고맙습니다"
)
_CLOSING_RE = re.compile(r"^\s*(?:" + _CLOSINGS + r")\s*[^\w\n]{0,6}$", re.I)
_SIG_DELIM_RE = re.compile(r"^(?:-- ?|--|__)\s*$")
_MAX_SIG_LINES = 10
_MAX_SIG_LINE_LEN = 100


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split lines into (body, signature)."""
    sig: list[str] = []
    for i in range(len(lines) - 1, -1, -1):
        if _SIG_DELIM_RE.match(lines[i]) and i > 0:
            sig = lines[i:]
            lines = lines[:i]
            break
    for i in range(len(lines) - 1, -1, -1):
        if not _CLOSING_RE.match(lines[i]):
            continue
        rest = [line for line in lines[i + 1 :] if line.strip()]
        if len(rest) <= _MAX_SIG_LINES and all(len(line.strip()) <= _MAX_SIG_LINE_LEN for line in rest):
            return lines[:i], lines[i:] + sig
        break
    return lines, sig


_BANNER_RE = re.compile(
    r"^\s*[*_\[]{0,2}(?:caution|warning|attention|notice|external(?:\s+e-?mail)?)\s*[\]:：]"
    r".{0,40}(?:outside|external|originated|phishing|do\s+not\s+click)",
    re.I,
)


def _strip_noise(lines: list[str]) -> list[str]:
    """Drop "Sent from my iPhone" lines, "external email" banners and everything from a legal
    disclaimer on."""
    kept: list[str] = []
    in_banner = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _BANNER_RE.match(stripped):
            in_banner = True
        if in_banner:
            in_banner = bool(stripped)
            continue
        if _DISCLAIMER_RE.match(stripped) and index > 0:
            break
        if stripped and len(stripped) < 120 and _SENT_FROM_RE.match(stripped):
            continue
        kept.append(line)
    return kept


def _tidy(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n").strip()


def _split_text(text: str) -> tuple[str, str, str, bool]:
    """Return (new_text, signature, quoted, found_quote)."""
    lines = text.split("\n")
    quoted_lines: list[str] = []
    for _ in range(50):  # bounded: each round removes one inline quote header
        start = _find_quote_start(lines)
        if start is None:
            break
        end = _inline_header_end(lines, start)
        if end is None:
            quoted_lines = lines[start:]
            lines = lines[:start]
            break
        quoted_lines.extend(lines[start:end])
        lines = lines[:start] + lines[end:]
    body: list[str] = []
    for line in lines:
        if _QUOTED_LINE.match(line):
            quoted_lines.append(line)
        else:
            body.append(line)
    body = _strip_noise(body)
    new, sig = _cut_signature(body)
    if not _tidy(new) and sig:
        new, sig = body, []  # the closing line *is* the message ("Thank you!")
    return _tidy(new), _tidy(sig), _tidy(quoted_lines), bool(quoted_lines)


def _inline_header_end(lines: list[str], start: int) -> int | None:
    """If the quote header at ``start`` introduces an interleaved reply (quoted lines followed by
    a substantial unquoted answer), return the index just past the header; else None."""
    first_quoted = None
    for k in range(start + 1, min(len(lines), start + 5)):
        if _QUOTED_LINE.match(lines[k]):
            first_quoted = k
            break
    if first_quoted is None or any(not line.strip() for line in lines[start + 1 : first_quoted]):
        return None
    k = first_quoted
    while k < len(lines) and (_QUOTED_LINE.match(lines[k]) or not lines[k].strip()):
        k += 1
    answer = [line for line in lines[k:] if line.strip() and not _QUOTED_LINE.match(line)]
    if len(answer) >= 2 and sum(len(line.strip()) for line in answer) >= 80:
        return first_quoted
    return None


def _normalise(text: str) -> str:
    text = text[:MAX_TEXT]
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").replace("\u00a0", " ")


def split_reply(text: str, html: str | None = None) -> Reply:
    """Split a reply body into new text, signature and quoted history; never raises.

    ``new_text`` is never empty when the mail has any text: if cutting would leave nothing,
    the original text is kept.
    """
    try:
        return _split_reply(text, html)
    except Exception:  # a heuristic must never lose a buyer's mail
        fallback = _normalise(text or "").strip() or (html_to_text(html) if html else "")
        return Reply(new_text=fallback, signature="", quoted="")


def _split_reply(text: str, html: str | None) -> Reply:
    text = _normalise(text or "")
    new_text, signature, quoted, found = _split_text(text) if text.strip() else ("", "", "", False)
    if html and (not text.strip() or not found):
        cut = cut_html_quote(html)
        if cut is not None:
            before, after = cut
            h_new, h_sig, h_quoted, _ = _split_text(_normalise(html_to_text(before)))
            if h_new:
                return Reply(new_text=h_new, signature=h_sig, quoted=_tidy([h_quoted, html_to_text(after)]))
        if not text.strip():
            text = _normalise(html_to_text(html))
            new_text, signature, quoted, found = _split_text(text)
    if not new_text:
        original = text.strip()
        if signature and not quoted:
            # Only a signature-like block: that *is* the message (e.g. "Thanks!").
            return Reply(new_text=original, signature="", quoted="")
        return Reply(new_text=original, signature=signature, quoted=quoted)
    return Reply(new_text=new_text, signature=signature, quoted=quoted)
