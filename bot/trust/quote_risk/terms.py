"""Payment terms we do not allow: open account, net terms, D/P, D/A, usance L/C, payment after
delivery, deposits under ours; recognised from phrase lists (en, zh, es, de, fr, pt, vi),
skipping negated phrases ("we do not accept O/A")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.trust.quote_risk.findings import PAYMENT_TERMS_NOT_ALLOWED, Finding
from bot.trust.quote_risk.policy import QuotePolicy
from bot.trust.quote_risk.text import normalize, words

_DAYS_AFTER = re.compile(
    r"^[^\n\d,;.，；。]{0,12}?(\d{1,3})\s*(?:days?|días|dias|jours|Tagen?|ngày|天|日)", re.IGNORECASE
)

_PAYMENT_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # (kind, label, pattern); a group "days" gives the credit period when the phrase holds it
    ("open_account", "open account", r"\bopen\s+account\b|\bO/A\b"),
    ("open_account", "open account", r"\bcuenta\s+abierta\b|\bconta\s+aberta\b|\bcompte\s+ouvert\b"),
    ("open_account", "open account", r"\b(?:auf|gegen)\s+(?:offene\s+)?Rechnung\b|\boffene[rn]?\s+Rechnung"),
    ("open_account", "open account", r"\bcông\s+nợ\b|\btrả\s+chậm\b|\bthanh\s+toán\s+chậm\b"),
    ("open_account", "open account", r"赊账|賒賬|赊帳|賒帳|赊销|賒銷|放账|放賬|账期|賬期|帳期"),
    ("monthly_settlement", "monthly settlement", r"月结|月結"),
    ("net_terms", "net terms", r"\bnet\s*(?P<days>\d{1,3})\b|\b(?P<days2>\d{1,3})\s+days\s+net\b"),
    ("net_terms", "net terms", r"\bnetto\s+(?P<days>\d{1,3})\s+Tage|\b(?P<days2>\d{1,3})\s+Tage\s+netto\b"),
    ("net_terms", "net terms", r"\bZahlungsziel|\bzahlbar\s+(?:innerhalb|binnen)\s+(?P<days>\d{1,3})\s+Tag"),
    ("net_terms", "net terms", r"\b(?P<days>\d{1,3})\s+jours\s+(?:net|fin\s+de\s+mois|date\s+de\s+facture)"),
    ("net_terms", "net terms", r"\bpago\s+a\s+(?P<days>\d{1,3})\s+d[ií]as\b|\bneto\s+(?P<days2>\d{1,3})\b"),
    ("net_terms", "net terms", r"\bpagamento\s+(?:a|em)\s+(?P<days>\d{1,3})\s+dias\b"),
    ("net_terms", "net terms", r"\bthanh\s+toán\s+(?:sau|trong(?:\s+vòng)?)\s+(?P<days>\d{1,3})\s+ngày"),
    ("net_terms", "net terms", r"(?:付款|结算|結算|结清|結清)期?\s*(?P<days>\d{1,3})\s*天"),
    ("documents_against_payment", "D/P (documents against payment)",
     r"\bD/P\b|\bdocuments?\s+against\s+payment|付款交单|付款交單|\bdocumentos?\s+contra\s+pago|"
     r"\bdocuments?\s+contre\s+paiement|\bDokumente\s+gegen\s+(?:Zahlung|Kasse)|"
     r"\bdocumentos?\s+contra\s+pagamento"),
    ("documents_against_acceptance", "D/A (documents against acceptance)",
     r"\bD/A\b|\bdocuments?\s+against\s+acceptance|承兑交单|承兌交單|\bdocumentos?\s+contra\s+aceptaci[oó]n|"
     r"\bdocuments?\s+contre\s+acceptation|\bDokumente\s+gegen\s+Akzept|\bdocumentos?\s+contra\s+aceite"),
    ("usance_lc", "usance L/C",
     r"\b(?:usance|deferred)\s+L/?C\b|\bL/?C\s+(?:at\s+)?(?P<days>\d{1,3})\s+days|远期信用证|遠期信用證|"
     r"信用证\s*(?P<days2>\d{1,3})\s*天|\bcarta\s+de\s+cr[eé]dito\s+a\s+(?P<days3>\d{1,3})\s+d[ií]as|"
     r"\bAkkreditiv\s+(?P<days4>\d{1,3})\s+Tage|\bL/C\s+trả\s+chậm"),
    ("after_delivery", "payment after delivery",
     r"(?:\d{1,3}\s*%|\bbalance|\bpayment|\bpay|\bpaid|\bpayable)\s+(?:\w+\s+){0,2}?(?:after|upon|on)\s+"
     r"(?:the\s+)?(?:delivery|arrival|receipt\s+of\s+(?:the\s+)?(?:goods|cargo|shipment))|"
     r"\bcash\s+on\s+delivery\b|\bCOD\b"),
    ("after_delivery", "payment after delivery",
     r"货到付款|貨到付款|到货后?付款|到貨後?付款|收货后付款|收貨後付款|验货后付款|驗貨後付款|货到.{0,4}付清"),
    ("after_delivery", "payment after delivery",
     r"\b(?:pago|paga\w*)\s+(?:contra|a\s+la|tras\s+la|despu[eé]s\s+de\s+la)\s+entrega|\bcontra\s*entrega|"
     r"\bcontrarreembolso|\d{1,3}\s*%\s+(?:contra|tras\s+la|despu[eé]s\s+de\s+la)\s+entrega"),
    ("after_delivery", "payment after delivery",
     r"\bpagamento\s+(?:na|contra|ap[oó]s\s+a|depois\s+da)\s+entrega|\d{1,3}\s*%\s+(?:ap[oó]s\s+a|depois\s+da)\s+"
     r"entrega"),
    ("after_delivery", "payment after delivery",
     r"\bpaiement\s+(?:à|a|après)\s+(?:la\s+)?(?:livraison|réception)|\bcontre[- ]remboursement|"
     r"\d{1,3}\s*%\s+(?:à|après)\s+(?:la\s+)?(?:livraison|réception)"),
    ("after_delivery", "payment after delivery",
     r"\bZahlung\s+(?:nach|bei)\s+(?:Lieferung|Erhalt|Wareneingang)|\d{1,3}\s*%\s+nach\s+(?:Lieferung|Erhalt)|"
     r"\bper\s+Nachnahme|\bNachnahme\b"),
    ("after_delivery", "payment after delivery",
     r"\bthanh\s+toán\s+(?:\d{1,3}\s*%\s+)?(?:sau\s+khi|khi)\s+(?:nhận|giao)\s+hàng|"
     r"\d{1,3}\s*%\s+(?:còn\s+lại\s+)?sau\s+khi\s+(?:nhận|giao)\s+hàng"),
)  # fmt: skip
_COMPILED_PAYMENT = tuple((k, label, re.compile(p, re.IGNORECASE)) for k, label, p in _PAYMENT_PATTERNS)

_DEPOSIT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?P<pct>\d{1,3})\s*%\s*(?:T/?T\s+)?(?:deposit|advance|down\s*payment|prepayment|in\s+advance)",
        r"\b(?:deposit|advance|down\s*payment|prepayment)\s+(?:of\s+)?(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s*(?:的)?\s*(?:定金|订金|訂金|预付款|預付款|预付|預付|首付)",
        r"(?:定金|订金|訂金|预付款|預付款|预付|預付)\s*(?P<pct>\d{1,3})\s*%",
        r"\b(?:dep[oó]sito|anticipo|adelanto|sinal|adiantamento|entrada|acompte|avance)\s+(?:del?\s+|d'|du\s+)?"
        r"(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s+(?:de\s+|d'|d’)?(?:dep[oó]sito|anticipo|adelanto|sinal|adiantamento|entrada|"
        r"acompte|avance)",
        r"(?P<pct>\d{1,3})\s*%\s+(?:Anzahlung|Vorauszahlung|Vorkasse)|\b(?:Anzahlung|Vorauszahlung)\s+(?:von\s+)?"
        r"(?P<pct2>\d{1,3})\s*%",
        r"\b(?:đặt\s+cọc|cọc|trả\s+trước|tạm\s+ứng)\s+(?P<pct>\d{1,3})\s*%",
        r"(?P<pct>\d{1,3})\s*%\s+(?:tiền\s+)?(?:đặt\s+cọc|cọc|trả\s+trước|tạm\s+ứng)",
    )
)

_NEGATION = words(
    r"\b(?:not|no|never|cannot|can't|unable|nor|without)\b|n't\b|\bnunca\b|\bnão\b|\bpas\b|\bjamais\b|"
    r"\bnicht\b|\bkein\w*|\bkhông\b|\bchưa\b|不|无法|無法|拒绝|拒絕"
)


@dataclass(frozen=True)
class _Term:
    kind: str
    label: str
    days: int | None
    shown: str
    start: int
    end: int


def _negated(text: str, start: int) -> bool:
    sentence_start = max(text.rfind(ch, 0, start) for ch in ".!?;\n。！？；")
    return bool(_NEGATION.search(text, max(sentence_start + 1, start - 50), start))


def _payment_terms(text: str) -> tuple[list[_Term], list[tuple[int, str, int]]]:
    """Risky terms and (deposit %, shown, start) found in ``text``, skipping negated phrases."""
    terms: list[_Term] = []
    for kind, label, pattern in _COMPILED_PAYMENT:
        for m in pattern.finditer(text):
            if _negated(text, m.start()):
                continue
            given = [v for k, v in m.groupdict().items() if k.startswith("days") and v]
            after = _DAYS_AFTER.match(text[m.end() : m.end() + 30])
            days = int(given[0]) if given else int(after.group(1)) if after else None
            shown = m.group(0) + (after.group(0) if after and not given else "")
            end = m.end() + (after.end() if after and not given else 0)
            if any(t.kind == kind and t.start < end and m.start() < t.end for t in terms):
                continue  # the same term found by two phrasings ("Zahlungsziel 60 Tage netto")
            terms.append(_Term(kind, label, days, " ".join(shown.split()), m.start(), end))
    deposits: list[tuple[int, str, int]] = []
    for pattern in _DEPOSIT_PATTERNS:
        for m in pattern.finditer(text):
            pct = m.group("pct") if "pct2" not in pattern.groupindex else m.group("pct") or m.group("pct2")
            if pct is not None and not _negated(text, m.start()):
                deposits.append((int(pct), " ".join(m.group(0).split()), m.start()))
    return terms, deposits


def payment_findings(text: str, policy: QuotePolicy) -> list[Finding]:
    allowed_terms: list[_Term] = []
    allowed_deposits: list[int] = []
    for allowed in policy.allowed_payment_terms:
        t, d = _payment_terms(normalize(allowed))
        allowed_terms += t
        allowed_deposits += [pct for pct, _, _ in d]
    allowed_list = "; ".join(policy.allowed_payment_terms) or "none configured"

    def is_allowed(term: _Term) -> bool:
        return any(
            a.kind == term.kind and (a.days is None or (term.days is not None and term.days <= a.days))
            for a in allowed_terms
        )

    terms, deposits = _payment_terms(text)
    hits: list[tuple[int, Finding]] = []
    for term in terms:
        if not is_allowed(term):
            detail = f"{term.label} ('{term.shown}') is not an allowed payment term (allowed: {allowed_list})"
            hits.append((term.start, Finding(PAYMENT_TERMS_NOT_ALLOWED, detail)))
    if allowed_deposits:
        least = min(allowed_deposits)
        for pct, shown, start in deposits:
            if pct < least:
                detail = (
                    f"a {pct}% deposit ('{shown}') is less than the {least}% we ask (allowed: {allowed_list})"
                )
                hits.append((start, Finding(PAYMENT_TERMS_NOT_ALLOWED, detail)))
    return list(dict.fromkeys(f for _, f in sorted(hits, key=lambda h: h[0])))
