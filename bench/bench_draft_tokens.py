"""Prompt size per draft: only the buyer's new text + last exchanges + profile, versus the whole raw email.

Run: ``python bench/bench_draft_tokens.py``. Prints figures; not part of the test run.

Tokens are counted with tiktoken (o200k_base) when it is installed and its encoding is available
offline; otherwise estimated as: one token per CJK / kana / hangul / Thai character plus one token
per 4 other characters (plain chars/4 badly undercounts Asian scripts). The header says which.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.drafting.service import Drafter, DraftRequest, extract_quantities

_WIDE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def make_counter() -> tuple[str, Callable[[str], int]]:
    try:
        import tiktoken  # type: ignore[import-not-found]

        enc = tiktoken.get_encoding("o200k_base")
        return "tiktoken o200k_base", lambda s: len(enc.encode(s))
    except Exception as e:  # not installed, or the encoding file cannot be fetched offline
        reason = type(e).__name__

    def approx(s: str) -> int:
        wide = len(_WIDE.findall(s))
        return wide + (len(s) - wide + 3) // 4

    return f"approximation: 1/CJK-or-Thai char + chars/4 (tiktoken unavailable: {reason})", approx


DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole use of the "
    "intended recipient(s) and may contain confidential and privileged information. Any unauthorized review, "
    "use, disclosure or distribution is prohibited. If you are not the intended recipient, please "
    "contact the sender by reply e-mail and destroy all copies of the original message. "
    "The company accepts no liability for any damage caused by any virus transmitted by this email. "
    "Please consider the environment before "
    "printing this e-mail.\n"
)

OUR_QUOTE = (
    "Dear {name},\n\nThank you for your inquiry. Please find attached our quotation for the LED panel "
    "600x600 40W: USD 6.80/pc FOB Shenzhen for 1,000 pcs, USD 6.50/pc for 3,000 pcs. Certificates: CE, RoHS, "
    "UL, SAA. Lead time 15-25 days after deposit. Payment T/T 30% deposit, 70% before shipment.\n\n"
    "Best regards,\nLily Chen\nBrightway LED | brightway-led.com\n"
    "sales@brightway-led.com | +86 755 8612 3400\n"
)

CASES: list[dict[str, str]] = [
    {
        "name": "en Outlook thread, 3 quoted replies + disclaimers",
        "lang": "en",
        "scenario": "quotation_followup",
        "buyer": "James Miller",
        "new": "Hi Lily,\n\nThanks for the revised offer. Can you do USD 6.20 for 3,000 pcs if we add 500 "
        "high-bays? We also need the UL file number and a sample of the 150W high-bay before we commit.\n\n"
        "Regards,\nJames",
        "history": "\n".join(
            [
                "From: Lily Chen <sales@brightway-led.com>\nSent: Monday, November 16, 2026 10:12 AM\n"
                "To: James Miller\nSubject: RE: LED panels for warehouse project\n\n"
                + OUR_QUOTE.format(name="James"),
                "From: James Miller\nSent: Friday, November 13, 2026 4:40 PM\nTo: Brightway LED Sales\n\n"
                "Hello, we are a lighting distributor in Ohio, currently sourcing LED panels 600x600 and 2x4 "
                "troffers for a 40,000 sq ft warehouse retrofit. Please quote 1,000 and 3,000 pcs, UL/DLC "
                "listed, 4000K, 0-10V dimming. Also send lead time and payment terms.\n\n" + DISCLAIMER,
                "From: Lily Chen\nSent: Wednesday, November 11, 2026 9:00 AM\n\n"
                + OUR_QUOTE.format(name="James") * 2,
            ]
        )
        + "\n"
        + DISCLAIMER * 2,
    },
    {
        "name": "es Gmail reply with quoted quote",
        "lang": "es",
        "scenario": "quotation_followup",
        "buyer": "Carlos Ruiz",
        "new": "Hola Lily,\n\nGracias por la cotización. ¿Pueden enviar muestras de los reflectores de "
        "100W y 200W a Monterrey? ¿El costo de la muestra se reembolsa en el primer pedido?"
        "\n\nSaludos,\nCarlos",
        "history": "El lun, 16 nov 2026 a las 10:12, Lily Chen <sales@brightway-led.com> escribió:\n"
        + "\n".join("> " + ln for ln in (OUR_QUOTE.format(name="Carlos") * 3).splitlines())
        + "\n\n--\nCarlos Ruiz | Director de Compras | Iluminación del Norte S.A. de C.V.\n"
        "Av. Constitución 1500, Monterrey, N.L., México | Tel. +52 81 1234 5678\n" + DISCLAIMER,
    },
    {
        "name": "vi reply, quoted chain + bilingual signature",
        "lang": "vi",
        "scenario": "samples",
        "buyer": "Nguyễn Văn Minh",
        "new": "Chào chị Lily,\n\nCảm ơn chị đã gửi báo giá. Bên em muốn đặt 2 mẫu đèn pha 100W để kiểm tra "
        "trước. Chị cho em hỏi phí mẫu và thời gian gửi mẫu về Hà Nội ạ.\n\nTrân trọng,\nMinh",
        "history": "Vào Th 2, 16 thg 11, 2026 lúc 10:12 Lily Chen <sales@brightway-led.com> đã viết:\n"
        + "\n".join("> " + ln for ln in (OUR_QUOTE.format(name="Minh") * 2).splitlines())
        + "\n\nNguyễn Văn Minh | Trưởng phòng mua hàng / Purchasing Manager\nCông ty TNHH An Phát Lighting\n"
        "Số 12 Phố Huế, Hà Nội | ĐT: +84 24 3812 3456 | www.anphat-lighting.vn\n" + DISCLAIMER,
    },
    {
        "name": "zh reply, 原始邮件 history",
        "lang": "zh",
        "scenario": "quotation_followup",
        "buyer": "王先生",
        "new": "Lily 您好，\n\n报价收到，谢谢。请问 3000 个 600x600 面板灯能否给到更优惠的价格？"
        "另外需要 SAA 证书副本。\n\n王",
        "history": "-----原始邮件-----\n发件人: Lily Chen <sales@brightway-led.com>\n"
        "发送时间: 2026年11月16日 10:12\n"
        "主题: 回复: 面板灯询价\n\n" + OUR_QUOTE.format(name="王先生") * 2 + DISCLAIMER,
    },
]


def main() -> None:
    method, count = make_counter()
    focused = Drafter(None)
    whole = Drafter(None, email_limit=10**7)  # no truncation: the naive baseline sends everything
    empty = DraftRequest(
        scenario="first_reply", buyer_language="en", team_language="en", buyer_name="", buyer_email="",
        subject="", new_text="",
    )  # fmt: skip
    fixed = sum(count(m["content"]) for m in focused.build_messages(empty))
    print(f"token counting: {method}")
    print(f"fixed overhead per draft (system prompt + profile + facts, empty email): ~{fixed} tokens\n")
    header = f"{'case':<48} {'raw chars':>9} {'focused':>8} {'whole':>8} {'saved':>6} {'email part':>16}"
    print(header)
    print("-" * len(header))
    total_focused = total_whole = 0
    for case in CASES:
        raw = case["new"] + "\n\n" + case["history"]
        req = DraftRequest(
            scenario=case["scenario"],
            buyer_language=case["lang"],
            team_language="en",
            buyer_name=case["buyer"],
            buyer_email="buyer@example.com",
            subject="RE: LED lighting inquiry",
            new_text=case["new"],
            exchanges=(("out", OUR_QUOTE.format(name=case["buyer"])),),
            rep_name="Lily Chen",
            details=extract_quantities(case["new"]),
        )
        focused_tokens = sum(count(m["content"]) for m in focused.build_messages(req))
        naive_req = replace(req, exchanges=())
        whole_tokens = sum(count(m["content"]) for m in whole.build_messages(naive_req, email_text=raw))
        total_focused += focused_tokens
        total_whole += whole_tokens
        saved = 100 * (whole_tokens - focused_tokens) / whole_tokens
        part = f"{focused_tokens - fixed} vs {whole_tokens - fixed}"
        row = f"{case['name']:<48} {len(raw):>9} {focused_tokens:>8} {whole_tokens:>8}"
        print(f"{row} {saved:>5.0f}% {part:>16}")
    print("-" * len(header))
    saved = 100 * (total_whole - total_focused) / total_whole
    print(f"{'total':<48} {'':>9} {total_focused:>8} {total_whole:>8} {saved:>5.0f}%")
    print(
        "\nfocused = new text + our last message (<=1500 chars) + profile; whole = the raw email with quoted"
        "\nhistory, signatures and disclaimers (no separate thread)."
        "\n'email part' = tokens above the fixed overhead."
    )


if __name__ == "__main__":
    main()
