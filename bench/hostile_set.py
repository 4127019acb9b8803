"""The hostile mail set of issue #13: messages built to make a parser or a regex slow or greedy.

Each entry is (name, raw bytes). Every message has a real sender and subject so a test can check
that what could be read survives. Used by ``tests/integration/test_hostile_budget.py`` and
``bench/bench_hostile.py``.
"""

from __future__ import annotations

SENDER = "Hostile Buyer <buyer@hostile-buyer.example>"


def _head(name: str, extra: str = "", ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (
        f"From: {SENDER}\r\nTo: sales@brightway-led.com\r\nSubject: RFQ {name}\r\n"
        f"Message-ID: <hostile-{name}@hostile-buyer.example>\r\nDate: Fri, 20 Nov 2026 09:00:00 +0700\r\n"
        f"MIME-Version: 1.0\r\n{extra}Content-Type: {ctype}\r\n\r\n"
    ).encode()


def digits_10k() -> bytes:
    return _head("digits") + b"Please quote 500 pcs. Price " + b"9" * 10_000 + b" USD\r\n"


def word_200k() -> bytes:
    return _head("word") + b"Please quote 500 pcs. " + b"a" * 200_000 + b"\r\n"


def content_type_1mb() -> bytes:
    params = "; ".join(f"p{i}=v{i}" for i in range(80_000))[: 1024 * 1024]
    return _head("ctype", ctype=f"text/plain; charset=utf-8; {params}") + b"Please quote 500 pcs.\r\n"


def auth_results_1mb() -> bytes:
    value = "mx.hostile.example; " + "; ".join(f"spf=pass smtp.mailfrom=a{i}.example" for i in range(30_000))
    value = value[: 1024 * 1024]
    return _head("authres", extra=f"Authentication-Results: {value}\r\n") + b"Please quote 500 pcs.\r\n"


def nested_5000() -> bytes:
    depth = 5000
    out = [_head("nested", ctype='multipart/mixed; boundary="b0"')]
    for i in range(1, depth):
        out.append(f'--b{i - 1}\r\nContent-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'.encode())
    out.append(f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nPlease quote 500 pcs.\r\n".encode())
    for i in range(depth - 1, -1, -1):
        out.append(f"--b{i}--\r\n".encode())
    return b"".join(out)


def parts_5000() -> bytes:
    out = [_head("parts", ctype='multipart/mixed; boundary="p"'), b"--p\r\nContent-Type: text/plain\r\n\r\n"]
    out.append(b"Please quote 500 pcs.\r\n")
    for i in range(5000):
        out.append(
            f'--p\r\nContent-Type: application/octet-stream; name="f{i}.bin"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n".encode()
        )
    out.append(b"--p--\r\n")
    return b"".join(out)


def body_20mb() -> bytes:
    line = b"Please quote 500 pcs of LED panels 600x600 40W, FOB Shenzhen, target price 12 USD.\r\n"
    return _head("big") + line * (20 * 1024 * 1024 // len(line))


HOSTILE_SET = (
    ("10k-digits", digits_10k),
    ("200k-word", word_200k),
    ("1mb-content-type", content_type_1mb),
    ("1mb-auth-results", auth_results_1mb),
    ("5000-deep", nested_5000),
    ("5000-parts", parts_5000),
    ("20mb-body", body_20mb),
)


def hostile_set() -> list[tuple[str, bytes]]:
    return [(name, build()) for name, build in HOSTILE_SET]
