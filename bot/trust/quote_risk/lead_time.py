"""Lead times shorter than ours: durations in a clause about delivery, shipping or production
(not samples, validity, replies or warranty) below the policy's minimum."""

from __future__ import annotations

from bot.drafting.guards import duration_mentions
from bot.trust.quote_risk.findings import LEAD_TIME_TOO_SHORT, Finding
from bot.trust.quote_risk.policy import QuotePolicy
from bot.trust.quote_risk.text import CLAUSE_END, SENTENCE_END, span_at, spans, words

_LEAD_WORDS = (
    r"lead[\s-]?time|deliver\w*|ship\w*|dispatch\w*|production|produce|manufactur\w*|turnaround|\bETD\b|"
    r"交期|交货|交貨|发货|發貨|出货|出貨|货期|貨期|生产|生產|到货|到貨|"
    r"entrega\w*|plazo|env[ií]o|despacho|producci[oó]n|fabricaci[oó]n|embarque|"
    r"Liefer\w*|geliefert|Versand|versend\w*|Produktion|Fertigung|"
    r"délai|livr\w*|expédi\w*|fabrication|prazo|produção|fabricação|"
    r"giao\s+hàng|thời\s+gian\s+giao|sản\s+xuất|vận\s+chuyển|xuất\s+hàng"
)
_PAYMENT_WORDS = (
    r"payment|\bpay\b|\bpaid\b|\bnet\b|\bO/A\b|open\s+account|credit|\bpago|\bZahlung|zahlbar|paiement|"
    r"pagamento|thanh\s+toán|付款|结算|結算|月结|月結|账期|賬期"
)
_LEAD_OR_PAYMENT = words(rf"(?P<lead>{_LEAD_WORDS})|(?P<pay>{_PAYMENT_WORDS})")
_LEAD_CONTEXT = words(_LEAD_WORDS)
# A duration in a clause about samples, validity, replies or warranty is never a lead time.
_NOT_LEAD = words(
    r"sample|muestra|amostra|échantillon|Muster|campione|样品|樣品|样板|mẫu|"
    r"valid|válid|gültig|valable|hiệu\s+lực|有效|"
    r"reply|respond|answer|get\s+back|respuesta|responder|antwort\w*|répond\w*|trả\s+lời|phản\s+hồi|回复|回覆|答复|"
    r"warrant\w*|garant\w*|guarantee|保修|质保|bảo\s+hành"
)


def _is_lead_time(text: str, start: int, end: int, clause: range, sentence: range) -> bool:
    """The nearest lead-time or payment word in the clause decides (before the duration first:
    'delivery within 7 days after payment' vs 'O/A 7 days after delivery'); else the sentence."""
    if _NOT_LEAD.search(text, clause.start, clause.stop):
        return False
    before = list(_LEAD_OR_PAYMENT.finditer(text, clause.start, start))
    if before:
        return before[-1].group("lead") is not None
    after = _LEAD_OR_PAYMENT.search(text, end, clause.stop)
    if after is not None:
        return after.group("lead") is not None
    return _LEAD_CONTEXT.search(text, sentence.start, sentence.stop) is not None


def lead_time_findings(text: str, policy: QuotePolicy) -> list[Finding]:
    if policy.min_lead_days is None:
        return []
    sentences = spans(text, SENTENCE_END)
    findings: list[Finding] = []
    for d in duration_mentions(text):
        if d.low_days >= policy.min_lead_days:
            continue
        sentence = span_at(sentences, d.start)
        clause = span_at(spans(text, CLAUSE_END, sentence.start, sentence.stop), d.start)
        if _is_lead_time(text, d.start, d.end, clause, sentence):
            detail = f"'{d.text}' is shorter than our minimum lead time of {policy.min_lead_days} days"
            findings.append(Finding(LEAD_TIME_TOO_SHORT, detail))
    return list(dict.fromkeys(findings))
