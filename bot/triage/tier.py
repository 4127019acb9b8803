"""Tier grading: how precise a buyer's need is, with short human reasons.

A = quantity AND (target price, Incoterms, delivery date or spec precision);
B = a real plan (asks price/quote/catalog with business context);
C = information only (free-mail one-liner, student, curiosity, research).

``grade(email, "en")`` -> ``(Tier.A, ["quantity: 2,000 pcs", "Incoterms: FOB Shenzhen"])``.
"""

from __future__ import annotations

import re
import unicodedata

from bot.models import ParsedEmail, Tier
from bot.triage.region import domain_of, is_free_mail

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

_NUM = r"\d{1,3}(?:[,.\s’']\d{3})+|\d+(?:[.,]\d+)?\s?[kK]|\d+"

# Units that follow a number (all languages); \b is not used for CJK/Thai units.
_UNITS_LATIN = (
    r"pcs|pc|pieces?|units?|sets?|nos|lots?|containers?|ctns?|cartons?|pallets?|rolls?|reels?|"
    r"meters?|metres?|metri|metros|mètres|meter|metrów|mét|lamps?|fixtures?|panels?|lights?|floodlights?|"
    r"unidades|unidad|piezas|peças|pecas|unidades|conjuntos|stück|stk|stueck|pezzi|pz|"
    r"pièces|pieces|unités|stuks|sztuk|szt|adet|cái|chiếc|bộ|buah|unit|biji|set|"
    r"шт|штук|единиц|قطعة|قطع|وحدة|حبة"
)
_UNITS_CJK = r"个|個|件|台|套|只|支|盏|盞|米|pcs|개|세트|本|ชิ้น|ชุด|ตัว|หลอด|โคม|เมตร"
_QTY_RE = re.compile(
    rf"(?<![\d.,A-Za-z])(?P<n>{_NUM})\s*(?:x\s*)?(?P<u>(?:{_UNITS_LATIN})(?![\w])|{_UNITS_CJK})",
    re.IGNORECASE,
)
_CONTAINER_RE = re.compile(r"(?<!\w)(?:(\d+)\s*[x×*]\s*)?(40\s?HQ|40\s?GP|20\s?GP|40\s?HC|20ft|40ft)\b", re.I)
_QTY_LABEL_RE = re.compile(
    r"(?:\bMOQ|\bqty|\bquantity|\bquantities|\bcantidad|\bquantidade|\bquantité|\bmenge|\banzahl|"
    r"\bquantità|\bhoeveelheid|\bilość|\bilosc|\bmiktar|\bjumlah|\bkuantiti|số lượng|จำนวน|"
    r"数量|數量|수량|количество|الكمية|كمية)\s*[:：=]?\s*(?:of\s+|about\s+|approx\.?\s+|约|約|~)?(?P<n>"
    + _NUM
    + r")",
    re.IGNORECASE,
)

_CURRENCY = (
    r"USD|US\$|\$|EUR|€|GBP|£|RMB|CNY|¥|元|RM|MYR|Rp|IDR|VND|₫|đ|THB|฿|บาท|AED|SAR|درهم|ريال|"
    r"₹|INR|PHP|₱|SGD|S\$|MXN|BRL|R\$|TRY|₺|PLN|zł|RUB|₽|руб|KRW|₩|JPY|円|CHF"
)
_PRICE_RE = re.compile(
    rf"(?:(?:{_CURRENCY})\s?\d+(?:[.,]\d+)?|(?<!\d)\d+(?:[.,]\d+)?\s?(?:{_CURRENCY}))(?:\s?(?:/|per)\s?\w+)?",
    re.IGNORECASE,
)
_TARGET_PRICE_WORDS = re.compile(
    r"target price|budget|price target|precio objetivo|presupuesto|preço alvo|orçamento de|"
    r"prix cible|budget de|zielpreis|budget von|prezzo obiettivo|doelprijs|cena docelowa|hedef fiyat|"
    r"harga target|harga sasaran|giá mục tiêu|ngân sách|ราคาเป้าหมาย|งบประมาณ|目标价|目標價|预算|預算|"
    r"目標価格|予算|목표가|예산|целевая цена|бюджет|السعر المستهدف|الميزانية",
    re.IGNORECASE,
)
_INCOTERMS_RE = re.compile(
    r"\b(FOB|CIF|CFR|CNF|EXW|DDP|DAP|FCA|CIP|CPT|DPU)\b(?:\s+(?:port\s+)?"
    r"([^\W\d_]+(?:\s[^\W\d_]+)?))?"
)
_DELIVERY_RE = re.compile(
    r"deliver(?:y|ed)?\s+(?:by|before|in|within)\s+\w+|lead time|before (?:end of )?(?:jan|feb|mar|apr|may|"
    r"jun|jul|aug|sep|oct|nov|dec)\w*|within \d+ (?:days|weeks)|by (?:the end of )?(?:january|february|march|"
    r"april|may|june|july|august|september|october|november|december)|fecha de entrega|plazo de entrega|"
    r"entrega en|prazo de entrega|délai de livraison|livraison avant|liefertermin|lieferzeit|lieferung bis|"
    r"tempi di consegna|consegna entro|levertijd|termin dostawy|teslim tarihi|teslimat|waktu pengiriman|"
    r"penghantaran|thời gian giao hàng|giao hàng trước|กำหนดส่ง|ส่งภายใน|交货期|交期|交貨|納期|납기|"
    r"срок поставки|موعد التسليم|التسليم خلال",
    re.IGNORECASE,
)
_SPEC_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("model", re.compile(r"\b(?!IP\d)(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z]{2})[A-Z]{1,5}-?\d{2,5}[A-Z]{0,3}\b")),
    ("wattage", re.compile(r"(?<![\w.])\d{1,4}(?:\.\d)?\s?W\b")),
    ("size", re.compile(r"\b\d{2,4}\s?[x×*]\s?\d{2,4}(?:\s?[x×*]\s?\d{1,4})?\s?(?:mm|cm|m)?\b")),
    ("IP rating", re.compile(r"\bIP\s?6[5-8]\b|\bIP\s?[4-5][0-4]\b")),
    ("CCT", re.compile(r"\b[2-6][05]00\s?K\b")),
    ("CRI", re.compile(r"\b(?:CRI|Ra)\s?[>≥=:]?\s?[7-9]\d\b", re.I)),
    ("efficacy", re.compile(r"\b\d{2,3}\s?(?:lm/W|lm per W)\b", re.I)),
    ("voltage", re.compile(r"\b(?:AC|DC)?\s?\d{2,3}(?:-\d{2,3})?\s?V(?:AC|DC)?\b")),
    ("dimming", re.compile(r"\b(?:DALI|0-10\s?V|1-10\s?V|TRIAC)\b", re.I)),
    ("beam angle", re.compile(r"\b\d{2,3}\s?°")),
)

_REQUEST_RE = re.compile(
    r"quot(?:e|ation)|price|pricing|catalog|catalogue|brochure|\bMOQ\b|sample|offer|proforma|\bPI\b|"
    r"cotizaci[oó]n|cotizar|precio|cat[aá]logo|muestra|cotação|orçamento|preço|devis|prix|tarif|"
    r"angebot|preis|katalog|muster|preventivo|prezzo|listino|offerte|prijs|catalogus|oferta|ofert[aęy]|"
    r"cena|cennik|fiyat|teklif|katalog|numune|harga|penawaran|sebut harga|báo giá|giá|ใบเสนอราคา|ราคา|"
    r"แคตตาล็อก|报价|報價|价格|價格|目录|目錄|样品|樣品|見積|価格|カタログ|견적|가격|카탈로그|цена|прайс|"
    r"коммерческое предложение|каталог|عرض سعر|الأسعار|سعر|كتالوج|عينة",
    re.IGNORECASE,
)
_TITLE_RE = re.compile(
    r"(?P<t>(?:senior\s+|chief\s+|head of\s+)?(?:procurement|purchasing|sourcing|supply chain|buying)\s+"
    r"(?:manager|director|officer|specialist|lead|executive|department|team)|\bbuyer\b|"
    r"purchasing|procurement|\bCEO\b|managing director|owner|general manager|project manager|"
    r"einkauf(?:sleiter)?|eink[äa]ufer|gesch[äa]ftsf[üu]hrer|jefe de compras|gerente de compras|compras|"
    r"comprador|responsable des achats|acheteur|ufficio acquisti|responsabile acquisti|inkoper|inkoop|"
    r"dział zakupów|kierownik zakupów|satın alma|satinalma|purchasing officer|pengadaan|pembelian|"
    r"phòng mua hàng|trưởng phòng|giám đốc|ฝ่ายจัดซื้อ|ผู้จัดการ|采购|採購|总经理|總經理|購買部|구매|"
    r"отдел закупок|менеджер по закупкам|директор|مدير المشتريات|المشتريات|مدير)",
    re.IGNORECASE,
)
_CONTEXT_RE = re.compile(
    r"project|tender|bid|distributor|distribution|wholesale|wholesaler|retailer|importer|import|"
    r"contractor|installer|installation|warehouse|factory|hotel|hospital|school building|office building|"
    r"supermarket|parking|stadium|street light|resell|dealer|our (?:company|client|customer)s?|"
    r"proyecto|licitación|distribuidor|importador|mayorista|obra|projeto|licitação|revendedor|"
    r"projet|appel d'offres|distributeur|grossiste|installateur|projekt|ausschreibung|händler|großhändler|"
    r"elektroinstallateur|progetto|gara|distributore|grossista|aanbesteding|groothandel|przetarg|hurtownia|"
    r"dystrybutor|projes[iı]|projemiz|ihale|distribütör|toptan|proyek|projek|pengedar|dự án|"
    r"nhà phân phối|đại lý|công trình|โครงการ|ตัวแทนจำหน่าย|ผู้รับเหมา|项目|項目|工程|经销|經銷|代理商|批发|"
    r"案件|プロジェクト|代理店|프로젝트|대리점|проект|тендер|дистрибьютор|оптов|مشروع|مناقصة|موزع|وكيل",
    re.IGNORECASE,
)
_INFO_ONLY_RE = re.compile(
    r"just curious|curious|student|university|thesis|school project|homework|class project|research|"
    r"for my blog|blogger|writing an article|survey|just wondering|for fun|hobby|personal use|"
    r"estudiante|universidad|tesis|curiosidad|estudante|faculdade|étudiant|université|mémoire|"
    r"student(?:in)?|studium|abschlussarbeit|studente|università|tesi|studenci|praca dyplomowa|"
    r"öğrenci|üniversite|mahasiswa|pelajar|skripsi|sinh viên|luận văn|tò mò|นักศึกษา|学生|論文|研究|"
    r"好奇|학생|연구|студент|исследован|طالب|جامعة|بحث",
    re.IGNORECASE,
)
_COMPANY_SUFFIX_RE = re.compile(
    r"\b(?:GmbH|AG|Ltd\.?|Limited|LLC|Inc\.?|Corp\.?|S\.?A\.?(?: de C\.?V\.?)?|S\.?L\.?|S\.?r\.?l\.?|"
    r"S\.?p\.?A\.?|B\.?V\.?|N\.?V\.?|Sp\. z o\.o\.|A\.Ş\.|Sdn\.? Bhd\.?|Bhd|PT|CV|JSC|Co\.,? Ltd|"
    r"Pty|LLP|SARL|SAS|Oy|AB|ApS|K\.K\.|株式会社|有限公司|Công ty|บริษัท|ООО|شركة)(?!\w)"
)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DIGITS)


def find_quantity(text: str) -> str | None:
    """The first quantity in ``text`` ("2,000 pcs", "1x40HQ", "MOQ 500"), or None."""
    m = _QTY_RE.search(text)
    if m and _plausible(m.group("n"), m.group("u")):
        return f"{m.group('n').strip()} {m.group('u')}"
    c = _CONTAINER_RE.search(text)
    if c:
        return c.group(0).strip()
    lab = _QTY_LABEL_RE.search(text)
    if lab and _plausible(lab.group("n"), ""):
        return lab.group(0).strip()
    return None


def _plausible(number: str, unit: str) -> bool:
    digits = re.sub(r"\D", "", number)
    if not digits:
        return False
    if (
        unit.lower() in ("lights", "panels", "lamps", "fixtures", "floodlights", "set", "unit")
        and len(digits) < 2
    ):
        return False  # "2 lights" is talk, not an order quantity
    return not (len(digits) == 4 and digits.startswith(("19", "20")) and not unit)


def grade(email: ParsedEmail, language: str | None = None) -> tuple[Tier, list[str]]:
    """Tier and reasons for an inquiry. ``language`` is accepted for callers and future rules."""
    body = _norm(email.new_text or email.text or "")
    subject = _norm(email.subject or "")
    text = f"{subject}\n{body}"
    signature = _norm(email.signature or "")
    reasons: list[str] = []

    qty = find_quantity(text)
    precision: list[str] = []
    inc = _INCOTERMS_RE.search(text)
    if inc:
        port = [w for w in (inc.group(2) or "").split() if w[:1].isupper()]
        port = port if len(port) == len((inc.group(2) or "").split()) else port[:1]
        precision.append(f"Incoterms: {inc.group(1)}" + (f" {' '.join(port)}" if port else ""))
    tp = _TARGET_PRICE_WORDS.search(text)
    price = _PRICE_RE.search(text)
    if price and re.search(r"\d", price.group(0)):
        precision.append(f"target price: {price.group(0).strip()}")
    elif tp:
        precision.append(f"target price mentioned: {tp.group(0)}")
    dl = _DELIVERY_RE.search(text)
    if dl:
        precision.append(f"delivery: {dl.group(0)}")
    specs = []
    for name, regex in _SPEC_RES:
        m = regex.search(text)
        if m:
            specs.append(f"{name} {m.group(0).strip()}")
    if specs:
        precision.append("spec: " + ", ".join(specs[:3]))

    if qty and precision:
        return Tier.A, [f"quantity: {qty}", *precision]

    domain = domain_of(email.from_addr)
    free = not domain or is_free_mail(domain)
    request = _REQUEST_RE.search(text)
    title = _TITLE_RE.search(signature + "\n" + body)
    context = _CONTEXT_RE.search(text)
    company = _COMPANY_SUFFIX_RE.search(signature + "\n" + body[-600:])
    info = _INFO_ONLY_RE.search(text)
    words = len(re.findall(r"\w+", body))
    # CJK/Thai text has no spaces: count characters as a rough word measure.
    words = max(words, len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]", body)) // 2)

    if info:
        reasons.append(f"information only: {info.group(0)}")
        return Tier.C, reasons
    b_reasons: list[str] = []
    if qty:
        b_reasons.append(f"quantity: {qty}")
    b_reasons.extend(precision)
    if title:
        b_reasons.append(f"purchasing title: {title.group('t')}")
    if context:
        b_reasons.append(f"context: {context.group(0)}")
    if not free:
        b_reasons.append(f"company domain: {domain}")
    elif company:
        b_reasons.append(f"company: {company.group(0)}")
    if request:
        reasons.append(f"asks: {request.group(0)}")
    if b_reasons and (request or qty or precision or context or words >= 25):
        # a company domain alone on a one-liner is still B: it is a business asking
        return Tier.B, reasons + b_reasons
    if free and words < 25:
        reasons.append("free-mail one-liner" if words < 12 else "free-mail short note")
        return Tier.C, reasons
    if b_reasons:
        return Tier.B, reasons + b_reasons
    reasons.append("no business context")
    return Tier.C, reasons
