"""Property-based fuzzing of the parser and the triage: whatever the bytes, no exception.

Inputs: random MIME trees rendered by hand (so any charset label, transfer encoding or
boundary can be wrong), trees built with ``email.message.EmailMessage``, header garbage
(encoded words with bogus charsets, broken addresses, overlong lines) and byte mutations of
the bundled sample emails. Two explicit worst cases bound time and memory: a 5 MB body and a
message with 1,000 attachments. The whole file runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import base64
import quopri
import time
import tracemalloc
from collections.abc import Callable
from email.message import EmailMessage
from importlib import resources
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.models import ParsedEmail, Triage
from bot.intake.parse import parse_email
from bot.triage import TriageConfig, triage

CONFIG = TriageConfig(own_domains=frozenset({"brightway-led.com"}))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_MESSAGE_S = 5.0  # generous (shared 2-core CI machine): a normal message takes milliseconds
BIG_BODY_S = 2.0
BIG_PEAK_BYTES = 200 * 1024 * 1024

REAL_CHARSETS = [
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "windows-1252",
    "windows-1251",
    "koi8-r",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "shift_jis",
    "iso-2022-jp",
    "euc-kr",
    "utf-16",
    "utf-16le",
    "utf-7",
]
BOGUS_CHARSETS = [
    "windows-874",
    "ks_c_5601-1987",
    "x-unknown",
    "unicode-1-1-utf-7",
    "utf8mb4",
    "",
    '"',
    "=?",
    "cp" + "9" * 40,
    "ansi_x3.110-1983",
    "../../etc/passwd",
    "\u00e9t\u00e9",
]
CHARSETS = st.sampled_from(REAL_CHARSETS + BOGUS_CHARSETS)
ENCODINGS = st.sampled_from(
    ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus", ""]
)
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),
    max_size=300,
)
WORDS = st.sampled_from(
    [
        "Please quote 500 pcs LED panel FOB Shenzhen",
        "Kính gửi, vui lòng báo giá",
        "请报价 LED 灯",
        "Bitte um ein Angebot",
        "يرجى إرسال عرض سعر",
        "กรุณาเสนอราคา",
        "=?utf-8?b?broken",
        "<!channel> <@U123>",
        "\x00\x01\x1b[31m",
        "\r\n\r\n--boundary--\r\n",
        "Content-Type: multipart/mixed",
    ]
)


def check(raw: bytes, bound: float = PER_MESSAGE_S) -> tuple[ParsedEmail, Triage]:
    """Parse and triage ``raw``; both must return within ``bound`` seconds and never raise."""
    started = time.perf_counter()
    parsed = parse_email(raw)
    verdict = triage(parsed, CONFIG)
    elapsed = time.perf_counter() - started
    assert isinstance(parsed, ParsedEmail) and isinstance(verdict, Triage)
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert parsed.size == len(raw)
    assert isinstance(parsed.text, str) and isinstance(parsed.new_text, str)
    assert verdict.reason
    assert elapsed < bound, f"{elapsed:.2f}s for {len(raw)} bytes"
    return parsed, verdict


# -- hand-rendered MIME trees -----------------------------------------------------------------


def _encode_body(data: bytes, cte: str, corrupt: bool) -> bytes:
    if cte == "base64":
        out = base64.encodebytes(data)
        return out[: len(out) // 2] + b"!!*" if corrupt else out
    if cte == "quoted-printable":
        out = quopri.encodestring(data)
        return out + b"=Z=\r\n=" if corrupt else out
    return data


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(
        st.sampled_from(
            [
                "text/plain",
                "text/html",
                "application/pdf",
                "image/png",
                "message/rfc822",
                "text/x-garbage",
                "",
                "text/plain; format=flowed; delsp=yes",
                "application/octet-stream; name*=utf-8''%E6%8A%A5%E4%BB%B7.pdf",
            ]
        )
    )
    charset = draw(CHARSETS)
    real = charset if charset in REAL_CHARSETS else "utf-8"
    text = draw(st.one_of(TEXT, WORDS))
    if ctype.startswith("text/html"):
        text = f"<html><body><p>{text}</p><div class='gmail_quote'>old</div><script>x</script></body>"
    try:
        data = text.encode(real, errors="replace")
    except (LookupError, UnicodeError):
        data = text.encode("utf-8", errors="replace")
    cte = draw(ENCODINGS)
    body = _encode_body(data, cte, draw(st.booleans()))
    disposition = draw(
        st.sampled_from(["", "attachment", 'attachment; filename="=?bogus?Q?x?="', "inline; filename=a.txt"])
    )
    lines = [f'Content-Type: {ctype}; charset="{charset}"']
    if cte:
        lines.append(f"Content-Transfer-Encoding: {cte}")
    if disposition:
        lines.append(f"Content-Disposition: {disposition}")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def _multipart(children: list[bytes], subtype: str, boundary: str, close: bool) -> bytes:
    b = boundary.encode("utf-8", "replace")
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("utf-8", "replace")
    parts = b"".join(b"--" + b + b"\r\n" + child + b"\r\n" for child in children)
    return head + b"preamble\r\n" + parts + (b"--" + b + b"--\r\n" if close else b"")


def tree(depth: int = 3) -> st.SearchStrategy[bytes]:
    return st.recursive(
        leaf(),
        lambda children: st.builds(
            _multipart,
            st.lists(children, min_size=0, max_size=4),
            st.sampled_from(["mixed", "alternative", "related", "report", "signed", "x-bogus"]),
            st.sampled_from(["b1", "==_b", "a" * 80, "", " ", "b1--"]),
            st.booleans(),
        ),
        max_leaves=8,
    )


HEADER_VALUES = st.one_of(
    TEXT,
    WORDS,
    st.sampled_from(
        [
            '"',
            '"unterminated <a@b',
            "=?windows-874?B?4Lib4Lij4Liw?=",
            "=?x-unknown?Q?=E9t=E9?=",
            "=?utf-8?B?!!!?=",
            "=?gb2312?B?zfXPyMn6?= <wang@example.cn>",
            "<<>>@@,,;;",
            "a@b, , ,c@",
            "Mon, 32 Foo 99999 25:61:61 +9999",
            "<" + "x" * 5000 + "@example.com>",
            "x" * 20000,
            "\udcff\udcfe",
        ]
    ),
)
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Auto-Submitted",
        "Precedence",
        "List-Unsubscribe",
        "X-Garbage",
        "From ",
        ":",
    ]
)


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12))
    out = b"".join(
        n.encode("utf-8", "surrogateescape") + b": " + v.encode("utf-8", "surrogateescape") + b"\r\n"
        for n, v in pairs
    )
    if draw(st.booleans()):
        out += b"MIME-Version: 1.0\r\n"
    return out


@settings(FUZZ, max_examples=80)
@given(head=headers(), body=tree())
def test_random_mime_trees_with_any_charset_parse_and_triage(head: bytes, body: bytes) -> None:
    check(head + body)


@FUZZ
@given(head=headers(), sep=st.sampled_from([b"\r\n", b"\n", b"", b"\r"]), body=st.binary(max_size=2000))
def test_header_garbage_and_binary_bodies_parse_and_triage(head: bytes, sep: bytes, body: bytes) -> None:
    check(head + sep + body)


# -- EmailMessage-built trees -------------------------------------------------------------------


@st.composite
def email_message(draw: st.DrawFn) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = draw(st.sampled_from(["Anna <anna@licht.de>", "wang@example.cn", "x"]))
    msg["Subject"] = draw(st.text(max_size=60).map(lambda s: " ".join(s.splitlines())))
    msg.set_content(draw(st.one_of(TEXT, WORDS)))
    if draw(st.booleans()):
        msg.add_alternative(f"<p>{draw(TEXT)}</p>", subtype="html")
    for i in range(draw(st.integers(0, 4))):
        msg.add_attachment(
            draw(st.binary(max_size=200)),
            maintype="application",
            subtype=draw(st.sampled_from(["pdf", "octet-stream", "zip"])),
            filename=draw(st.sampled_from([f"quote{i}.pdf", "报价单.xlsx", "a\x00b", "../../x"])),
        )
    if draw(st.booleans()):
        inner = EmailMessage()
        inner["Subject"] = "forwarded"
        inner.set_content(draw(TEXT))
        msg.add_attachment(inner)
    return msg  # serialised in the test: the generator draws boundaries from ``random``


@FUZZ
@given(msg=email_message())
def test_email_message_trees_parse_and_triage(msg: EmailMessage) -> None:
    parsed, _ = check(msg.as_bytes())
    assert parsed.from_addr == parsed.from_addr.strip().lower()
    names = {a.filename for a in parsed.attachments}
    assert all(isinstance(n, str) for n in names)


# -- mutations of real mail --------------------------------------------------------------------

SAMPLES = sorted(
    p.read_bytes()
    for p in resources.files("bot.app").joinpath("samples").iterdir()
    if p.name.endswith(".eml")
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.one_of(st.binary(min_size=1, max_size=40), WORDS.map(str.encode)))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[at:]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 500))]
    return bytes(data)


@FUZZ
@given(raw=mutated())
def test_byte_mutations_of_sample_mail_parse_and_triage(raw: bytes) -> None:
    check(raw)


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=5000))
@example(raw=b"")
@example(raw=b"\x00" * 1000)
@example(raw=b"\r\n" * 2000)
@example(raw=b"From: \r\n\tfolded\r\n\t\r\n\r\n")
@example(raw=b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n" * 1500)
def test_arbitrary_bytes_parse_and_triage(raw: bytes) -> None:
    check(raw)


# -- explicit worst cases -----------------------------------------------------------------------


def _measure(fn: Callable[[], Any]) -> tuple[float, int]:
    """Wall time (without tracing) and peak traced memory of ``fn``."""
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return elapsed, peak


def five_mb_message() -> bytes:
    line = "We need 500 pcs of LED panels 600x600, please quote FOB Shenzhen. Danke und Grüße. "
    body = (line * (5 * 1024 * 1024 // len(line) + 1))[: 5 * 1024 * 1024]
    msg = EmailMessage()
    msg["From"] = "Anna Buyer <anna@licht.de>"
    msg["To"] = "sales@brightway-led.com"
    msg["Subject"] = "Big RFQ"
    msg["Message-ID"] = "<big@licht.de>"
    msg.set_content(body, cte="quoted-printable")
    return msg.as_bytes()


def test_a_5_mb_body_parses_and_triages_in_bounded_time_and_memory() -> None:
    raw = five_mb_message()
    assert len(raw) > 5 * 1024 * 1024
    elapsed, peak = _measure(lambda: check(raw, bound=60))
    assert elapsed < BIG_BODY_S, f"{elapsed:.2f}s"
    assert peak < BIG_PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"
    parsed, verdict = check(raw)
    assert parsed.message_id == "<big@licht.de>"
    assert "LED panels" in parsed.text and len(parsed.text) <= 200_000
    assert verdict.is_inquiry


def test_a_5_mb_html_body_in_base64_is_bounded_too() -> None:
    html = (
        "<html><body>" + "<p>Please quote <b>LED</b> highbay 150W, 300 pcs.</p>" * 100_000 + "</body></html>"
    )
    msg = EmailMessage()
    msg["From"] = "buyer@example.com"
    msg["Subject"] = "RFQ"
    msg.set_content(html, subtype="html", cte="base64")
    raw = msg.as_bytes()
    assert len(raw) > 5 * 1024 * 1024
    elapsed, peak = _measure(lambda: check(raw, bound=60))
    assert elapsed < 2 * BIG_BODY_S, f"{elapsed:.2f}s"
    assert peak < BIG_PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"


def test_a_message_with_1000_attachments_is_bounded() -> None:
    msg = EmailMessage()
    msg["From"] = "Anna Buyer <anna@licht.de>"
    msg["Subject"] = "Drawings for the RFQ"
    msg.set_content("Please quote the attached 1,000 drawings.")
    for i in range(1000):
        msg.add_attachment(
            b"%PDF-1.4 " + bytes(i % 256 for _ in range(64)), "application", "pdf", filename=f"d{i}.pdf"
        )
    raw = msg.as_bytes()
    elapsed, peak = _measure(lambda: check(raw, bound=60))
    assert elapsed < BIG_BODY_S, f"{elapsed:.2f}s"
    assert peak < BIG_PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"
    parsed, _ = check(raw)
    assert 900 <= len(parsed.attachments) <= 1000
    assert "1,000 drawings" in parsed.text
