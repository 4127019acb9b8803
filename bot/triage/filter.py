"""Is this email a buyer inquiry at all? Rules for auto-replies, bounces, bulk mail, no-reply senders,
internal mail and obvious cold pitches. When unsure the answer is INQUIRY: losing a buyer is far
worse than showing a newsletter.

``classify(email, frozenset({"brightway-led.com"}))``
-> ``(Category.AUTO_REPLY, "auto-reply: Auto-Submitted: auto-replied")``.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from bot.core.models import Category, ParsedEmail
from bot.triage.profile import EMPTY_PROFILE, ProductProfile
from bot.triage.region import domain_of
from bot.triage.tier import NOT_GOODS_RE, SCAN_CHARS, find_quantity

_OOO_SUBJECT_RE = re.compile(
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto[- ]response|"
    r"away from (?:the )?office|on (?:annual )?leave|on vacation|"
    r"abwesenheitsnotiz|automatische antwort|nicht im büro|"
    r"réponse automatique|absence du bureau|absent du bureau|"
    r"respuesta automática|respuesta automatica|fuera de la oficina|"
    r"resposta automática|ausente do escritório|fora do escritório|"
    r"risposta automatica|fuori ufficio|"
    r"automatisch antwoord|afwezig|niet aanwezig|"
    r"automatyczna odpowiedź|poza biurem|"
    r"otomatik yanıt|otomatik cevap|ofis dışında|"
    r"автоматический ответ|автоответ|нет на месте|"
    r"trả lời tự động|vắng mặt|"
    r"ตอบกลับอัตโนมัติ|"
    r"balasan otomatis|balasan automatik|di luar kantor|di luar pejabat|"
    r"自动回复|自動回覆|自動回复|自动答复|不在办公室|自動応答|自動返信|不在通知|"
    r"자동 회신|자동회신|자동 응답|부재중|"
    r"رد تلقائي|الرد التلقائي|خارج المكتب",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver(?:ed|able)|delivery status notification|delivery (?:has )?failed|failure notice|"
    r"mail delivery (?:failed|failure|system)|returned mail|returned to sender|non-?delivery|"
    r"^(?:read|gelesen|lu|leído|lido|letto|gelezen|已读|已讀)\s?:|read receipt|return receipt|"
    r"unzustellbar|non remis|no se puede entregar|não entregue|消息未能送达|退信|投递失败",
    re.IGNORECASE,
)
_BOUNCE_SENDER_RE = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|bounce[s]?)(?:[+@]|$)", re.I)
_NOREPLY_SENDER_RE = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|notifications?|notify|alerts?|"
    r"mailer|automailer|system|newsletter|news|marketing|updates)(?:[-+_.][^@]*)?@",
    re.I,
)

_BUYER_REQUEST_RE = re.compile(
    r"\bquot(?:e|ation)s?\b|price ?list|\bprices?\b|pricing|\bMOQ\b|catalog(?:ue)?|samples?|proforma|"
    r"cotizaci[oó]n|precios?|cat[aá]logo|cotação|orçamento|preços?|devis|\bprix\b|angebot|preis|katalog|"
    r"preventivo|prezz[oi]|offerte|prijs|ofert[aęy]|cennik|fiyat|teklif|harga|penawaran|báo giá|"
    r"ใบเสนอราคา|ราคา|报价|報價|价格|價格|見積|견적|цен[аыу]|прайс|عرض سعر|سعر",
    re.IGNORECASE,
)
# Something concrete asked about when the team's profile names none of it: a count of goods near the
# request ("quote for 300 dining chairs", "Angebot für 500 Stühle"), not of days, years or money.
# "your products", "your catalogue" alone are vague and do not make a request.
_COUNT_OF_GOODS_RE = re.compile(
    r"(?<![\d.,A-Za-z])(?:\d{1,3}(?:[,.\s]\d{3}){1,3}|\d{2,7}|[2-9])\s?(?:x\s?)?(?P<w>[^\W\d_]{3,30})"
)


def _names_goods(text: str, profile: ProductProfile) -> bool:
    if profile.product_in(text) or profile.spec_in(text) or find_quantity(text, profile):
        return True
    for m in _BUYER_REQUEST_RE.finditer(text):
        window = text[max(0, m.start() - 80) : m.end() + 80]
        if any(not NOT_GOODS_RE.fullmatch(c.group("w")) for c in _COUNT_OF_GOODS_RE.finditer(window)):
            return True
    return False


# Cold pitches: topics (strong) and pitch phrasing (supporting); a verdict needs 2+ distinct hits,
# at least one of them a topic. Hand-kept in data/pitch.json (label -> case-insensitive pattern).
_PITCH = json.loads(resources.files("bot.triage").joinpath("data", "pitch.json").read_text("utf-8"))
_PITCH_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.I)) for label, pattern in _PITCH["topics"].items()
)
_PITCH_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.I)) for label, pattern in _PITCH["phrases"].items()
)


_DSN_BODY_RE = re.compile(
    r"^(?:Reporting-MTA|Final-Recipient|Original-Recipient|Action: (?:failed|delayed)|Diagnostic-Code):",
    re.I | re.M,
)


def full_text(email: ParsedEmail) -> str:
    return f"{email.subject or ''}\n{email.new_text or email.text or ''}"


def is_buyer_request(text: str, profile: ProductProfile = EMPTY_PROFILE) -> bool:
    """Asks for price/quotation/MOQ/catalog about something concrete: one of the team's products
    (its profile), a quantity of goods, a count of things near the request. Such a mail is never spam.
    Words of another trade count too: an LED team's desk still keeps "quote for 300 dining chairs"."""
    text = text[:SCAN_CHARS]
    return bool(_BUYER_REQUEST_RE.search(text)) and _names_goods(text, profile)


def _header(email: ParsedEmail, name: str) -> str:
    return (email.headers.get(name) or "").strip()


def _own(domain: str, own_domains: frozenset[str]) -> str | None:
    for own in own_domains:
        own = own.lower().strip()
        if own and (domain == own or domain.endswith("." + own)):
            return own
    return None


def classify(
    email: ParsedEmail,
    own_domains: frozenset[str] = frozenset(),
    profile: ProductProfile = EMPTY_PROFILE,
) -> tuple[Category, str]:
    """Category of ``email`` and a one-line reason naming the rule and its evidence (``profile``: the
    team's products, which make a request concrete)."""
    subject = email.subject or ""
    sender = (email.from_addr or "").lower()
    ctype = (email.content_type or "").lower()
    body = email.new_text or email.text or ""

    # Bounces and read receipts.
    if ctype.startswith("multipart/report"):
        return Category.BOUNCE, f"bounce: Content-Type {ctype}"
    if _BOUNCE_SENDER_RE.match(sender):
        return Category.BOUNCE, f"bounce: sender {sender}"
    m = _BOUNCE_SUBJECT_RE.search(subject)
    if m and (
        not email.from_addr
        or "daemon" in sender
        or "postmaster" in sender
        or _header(email, "x-failed-recipients")
        or not is_buyer_request(body, profile)
    ):
        return Category.BOUNCE, f"bounce: subject says {m.group(0)!r}"
    if _header(email, "x-failed-recipients"):
        return Category.BOUNCE, "bounce: X-Failed-Recipients header"
    if ctype.startswith(("message/delivery-status", "message/disposition-notification")):
        return Category.BOUNCE, f"bounce: Content-Type {ctype}"
    if not email.from_addr and _DSN_BODY_RE.search(email.text or ""):
        return Category.BOUNCE, "bounce: delivery status report with no sender"

    # Auto-replies (RFC 3834 and the common vendor headers).
    auto = _header(email, "auto-submitted").lower()
    if auto and auto != "no":
        return Category.AUTO_REPLY, f"auto-reply: Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if _header(email, name):
            return Category.AUTO_REPLY, f"auto-reply: {name.title()} header"
    m = _OOO_SUBJECT_RE.search(subject)
    if m:
        return Category.AUTO_REPLY, f"auto-reply: subject says {m.group(0)!r}"

    # Our own people.
    domain = domain_of(sender)
    own = _own(domain, own_domains)
    if own:
        return Category.INTERNAL, f"internal: sender domain {domain} is ours ({own})"

    # A reply in a thread is a conversation, whatever the bulk headers say.
    conversation = bool(email.in_reply_to)

    precedence = _header(email, "precedence").lower()
    if not conversation:
        if precedence in ("bulk", "list", "junk"):
            return Category.NEWSLETTER, f"bulk mail: Precedence: {precedence}"
        if _header(email, "list-id"):
            return Category.NEWSLETTER, f"list mail: List-Id: {_header(email, 'list-id')[:60]}"
        if _header(email, "list-unsubscribe"):
            return Category.NEWSLETTER, "list mail: List-Unsubscribe header"

    m = _NOREPLY_SENDER_RE.match(sender)
    if m and not conversation:
        return Category.NO_REPLY, f"no-reply sender: {sender}"
    if not email.from_addr and not is_buyer_request(full_text(email), profile):
        return Category.NO_REPLY, "no sender address: nobody to reply to (kept; rescue it if it matters)"

    # Cold pitches: several signals, and never when the mail asks about our products' price.
    full = f"{subject}\n{body}"
    topics = [name for name, rx in _PITCH_TOPICS if rx.search(full)]
    phrases = [name for name, rx in _PITCH_PHRASES if rx.search(full)]
    hits = len(topics) + len(phrases)
    if topics and hits >= 2 and not is_buyer_request(_strip_pitch(full), profile):
        kind = "phishing" if "phishing" in topics else "cold pitch"
        return Category.SPAM, f"{kind}: {', '.join(topics + phrases)}"

    return Category.INQUIRY, "inquiry: no filter rule matched"


def _strip_pitch(text: str) -> str:
    """Remove pitch phrases that mention prices ("affordable price") before the buyer check."""
    return re.sub(
        r"affordable (?:price|cost|rates?)s?|competitive (?:price|rate|quote)s?|"
        r"(?:shipping|freight) (?:price|rate|quote)s?|free quote",
        " ",
        text,
        flags=re.I,
    )
