"""Content signals: what the words of lures, scams and cold pitches have in common.

- *vagueness*: "your products", "your hot selling items", "the items on your website", with no
  product, quantity or specification named;
- *pressure*: urgency and deadlines; payment, remittance and shipping paperwork from a stranger;
  a purchase order from somebody who never wrote before; procurement boilerplate ("you are
  invited to bid", "send your quotation to:");
- *offers instead of requests*: the sender sells (services, loans, leads, software) rather than
  asks to buy;
- *scams and account phishing*: funds, prizes, crypto, "verify your account" in several languages;
- *marketing*: link-heavy HTML, URL shorteners and IP links, emoji in the sender's name.

Each rule is bounded (text cut, repeats capped) and returns a named, weighted signal with the
phrase that fired it. Buyer-like evidence (a quantity with a unit, a specification, a named product
of ours) comes back as negative weights.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.models import ParsedEmail, RiskSignal
from bot.triage.region import domain_of, registrable_domain
from bot.triage.signals.text import body_of, short, whole_of
from bot.triage.signals.text import lowered_pattern as _rx

W_VAGUE = 2.0
W_URGENT = 0.5
W_DEADLINE = 0.5
W_PAYMENT_DOCS = 3.0
W_ORDER_FROM_STRANGER = 1.5
W_BOILERPLATE = 1.5
W_BOILERPLATE_MAX = 3.0
W_OFFER = 2.0
W_SCAM = 4.0
W_ACCOUNT_PHISH = 4.0
W_PRIZE = 3.0
W_SHORTENER = 1.5
W_IP_LINK = 2.0
W_LINK_HEAVY = 1.0
W_EMOJI_NAME = 1.0
W_NO_REQUEST = 2.0
W_BULK = 2.0
W_HIDDEN = 2.0
W_NEED = -1.5
W_PRODUCT = -1.5
W_SPEC = -1.0
W_BUYER_CAP = -2.5


def _first(rx: re.Pattern[str], text: str) -> str | None:
    m = rx.search(text)
    return short(m.group(0), 40) if m else None


# ------------------------------------------------------------------ vagueness
_VAGUE_RE = _rx(
    r"your (?:company'?s? |latest |current |hot[- ]selling |best[- ]selling |new |various )?"
    r"(?:products?|items?|goods|merchandise|product (?:line|range|list)|"
    r"catalog(?:ue)?)(?! (?:name|number|code))|"
    r"(?:products?|items?) (?:as )?(?:seen|listed|shown|displayed) on your (?:web ?site|page|catalog)|"
    r"(?:our|the) desired (?:items?|products?)|interested in your (?:products?|company|items?)|"
    r"(?:supply|source) (?:us )?(?:with )?(?:the )?(?:following|below) (?:products?|items?)|"
    r"wide range of (?:products|goods)|different kinds of goods|"
    r"sus productos|seus produtos|vos produits|ihre produkte|i vostri prodotti|uw producten|"
    r"państwa produkt|ürünleriniz|produk anda|sản phẩm của (?:bạn|quý)|贵公司的产品|貴公司的產品|"
    r"ваш(?:у|ей|их) продукци|منتجاتكم"
)


def vague_signals(text: str, named_product: bool, need: bool) -> list[RiskSignal]:
    hit = _first(_VAGUE_RE, text)
    if hit and not named_product and not need:
        return [RiskSignal("vague_request", W_VAGUE, f"{hit!r}, no product of ours named")]
    return []


# ------------------------------------------------------------------ pressure
_URGENT_RE = _rx(
    r"\burgent(?:ly)?\b|\basap\b|immediate(?:ly)? (?:approval|response|action|reply|attention)|"
    r"as soon as possible|without delay|right away|quick action|time[- ]sensitive|"
    r"\b(?:dringend|urgente|urgência|pilne|acil|segera)\b|gấp|ด่วน|紧急|緊急|至急|긴급|срочно|عاجل"
)
_DEADLINE_RE = _rx(
    r"deadline|closing date|due (?:date|by|before)|no later than|within (?:24|48|72) hours|"
    r"before (?:the )?(?:end of (?:the )?)?(?:day|today|tomorrow)|expires? (?:today|tomorrow|in \d{1,2})|"
    r"\bfrist\b|fecha límite|date limite|batas waktu|hạn chót|截止日期|締切|마감|крайний срок|آخر موعد"
)
_PAYMENT_DOCS_RE = _rx(
    r"payment (?:advice|confirmation|receipt|slip|copy|notification|details? attached)|remittance|"
    r"wire (?:transfer )?(?:slip|copy|confirmation|receipt)|transfer (?:slip|copy|confirmation)|"
    r"swift (?:copy|message|mt103)|mt ?103|proof of payment|bank (?:slip|receipt)|"
    r"(?:commercial )?invoice (?:attached|enclosed|is due|payment|overdue)|due invoice|overdue invoice|"
    r"statement of account|outstanding (?:payment|balance|invoice)|"
    r"bill of lading|\bB/L\b|\bBL (?:copy|draft)|shipping documents?|airway bill|\bAWB\b|"
    r"(?:dhl|fedex|ups|maersk|parcel|shipment|delivery) (?:notice|notification|failed|on hold|pending)|"
    r"customs (?:fee|charge|clearance fee)|your account (?:will be|has been|was) (?:charged|debited)|"
    r"thank you for (?:your )?(?:purchase|purchasing|order(?:ing)?) (?:with|from) us|"
    r"zahlungsavis|überweisung(?:sbestätigung|sbeleg)|comprobante de (?:pago|transferencia)|"
    r"aviso de (?:pago|remessa)|comprovante de (?:pagamento|transferência)|confirmação de pagamento|"
    r"avis de paiement|preuve de paiement|potwierdzenie (?:przelewu|płatności)|bukti (?:transfer|pembayaran)|"
    r"ödeme (?:dekontu|bildirimi)|dekont|ủy nhiệm chi|biên lai|水单|付款通知|汇款|匯款|提单|提單|"
    r"платёжное поручение|платежное поручение|إشعار (?:الدفع|التحويل)|إيصال"
)
_ORDER_RE = _rx(
    r"(?:new|our|attached|latest|urgent|confirm(?:ed)?|trial|september|first|next) "
    r"(?:purchase )?order\b|purchase order|\bP\.?O\.?\s?(?:#|no\.?|number)?\s?\d{3,}|\bPO\b|"
    r"forward (?:our|the) (?:PO|order)|send (?:you )?(?:our|the) order|"
    r"neue bestellung|nuevo pedido|orden de compra|novo pedido|pedido de compra|nouvelle commande|"
    r"bon de commande|nuovo ordine|ordine d'acquisto|zamówienie|sipariş|pesanan baru|đơn (?:đặt )?hàng mới|"
    r"新订单|新訂單|采购订单|採購訂單|注文書|발주|новый заказ|أمر شراء|طلب شراء"
)
_BOILERPLATE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "invited to bid",
        _rx(
            r"invit(?:e|ed|ing) you (?:or your company )?to (?:bid|quote|source|tender|participate)|"
            r"open tender|vendor registration|supplier registration|pre-?qualification|"
            r"bid (?:invitation|documents?)"
        ),
    ),
    (
        "quote to another address",
        _rx(
            r"(?:reply|respond|write) (?:directly |only )?to (?:this|our|my) (?:private |"
            r"personal |other |new )?"
            r"(?:email|e-mail|address)|your immediate response e-?mail"
        ),
    ),
    (
        "found you somewhere",
        _rx(
            r"(?:know|heard|learn(?:ed|t)|found|got) (?:about )?(?:your|of your) (?:company|contact|email|"
            r"products?) (?:from|through|on|via) (?:the )?(?:web|internet|google|alibaba|"
            r"a friend|our partner|"
            r"trade ?show|exhibition|chamber)|(?:partner|friend|colleague) recommended your company|"
            r"came across your (?:company|products?|profile|info)"
        ),
    ),
    (
        "supply probe",
        _rx(
            r"(?:do|can) you (?:export|supply|ship) (?:to|your products)|if your company can supply|"
            r"confirm if you (?:be |are )?able to supply|accept new (?:purchase )?orders|"
            r"(?:are you|is your company) (?:able|ready|willing) to supply"
        ),
    ),
    (
        "confirm receipt",
        _rx(
            r"confirm (?:if |whether )?(?:you )?(?:have )?rec(?:ie|ei)ved (?:our|the|my)|"
            r"did you receive (?:our|my) (?:order|po|email|mail)|not sure if you received|"
            r"hasn'?t replied|(?:second|third|final) (?:time|attempt|reminder)"
        ),
    ),
)
_STRANGER_OPENERS_RE = _rx(r"\b(?:hello|hi),? ?friend\b|dear (?:friend|beloved|esteemed)")


_QUOTE_TO_RE = _rx(
    r"send (?:your|the|us your) (?:quotation|quote|offer|reply|response|prices?) "
    r"(?:directly )?to\s{0,3}:?\s{0,3}"
    r"(?:(?P<addr>[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4})|our (?:email|procurement|purchasing))"
)


def _quote_elsewhere(text: str, sender_domain: str) -> bool:
    """ "Send your quotation to: x@elsewhere" (an address on another domain than the sender's)."""
    m = _QUOTE_TO_RE.search(text)
    if not m:
        return False
    addr = m.group("addr")
    if addr is None:
        return True
    return registrable_domain(domain_of(addr)) != registrable_domain(sender_domain)


def _phrase_signals(text: str, table: tuple[tuple[str, float, re.Pattern[str]], ...]) -> list[RiskSignal]:
    """One signal per table row whose pattern is found, with the phrase as evidence."""
    return [RiskSignal(name, weight, hit) for name, weight, rx in table if (hit := _first(rx, text))]


def pressure_signals(text: str, sender_domain: str = "") -> list[RiskSignal]:
    out = _phrase_signals(
        text,
        (
            ("urgency", W_URGENT, _URGENT_RE),
            ("deadline", W_DEADLINE, _DEADLINE_RE),
            ("payment_or_shipping_docs", W_PAYMENT_DOCS, _PAYMENT_DOCS_RE),
            ("order_from_stranger", W_ORDER_FROM_STRANGER, _ORDER_RE),
        ),
    )
    kinds = [name for name, rx in _BOILERPLATE if rx.search(text)]
    if _quote_elsewhere(text, sender_domain):
        kinds.append("quote to another address")
    if _STRANGER_OPENERS_RE.search(text):
        kinds.append("greets a stranger as friend")
    if kinds:
        weight = min(W_BOILERPLATE * len(kinds), W_BOILERPLATE_MAX)
        out.append(RiskSignal("lure_phrasing", weight, ", ".join(kinds)))
    return out


# ------------------------------------------------------------------ offers (cold pitches)
_OFFER_RE = _rx(
    r"\bwe (?:are |have )?(?:offer|provide|specialize|specialise|produce|manufacture|supply|deliver|develop|"
    r"create|build|design|help|support|can help|can offer|can provide|are able to offer|would like to offer|"
    r"created|developed|designed)(?:s|d|ing)?\b|"
    r"\bour (?:services|solutions?|software|platform|tool|agency|team of|offer(?:ing)?|company offers|"
    r"experts?|packages?|courses?)\b|"
    r"(?:are you|would you be) (?:open|interested) (?:to|in) (?:cooperation|a call|talk|learning|"
    r"purchasing|buying|our)|would you like (?:to|me to)|i (?:would like to|want to) (?:reach|offer|"
    r"present|introduce|propose)|can i send you|are you looking for|do you need|"
    r"is (?:your|this) (?:company|business) (?:looking|interested)|for sale\b|available for sale|"
    r"do you have any (?:\w+ ){0,2}(?:projects?|requirements?|work|needs?) for us|"
    r"(?:can|could|may) (?:we|i) (?:talk|speak|schedule|introduce|present|show)|"
    r"(?:open|interested) (?:to|in) (?:a )?(?:cooperation|collaboration|partnership)|"
    r"database of|verified (?:importers|buyers|distributors|contacts)|"
    r"(?:importers|buyers|leads) (?:list|database)|"
    r"list of (?:importers|buyers|distributors)|wspieramy|możemy porozmawiać|współprac[ayę] z państwa|"
    r"wir bieten|wir liefern|wir sind spezialisiert|unser(?:e)? (?:angebot|leistung|dienstleistung)|"
    r"ofrecemos|brindamos|nuestros servicios|oferecemos|nossos serviços|nous (?:proposons|offrons)|"
    r"nos services|offriamo|i nostri servizi|wij bieden|oferujemy|świadczymy|zapewniamy|tworzymy|"
    r"specjalizujemy|pomagamy|opracowaliśmy|czy (?:mógłbym|rozważali|są państwo)|nabízíme|zajišťujeme|"
    r"měli byste zájem|sunuyoruz|hizmetlerimiz|kami menawarkan|kami menyediakan|chúng tôi cung cấp|"
    r"我们提供|专业从事|我司主营|主营业务|竭诚为您服务|如有需要(?:请|欢迎)|欢迎(?:来电|咨询)|优势航线|"
    r"wir unterstützen sie|haben sie interesse|le interesar[ií]a|te interesa|"
    r"somos una empresa (?:especializada|líder)|"
    r"seriez-vous intéressé|nous accompagnons|nous sommes une agence|le interesserebbe|"
    r"teria interesse|мы рады предложить|"
    r"我们提供|本公司(?:长期)?(?:经销|提供|专业)|我司提供|有意者|批量获取|一键|自动群发|"
    r"предлагаем|мы предоставляем|наши услуги|نقدم|نوفر|خدماتنا"
)
_REQUEST_HINT_RE = _rx(
    r"(?:please|kindly|pls) (?:send|quote|offer|advise|provide|give)|send (?:me|us) (?:your|a|the)|"
    r"(?:we|i) (?:need|require|want to (?:buy|order|purchase|import)|are looking for|would like to "
    r"(?:order|buy|purchase|import|receive|get|know))|quote (?:us|me|for)|your (?:best )?(?:price|offer|"
    r"quotation)|how much|what is the (?:price|moq)|"
    r"bitte (?:senden|schicken|um)|wir (?:benötigen|brauchen|suchen)|necesitamos|solicitamos|"
    r"precisamos|gostar[ií]amos de (?:receber|solicitar|comprar)|favor (?:enviar|informar)|solicitamos|"
    r"nos gustar[ií]a (?:recibir|comprar)|quisiéramos|vorremmo (?:ricevere|acquistare)|wir möchten|"
    r"nous voudrions|nous (?:avons besoin|cherchons|souhaitons)|abbiamo bisogno|potrzebujemy|prosimy o|"
    r"ihtiyacımız|kami (?:membutuhkan|memerlukan|ingin)|chúng tôi cần|我们需要|我們需要|请报价|請報價|"
    r"нам нужн|просим|نحتاج|نرجو"
)


def offer_signals(text: str) -> list[RiskSignal]:
    """The sender sells: one offer phrase weighs 2, two 3, three or more 4; 1.5 less when the
    mail also asks for a price or a quote (a buyer describing their own business)."""
    found: list[str] = []
    for m in _OFFER_RE.finditer(text):
        phrase = m.group(0).lower()
        if phrase not in found:
            found.append(phrase)
        if len(found) >= 3:
            break
    if not found:
        return []
    weight = W_OFFER + (len(found) - 1) * 1.0
    if _REQUEST_HINT_RE.search(text):
        weight -= 1.5
    return [RiskSignal("sender_offers", weight, ", ".join(repr(short(f, 30)) for f in found))]


# ------------------------------------------------------------------ scams, account phishing, prizes
_SCAM_RE = _rx(
    r"(?:the |a )?sum of (?:usd|us\$|\$|€|eur|£|gbp)|(?:million|billion) (?:us )?(?:dollars|euros?|pounds)|"
    r"next of kin|inheritance|beneficiary of|"
    r"(?:late|deceased) (?:client|husband|father)|dying bed|compensation (?:fund|payment)|"
    r"lottery|jackpot|(?:mega|power) ?ball|donation of|donate (?:to|the sum)|spende von|"
    r"(?:relocate|transfer(?:ring)?|move) (?:the |this |these )?funds?|consignment box|"
    r"investment (?:opportunity|proposal)|silent (?:business )?partner|invest(?:ing)? (?:his|her|"
    r"their) funds|"
    r"loan (?:offer|at low interest)|low interest (?:rate|loan)|quick loan|brauchen sie einen kredit|"
    r"kredit(?:angebot|e)|préstamo|empréstimo|pożyczk|crypto(?:currency)?|bitcoin|\bBTC\b|"
    r"\bUSDT\b|airdrop|\bNFT\b|"
    r"illuminati|lucrative (?:business|deal|proposal)|business proposal|my principal|"
    r"raw material (?:supplier|for our)|our company (?:has )?opened a bid|"
    r"i seek your (?:urgent )?consideration"
)
_ACCOUNT_PHISH_RE = _rx(
    r"verify (?:your )?(?:account|identity|mailbox|e-?mail)|confirm your (?:account|identity|password)|"
    r"(?:unusual|suspicious|new) (?:sign[- ]?in|login|log-in|activity|device)|"
    r"account (?:will be |has been )?(?:suspended|closed|locked|limited|deactivated|blocked)|"
    r"mailbox (?:is )?(?:full|quota|storage)|storage (?:limit|quota|is full)|password (?:will )?expir|"
    r"re-?validate|update your (?:account|billing|payment) (?:information|details)|"
    r"(?:^|\n)\s{0,4}(?:password|senha|passwort|contraseña)\s?:|"
    r"kontobestätigung|konto (?:gesperrt|verifizieren)|verifique su cuenta|verifique sua conta|"
    r"acesso (?:indevido|à sua conta)|novo (?:dispositivo|acesso)|sua conta (?:foi|será)|"
    r"valores a receber|votre compte (?:sera|a été)|verifica il tuo account|zweryfikuj|"
    r"hesabınız|akun anda (?:akan|telah)|tài khoản của bạn|บัญชีของคุณ|账户(?:异常|已被)|帳戶|"
    r"превышен лимит|подтвердите (?:свою|ваш)|учетн(?:ая|ую) запис|почтов(?:ый|ого) ящик|"
    r"تحقق من حسابك|päivitä|pankkitie"
)
_PRIZE_RE = _rx(
    r"congratulations?!?|you(?:'ve| have)? (?:been )?(?:selected|chosen)|(?:exclusive )?reward|free gift|"
    r"claim (?:your|now)|you(?:'ve| have) won|winner|prize|gift card|free spins|freispiele|bonus|casino|"
    r"gewinn|herzlichen glückwunsch|parabéns|félicitations|felicidades|gratis|sweepstake"
)


def scam_signals(text: str) -> list[RiskSignal]:
    return _phrase_signals(
        text,
        (
            ("scam_topic", W_SCAM, _SCAM_RE),
            ("account_phishing", W_ACCOUNT_PHISH, _ACCOUNT_PHISH_RE),
            ("prize_or_promotion", W_PRIZE, _PRIZE_RE),
        ),
    )


# ------------------------------------------------------------------ no request at all
_BUYER_REQUEST_RE = _rx(
    r"quot(?:e|ation|ing)|\bRFQ\b|price|pricing|cost|catalog|catalogue|brochure|\bMOQ\b|(?<!free )samples?|"
    r"(?<!we )(?<!our )(?<!can )offer(?!ing)|"
    r"proforma|\bPI\b|lead time|delivery time|"
    r"(?<!you )(?<!you're )(?<!you be )interested in (?:buying|purchasing|your)|"
    r"(?:want|would like|wish|plan|looking) to (?:buy|order|purchase|import|source)|"
    r"(?:we|i) (?:need|require|are looking for|am looking for|are sourcing)|how much|"
    r"cotizaci[oó]n|cotizar|precio|cat[aá]logo|muestra|cotação|orçamento|preço|devis|prix|tarif|"
    r"angebot|preis|katalog|muster|preventivo|prezzo|listino|offerte|prijs|oferta|ofert[aęy]|wycen|"
    r"cena|cennik|fiyat|teklif|numune|harga|penawaran|sebut harga|báo giá|giá|ใบเสนอราคา|ราคา|"
    r"报价|報價|价格|價格|目录|目錄|样品|樣品|询价|詢價|見積|価格|カタログ|견적|가격|цен[аыу]|прайс|"
    r"коммерческое предложение|каталог|عرض سعر|الأسعار|سعر|كتالوج|عينة|"
    r"árajánlat|ár(?:a|ak|lista)\b|cenov[áé] nabídk|poptávk|ceník|vzork|ofert[ăe] de preț|preț|cotați|"
    r"προσφορά|τιμ[ήέ]ς?|τιμοκατάλογ|δείγμα|הצעת מחיר|מחיר|קטלוג|"
    r"offert|prislista|pris(?:er|et)?\b|tilbud|prisliste|tarjous|hinta|hinnasto|näyte|"
    r"комерційн|ціна|ціни|прайс|зразк|"
    r"कोटेशन|मूल्य|कीमत|দাম|قیمت|پیش ?فاکتور|استعلام|"
    r"presyo|sipi ng presyo|ราคาส่ง|mẫu|sampel|contoh|katalog"
)


def request_signals(text: str, quantity: str | None) -> list[RiskSignal]:
    """A mail that asks nothing a buyer asks (price, quote, catalogue, samples, MOQ, to buy)."""
    if quantity or _BUYER_REQUEST_RE.search(text) or _REQUEST_HINT_RE.search(text):
        return []
    return [RiskSignal("no_request", W_NO_REQUEST, "asks for no price, quote, catalogue or sample")]


_BULK_RE = _rx(
    r"unsubscribe|opt[- ]out|this is an advertisement|to be removed|remove me|no longer wish to receive|"
    r"abmelden|abbestellen|darse de baja|cancelar (?:a )?subscrição|descadastr|se désabonner|désinscri|"
    r"disiscriv|afmelden|uitschrijven|wypisz|abonelikten çık|berhenti berlangganan|hủy đăng ký|"
    r"退订|取消订阅|退訂|配信停止|수신거부|отписаться|إلغاء الاشتراك"
)
_HIDDEN_RE = _rx(r"[\u200b-\u200d\u2060\ufeff\u034f\u00ad]{8}|^\s{0,20}[.#][\w-]{1,30}\s?\{[^}]{0,200}\}")


def bulk_signals(text: str, raw_text: str) -> list[RiskSignal]:
    out: list[RiskSignal] = []
    if hit := _first(_BULK_RE, raw_text):
        out.append(RiskSignal("bulk_marketing", W_BULK, hit))
    if _HIDDEN_RE.search(raw_text[:5000]):
        out.append(RiskSignal("hidden_text", W_HIDDEN, "invisible characters or page styles in the text"))
    return out


# ------------------------------------------------------------------ links and looks
_URL_RE = re.compile(r"https?://([a-z0-9.\-]{1,120})")
_SHORTENERS = frozenset(
    [
        "bit.ly",
        "t.co",
        "tinyurl.com",
        "is.gd",
        "goo.gl",
        "ow.ly",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "short.gy",
        "shorturl.at",
        "rb.gy",
        "tiny.cc",
        "clck.ru",
        "t.ly",
        "s.id",
        "lnkd.in",
        "bl.ink",
        "soo.gd",
        "v.gd",
        "x.co",
        "qrco.de",
        "linktr.ee",
        "telegra.ph",
    ]
)
_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def link_signals(email: ParsedEmail, body: str) -> list[RiskSignal]:
    out: list[RiskSignal] = []
    hosts = [h.lower().rstrip(".") for h in _URL_RE.findall(body)[:200]]
    short_hosts = sorted({h for h in hosts if h in _SHORTENERS or h.removeprefix("www.") in _SHORTENERS})
    if short_hosts:
        out.append(RiskSignal("shortened_link", W_SHORTENER, ", ".join(short_hosts[:3])))
    ips = [h for h in hosts if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", h)]
    if ips:
        out.append(RiskSignal("ip_address_link", W_IP_LINK, ips[0]))
    if len(hosts) >= 6 and len(body) < 25 * len(hosts) + 800:
        out.append(RiskSignal("link_heavy", W_LINK_HEAVY, f"{len(hosts)} links"))
    name = email.from_name or ""
    if _EMOJI_RE.search(name[:120]) or _EMOJI_RE.search((email.subject or "")[:3]):
        out.append(RiskSignal("emoji_sender", W_EMOJI_NAME, short(name or email.subject, 30)))
    return out


# ------------------------------------------------------------------ buyer-like evidence
def buyer_signals(quantity: str | None, spec: str | None, products: Iterable[str]) -> list[RiskSignal]:
    """Buyer-like evidence, together never below ``W_BUYER_CAP``: a lure that copies a buyer's
    quantities and specs must not hide its attachments and forged headers behind them."""
    found: list[tuple[str, float, str]] = []
    if quantity:
        found.append(("concrete_need", W_NEED, f"quantity {short(quantity, 30)}"))
    named = [p for p in products if p][:2]
    if named:
        found.append(("names_our_product", W_PRODUCT, ", ".join(short(p, 30) for p in named)))
    if spec:
        found.append(("specification", W_SPEC, short(spec, 30)))
    out: list[RiskSignal] = []
    total = 0.0
    for name, weight, evidence in found:
        weight = max(weight, W_BUYER_CAP - total)
        if weight >= 0:
            break
        out.append(RiskSignal(name, weight, evidence))
        total += weight
    return out


def content_signals(
    email: ParsedEmail, *, quantity: str | None, spec: str | None, products: Iterable[str]
) -> list[RiskSignal]:
    """All content signals of one mail. ``quantity``/``spec``/``products``: what the tier rules
    and the team's profile found (buyer-like evidence)."""
    text = whole_of(email).lower()  # every pattern here is compiled for lower-cased text (_rx)
    body = body_of(email)
    named = list(products)
    out = vague_signals(text, bool(named), bool(quantity and spec))
    out += pressure_signals(text, domain_of(email.from_addr or ""))
    out += offer_signals(text)
    out += scam_signals(text)
    whole = (email.text[:20000] if email.text else body).lower()
    no_request = request_signals(text, quantity)
    out += no_request
    out += bulk_signals(text, whole)
    out += link_signals(email, whole)
    if not no_request and not any(sig.name == "sender_offers" and sig.weight >= W_OFFER for sig in out):
        # Buyer-like evidence counts for a mail that asks for something and does not sell:
        # a pitch names products and quantities too ("cosmetics in tubes", "500 units in stock").
        out += buyer_signals(quantity, spec, named)
    return out
