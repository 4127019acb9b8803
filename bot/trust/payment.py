"""Payment-change detection: mail that moves money to a new account, and bank ids in text.

Two signals:

- phrases asking to pay into a new/different/updated bank account or changing beneficiary or
  remittance details, per language (en, zh, es, pt, fr, de, it, ru, ar, vi, th, id, tr, ...);
  a phrase preceded by a negation ("we will never change our bank details") does not count;
- an IBAN / SWIFT / account number that differs from the ids seen earlier from the same buyer.

``extract_bank_ids("IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX")``
-> ``frozenset({"IBAN:DE89370400440532013000", "SWIFT:COBADEFF"})``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["bank_id_change", "extract_bank_ids", "iban_valid", "payment_change_phrase"]

# Between a qualifier and its noun: a few determiners or adjectives, never arbitrary words
# ("new lighting for a bank" is an inquiry, not a payment change).
_GAP = (
    r"(?:(?:our|my|the|a|an|company|company's|corporate|business|official|usd|eur|euro|dollar|foreign|"
    r"local|overseas|offshore|receiving)\s+){0,3}"
)

_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": (
        rf"\b(?:new|updated?|changed|different|alternative|another|revised)\s+{_GAP}"
        r"(?:bank(?:ing)?|account|beneficiary|remittance|wire|payment)\s+"
        r"(?:account|details|info(?:rmation)?|instructions?|number|coordinates)\b",
        rf"\b(?:new|different|another|updated)\s+{_GAP}(?:bank\s+account|bank|beneficiary|iban)\b",
        r"\b(?:change[ds]?|changing|update[ds]?|updating|switch(?:ed)?|moved?)\s+(?:of\s+|in\s+|to\s+)?"
        r"(?:our|my|the|a)?\s*(?:bank|beneficiary)\b",
        r"\b(?:change[ds]?|changing|update[ds]?|updating|switch(?:ed)?|moved?)\s+(?:of\s+|in\s+)?"
        r"(?:our|my|the)?\s*(?:bank(?:ing)?|account|beneficiary|remittance|payment|wire)\s+"
        r"(?:account|details|info(?:rmation)?|instructions?|coordinates)\b",
        r"\b(?:bank(?:ing)?|account|beneficiary|remittance|payment)\s+(?:details|information|account|instructions)"
        r"\s+(?:have|has)\s+(?:been\s+)?(?:changed|updated|modified)\b",
        r"\b(?:do\s+not|don'?t|stop|no\s+longer)\s+(?:pay|send|remit|transfer|wire)\w*\s+"
        r"(?:\w+\s+){0,3}?(?:to\s+)?(?:the|our)\s+(?:old|previous|former|usual)\s+(?:bank|account)\b",
        r"\b(?:pay|remit|transfer|wire|send)\w*\s+(?:\w+\s+){0,4}?(?:to|into)\s+(?:our|the|this)\s+"
        r"(?:new|other|different|updated)\s+(?:bank|account)\b",
    ),
    "zh": (
        r"(?:新|更改|变更|變更|更换|更換|更新|修改|换了|換了)\s*(?:的)?\s*(?:银行|銀行|收款|汇款|匯款)?\s*"
        r"(?:账户|賬戶|帳戶|账号|帳號|賬號|帐号|银行信息|銀行信息|银行资料|銀行資料|收款人|受益人)",
        r"(?:汇款|匯款|付款|转账|轉賬)\s*(?:到|至)\s*(?:我们|我們|我司)?\s*(?:的)?\s*新",
        r"(?:银行|銀行)(?:账户|賬戶|帳戶|账号|帳號|信息|资料|資料)\s*(?:已|已经|已經)?\s*(?:更改|变更|變更|更换|更換)",
    ),
    "es": (
        r"\bnuev[oa]s?\s+(?:cuenta|datos\s+bancarios|banco|beneficiario|n[uú]mero\s+de\s+cuenta)",
        r"\b(?:cambi\w*|actualiz\w*|modific\w*)\s+(?:de\s+)?(?:nuestr[oa]s?\s+|la\s+|los\s+|el\s+)?"
        r"(?:cuenta|datos\s+bancarios|banco|beneficiario)",
        r"\bcuenta\s+bancaria\s+(?:nueva|diferente|distinta|actualizada)",
    ),
    "pt": (
        r"\bnov[oa]s?\s+(?:conta|dados\s+banc[aá]rios|banco|benefici[aá]rio)",
        r"\b(?:mud\w*|alter\w*|atualiz\w*)\s+(?:de\s+)?(?:noss[oa]s?\s+|a\s+|os\s+|o\s+)?"
        r"(?:conta|dados\s+banc[aá]rios|banco|benefici[aá]rio)",
        r"\bconta\s+banc[aá]ria\s+(?:nova|diferente|atualizada)",
    ),
    "fr": (
        r"\bnouve(?:au|l|lle)s?\s+(?:compte|coordonn[ée]es\s+bancaires|rib|iban|banque|b[ée]n[ée]ficiaire)",
        r"\b(?:chang\w*|modifi\w*|mis\s+[àa]\s+jour)\s+(?:de\s+)?(?:nos\s+|notre\s+|le\s+|les\s+|la\s+)?"
        r"(?:compte|coordonn[ée]es\s+bancaires|rib|banque|b[ée]n[ée]ficiaire)",
        r"\bcompte\s+bancaire\s+(?:diff[ée]rent|nouveau|modifi[ée])",
    ),
    "de": (
        r"\bneue[nrms]?\s+(?:Bankverbindung|Kontoverbindung|Konto|Bankdaten|IBAN|Bank|Empfänger)",
        r"\b(?:geänderte[nr]?|aktualisierte[nr]?|andere[nr]?)\s+(?:Bankverbindung|Kontoverbindung|Konto|"
        r"Bankdaten|IBAN)",
        r"\b(?:Bankverbindung|Kontoverbindung|Bankdaten|Konto)\s+(?:\w+\s+){0,3}?"
        r"(?:geändert|geaendert|aktualisiert|gewechselt)",
        r"\b(?:Änderung|Aenderung|Wechsel)\s+(?:unserer|der)\s+(?:Bankverbindung|Kontoverbindung|Bankdaten)",
    ),
    "it": (
        r"\bnuov[oae]\s+(?:conto|coordinate\s+bancarie|iban|banca|beneficiario)",
        r"\b(?:cambi\w*|modific\w*|aggiorn\w*)\s+(?:de[il]\s+|delle\s+|le\s+|il\s+|nostr[oie]\s+)*"
        r"(?:conto|coordinate\s+bancarie|iban|banca|beneficiario)",
    ),
    "ru": (
        r"(?:нов\w*|изменённ\w*|измененн\w*|обновлённ\w*|обновленн\w*|друг\w*)\s+"
        r"(?:(?:банковск\w*\s+|платёжн\w*\s+|платежн\w*\s+)?реквизит\w*|(?:банковск\w*|расч[её]тн\w*)\s+сч[её]т\w*|"
        r"банк\b|банка\b|банке\b|получател\w*)",
        r"(?:измен\w*|смен\w*|обнов\w*)\s+(?:\w+\s+){0,2}?(?:(?:банковск\w*\s+)?реквизит\w*|"
        r"(?:банковск\w*|расч[её]тн\w*)\s+сч[её]т\w*)",
    ),
    "ar": (
        r"حساب\s+(?:بنكي|مصرفي)\s+جديد",
        r"(?:تغيير|تحديث|تعديل)\s+(?:\S+\s+){0,2}?(?:الحساب|البنك|التفاصيل\s+المصرفية|البيانات\s+المصرفية|"
        r"بيانات\s+الحساب|المستفيد)",
        r"(?:بيانات|تفاصيل)\s+(?:بنكية|مصرفية)\s+جديدة",
    ),
    "vi": (
        r"tài\s+khoản\s+(?:ngân\s+hàng\s+)?mới",
        r"(?:thay\s+đổi|cập\s+nhật|đổi)\s+(?:\S+\s+){0,2}?(?:tài\s+khoản|thông\s+tin\s+ngân\s+hàng|"
        r"người\s+thụ\s+hưởng)",
    ),
    "th": (
        r"บัญชี(?:ธนาคาร)?ใหม่",
        r"(?:เปลี่ยน|แก้ไข|อัปเดต|อัพเดท)\s*(?:เลขที่)?\s*(?:บัญชี|ข้อมูลธนาคาร|ผู้รับเงิน)",
    ),
    "id": (
        r"\brekening\s+(?:bank\s+)?(?:baru|yang\s+baru|berbeda|lain)\b",
        r"\b(?:perubahan|mengubah|ganti|mengganti|berubah|memperbarui)\s+(?:\w+\s+){0,2}?"
        r"(?:rekening|data\s+bank|detail\s+bank|penerima)",
    ),
    "tr": (
        r"\byeni\s+(?:banka\s+)?(?:hesab\w*|iban\w*|banka\s+bilgi\w*)",
        r"\b(?:banka|hesap)\s+bilgi\w*\s+(?:\w+\s+){0,2}?(?:değiş\w*|güncellen\w*)",
        r"\b(?:hesap|banka|iban)\w*\s+(?:\w+\s+){0,2}?değiş\w*",
    ),
    "nl": (r"\bnieuwe?\s+(?:bankrekening|rekening(?:nummer)?|bankgegevens|iban)",),
    "pl": (r"\bnow(?:e|y|ego)\s+(?:konto|numer\s+konta|rachunek|dane\s+bankowe)",),
}

_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (lang, re.compile(p, re.IGNORECASE | re.UNICODE)) for lang, ps in _PATTERNS.items() for p in ps
)

_NEGATION = re.compile(
    r"(?:\bnever\b|\bnot\b|\bn't\b|\bwon'?t\b|\bnunca\b|\bjamais\b|\bniemals\b|\bnie\b|\bmai\b|никогда|не\s|"
    r"不会|不會|绝不|絕不|从不|從不|لن\b|\bkhông\b|\btidak\b|\basla\b|ไม่)",
    re.IGNORECASE,
)


def payment_change_phrase(text: str) -> tuple[str, str] | None:
    """``(language, matched phrase)`` for the first request to pay into changed bank details."""
    if not text:
        return None
    for lang, pattern in _COMPILED:
        for match in pattern.finditer(text):
            start = match.start()
            sentence_start = max(text.rfind(ch, 0, start) for ch in ".!?\n。！？")
            before = text[max(sentence_start + 1, start - 60) : start]
            if _NEGATION.search(before):
                continue
            return lang, " ".join(match.group(0).split())
    return None


# --- bank ids -----------------------------------------------------------------------------------

_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN_RE = re.compile(r"\b([A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){11,32})", re.IGNORECASE)
_SWIFT_RE = re.compile(
    r"\b(?:swift|bic)(?:\s*(?:/\s*bic|code|address|no\.?|number))?\s*[:#.]?\s*"
    r"([A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b",
    re.IGNORECASE,
)
_ACCOUNT_RE = re.compile(
    r"(?:\baccount|\ba/c|\bacct|\bkonto(?:nummer)?|\bcuenta|\bconta|\bcompte|\bconto|сч[её]т|账号|帳號|账户|帐号|"
    r"賬戶|\bhesap|\brekening|tài\s+khoản|เลขที่บัญชี|رقم\s+الحساب)"
    r"\s*(?:no\.?|nr\.?|number|n[º°o]\.?|n[uú]mero|numero|номер|số|no\s*:)?\s*[:#：]?\s*"
    r"(\d[\d \-]{4,30}\d)",
    re.IGNORECASE,
)


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: known country length (when known) and mod-97 == 1."""
    iban = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _ibans(text: str) -> set[str]:
    found: set[str] = set()
    for match in _IBAN_RE.finditer(text):
        compact = re.sub(r"[ \-]", "", match.group(1)).upper()
        expected = _IBAN_LENGTHS.get(compact[:2])
        lengths = [expected] if expected else list(range(min(len(compact), 34), 14, -1))
        for length in lengths:
            if len(compact) >= length and iban_valid(compact[:length]):
                found.add("IBAN:" + compact[:length])
                break
    return found


def extract_bank_ids(text: str) -> frozenset[str]:
    """Normalised ``IBAN:…``, ``SWIFT:…`` (8-char BIC) and ``ACCT:…`` (digits) ids found in ``text``."""
    if not text:
        return frozenset()
    ids = _ibans(text)
    for match in _SWIFT_RE.finditer(text):
        bic = match.group(1).upper()
        if len(bic) == 11 and bic.endswith("XXX"):
            bic = bic[:8]
        if bic[:4].isalpha() and bic[4:6].isalpha():
            ids.add("SWIFT:" + bic)
    for match in _ACCOUNT_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if 6 <= len(digits) <= 34:
            ids.add("ACCT:" + digits)
    return frozenset(ids)


def _mask(bank_id: str) -> str:
    kind, _, value = bank_id.partition(":")
    return f"{kind} ending {value[-4:]}" if kind != "SWIFT" else f"SWIFT/BIC {value}"


def bank_id_change(text: str, known: Iterable[str]) -> str | None:
    """A reason when ``text`` names a bank id of a kind seen before from this buyer, but a new one."""
    known_set = frozenset(known)
    if not known_set:
        return None
    known_kinds = {k.partition(":")[0] for k in known_set}
    new = sorted(
        i for i in extract_bank_ids(text) if i not in known_set and i.partition(":")[0] in known_kinds
    )
    if not new:
        return None
    return "bank details differ from earlier mail: " + ", ".join(_mask(i) for i in new)
