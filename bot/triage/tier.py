"""Tier grading: how precise a buyer's need is, with short human reasons.

A = quantity AND (target price or budget, Incoterms, delivery date, model/part number or spec);
B = a real plan (asks price/quote/catalog with business context);
C = information only (free-mail one-liner, student, curiosity, research).

The rules hold for any trade: quantities in every number format ("2,000 units", "1.500 pezzi",
"5万个", "600 x 200W", "3 x 40HQ", "we need 300 dining chairs"), budgets ("GBP 32,000 in total"),
generic specs (sizes, materials, grades, part numbers). The team's own product words and spec
patterns come from its profile (:class:`~bot.triage.profile.ProductProfile`).

``grade(email, "en", profile)`` -> ``(Tier.A, ["quantity: 2,000 pcs", "Incoterms: FOB Shenzhen"])``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from bot.core.models import ParsedEmail, Tier
from bot.triage.profile import EMPTY_PROFILE, ProductProfile
from bot.triage.region import domain_of, is_free_mail

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

# Only the start of a mail is graded: a buyer states the need up front, and hostile mail (a run of
# 10,000 digits, one 200,000-character word) costs no more than this. Every regex below is linear
# on such input: repeats are bounded and numbers are anchored by a look-behind, so a scan never
# restarts inside a run of digits or letters.
SCAN_CHARS = 8_000

_NB = r"(?<![\d’'A-Za-zÀ-ɏЀ-ӿ_])(?<!\d[.,])"  # a number starts here (not inside another number or a word)
_NUM = (
    r"\d{1,3}(?:[,.\s’']\d{3}){1,4}(?![\d])"  # 2,000  1.500  2 000
    r"|\d{1,7}(?:[.,]\d{1,3})?\s?(?:[kK](?![^\W\d_])|万|萬|千|만|천)"  # 12k  5万  1,5k
    r"|\d{1,9}(?![\d])"
)

# Units that follow a number (all languages); \b is not used for CJK/Thai units.
_UNITS_LATIN = (
    r"pcs|pc|pieces?|units?|sets?|nos|lots?|containers?|ctns?|cartons?|pallets?|rolls?|reels?|"
    r"meters?|metres?|metri|metros|mètres|meter|metrów|mét|lamps?|fixtures?|panels?|lights?|floodlights?|"
    r"unidades|unidad|piezas|peças|pecas|conjuntos|stück|stk|stueck|pezzi|pz|"
    r"pièces|unités|stuks|sztuk|szt|adet|cái|chiếc|bộ|buah|unit|biji|set|"
    r"pairs?|pares|paires|paar|dozens?|yards?|yds|tons?|tonnes?|MT|sqm|m2|m²|bales?|bags?|boxes|"
    r"sheets?|drums?|crates?|cajas|caixas|kartons?|kolis?|stuk|par|takım|cuộn|tấm|thùng|lembar|kpl|komplet(?:y|ów)?|"
    r"шт|штук|единиц|пар|قطعة|قطع|وحدة|حبة|كرتون|زوج"
)
_UNITS_CJK = (
    r"个|個|件|台|套|只|支|盏|盞|米|把|张|張|条|條|箱|卷|对|對|双|雙|顶|頂|块|塊|片|吨|噸|枚|脚|着|本|"
    r"개|세트|대|장|켤레|ชิ้น|ชุด|ตัว|หลอด|โคม|เมตร|คู่|กล่อง"
)
_QTY_RE = re.compile(
    rf"{_NB}(?P<n>{_NUM})\s?(?:x\s?)?(?=[^\W\d_])(?P<u>(?:{_UNITS_LATIN})(?![\w])|{_UNITS_CJK})",
    re.IGNORECASE,
)
# "600 x 200W", "500 x LED panels", "3 x 40HQ": a count times a thing (not a size: "600 x 600 mm")
_TIMES_RE = re.compile(
    rf"{_NB}(?P<n>\d{{1,3}}(?:[,.]\d{{3}}){{1,3}}|\d{{1,7}})\s?[x×]\s?"
    r"(?:\d{1,6}(?:[.,]\d{1,2})?\s?(?!(?:mm|cm|m|in|inch|ft|x|×|\*)(?![^\W\d_]))[A-Za-z]|[^\W\d_]{2})"
)
_CONTAINER_RE = re.compile(
    r"(?<![\w.])(?<!\d,)(?:(\d{1,3})\s?[x×*]\s?)?(40\s?HQ|40\s?GP|20\s?GP|40\s?HC|20\s?ft|40\s?ft)(?![\w])",
    re.I,
)
_QTY_LABEL_RE = re.compile(
    r"(?:\bMOQ|\bqty|\bquantity|\bquantities|\bcantidad|\bquantidade|\bquantité|\bmenge|\banzahl|"
    r"\bquantità|\bhoeveelheid|\bilość|\bilosc|\bmiktar|\bjumlah|\bkuantiti|số lượng|จำนวน|"
    r"数量|數量|수량|количество|الكمية|كمية)\s?[:：=]?\s?(?:of\s|about\s|approx\.?\s|约|約|~)?(?P<n>"
    + _NUM
    + r")",
    re.IGNORECASE,
)
# a count before one of the team's products: "300 dining chairs", "2.000 LED-Panels"
_COUNT_BEFORE_RE = re.compile(rf"{_NB}(?P<n>{_NUM})\s{{1,3}}(?P<rest>[^\n]{{1,60}})")
_WORD_RE = re.compile(r"[^\W\d_][\w'-]{0,30}")
# A count right after a need ("we need 300 dining chairs", "Wir benötigen 300 Stühle", "需要500把"):
# an order quantity even when the thing is no word of the team's profile.
_NEED_COUNT_RE = re.compile(
    r"(?<![^\W\d_])(?:need|needs|require|requires|required|requirement|order|ordering|purchase|buy|"
    r"looking for|interested in|necesitamos|necesito|requerimos|queremos|precisamos|gostaríamos de|"
    r"benötigen|brauchen|bestellen|suchen|abbiamo bisogno di|avremmo bisogno di|cerchiamo|"
    r"nous avons besoin de|besoin de|commander|recherchons|potrzebujemy|zamówić|szukamy|"
    r"ihtiyacımız var|ihtiyacımız|istiyoruz|sipariş|membutuhkan|butuh|perlu|memerlukan|mencari|cần|mua|"
    r"hebben nodig|zoeken|нужно|нужны|нужен|требуется|закупить|نحتاج|نريد|نطلب|需要|采购|採購|求购|订购|"
    r"必要|필요)"
    r"[^\n.!?]{0,30}?"
    rf"{_NB}(?P<n>{_NUM})\s{{0,3}}(?P<w>[^\W\d_][\w-]{{0,30}})",
    re.IGNORECASE,
)
# Counts written as words before a unit ("one unit of CNC machining center", "dos juegos", "zwei Anlagen").
_WORD_COUNT_RE = re.compile(
    r"(?<![^\W\d_])(?P<n>one|two|three|four|five|six|eight|ten|a single|un|una|uno|dos|tres|cuatro|cinco|"
    r"um|uma|duas|três|ein|eine|einen|zwei|drei|vier|fünf|une|deux|trois|quatre|cinq|due|tre|jeden|"
    r"jedna|dwa|dwie|trzy|bir|iki|üç|satu|dua|tiga|một|hai|ba)\s(?P<u>units?|sets?|pieces?|machines?|"
    r"lines?|unidad(?:es)?|juegos?|equipos?|máquinas?|unidades?|conjuntos?|Stück|Sätze|Satz|Anlagen?|"
    r"Maschinen?|unités?|machines?|pezzi|macchine|sztuk[ai]?|komplet(?:y)?|maszyn[ay]?|adet|takım|"
    r"unit|set|buah|mesin|bộ|chiếc|cái|máy)(?![^\W\d_])",
    re.IGNORECASE,
)
# Measures and money after a number are no count of goods ("need 40 mm", "need 5 kW").
_MEASURE_WORD_RE = re.compile(
    r"(?:mm|cm|m|km|in|inch|inches|ft|kg|g|t|lbs?|w|kw|kva|v|vac|vdc|hp|a|mah|gsm|mic|micron|µm|l|ml|"
    r"bar|psi|rpm|k|x|usd|eur|gbp|rmb|cny|%|pm|am|h|hrs?|min|oz|d|mt|kpl)",
    re.IGNORECASE,
)
# Counted things that are not goods ("2 years", "24 hours", "50 keywords", "100 USD").
NOT_GOODS_RE = re.compile(
    r"(?:days?|weeks?|months?|years?|hours?|minutes?|mins?|seconds?|percent|people|employees|staff|"
    r"customers?|clients?|countries|cities|times|km|miles|usd|eur|gbp|dollars?|euros?|yuan|rmb|"
    r"keywords?|backlinks?|links?|leads?|visitors?|reviews?|followers?|pages?|articles?|posts?|"
    r"distributors?|partners?|suppliers?|manufacturers?|factories|vendors?|agents?|dealers?|companies|"
    r"stores?|shops?|branches|outlets|locations|projects?|samples?|colou?rs|sizes|models|designs|styles|"
    r"options|quotes|quotations|offers|pictures|photos|catalog(?:ue)?s|muestras|amostras|muster|"
    r"d[ií]as|semanas|meses|años|anos|jours|semaines|mois|ans|tage|wochen|monate|jahre|giorni|mesi|"
    r"anni|dni|lat|gün|hafta|ay|yıl|hari|minggu|bulan|tahun|ngày|tuần|tháng|năm)",
    re.IGNORECASE,
)

_CURRENCY_SIGN = r"US\$|S\$|R\$|\$|€|£|¥|₫|฿|₹|₱|₺|₽|₩"
_CURRENCY_CODE = (
    r"USD|EUR|GBP|RMB|CNY|MYR|IDR|VND|THB|AED|SAR|INR|PHP|SGD|MXN|BRL|TRY|PLN|RUB|KRW|JPY|CHF|AUD|CAD|"
    r"HKD|NZD|ZAR|EGP|NGN|KES|PKR|BDT|TL|RM|Rp|zł|руб|euros?|dollars?|dólares|dolares|reais|lira|złotych"
)
_CURRENCY_AFTER = r"元|円|đ|บาท|درهم|ريال|دولار|юаней|евро|долларов"
_AMOUNT = r"\d{1,3}(?:[,.\s’']\d{3}){1,4}(?:[.,]\d{1,2})?(?![\d])|\d{1,9}(?:[.,]\d{1,4})?(?![\d])"
_SCALE = r"(?:\s?(?:[kKmM]|mil|million|millones|milhões|Mio\.?|万|萬|千|억|만)(?![^\W\d_]))?"
_PER = r"(?:\s?(?:/|per|each|a|la|le|pro|je|por|al|cada|za|başına|mỗi|每)\s?[^\W\d_]{1,12}(?![^\W\d_]))?"
_PRICE_RE = re.compile(
    rf"(?=[$€£¥₫฿₹₱₺₽₩A-Za-zр])(?:(?:{_CURRENCY_SIGN})|(?<![^\W\d_])(?:{_CURRENCY_CODE})(?![^\W\d_]))"
    rf"\s?(?:{_AMOUNT}){_SCALE}{_PER}"
    rf"|{_NB}(?:{_AMOUNT}){_SCALE}\s?(?:(?:{_CURRENCY_SIGN}|{_CURRENCY_AFTER})"
    rf"|(?:{_CURRENCY_CODE})(?![^\W\d_])){_PER}",
    re.IGNORECASE,
)
_TARGET_PRICE_WORDS = re.compile(
    r"target price|budget|price target|precio objetivo|presupuesto|preço alvo|orçamento de|"
    r"prix cible|budget de|zielpreis|budget von|prezzo obiettivo|doelprijs|cena docelowa|hedef fiyat|"
    r"harga target|harga sasaran|giá mục tiêu|ngân sách|ราคาเป้าหมาย|งบประมาณ|目标价|目標價|预算|預算|"
    r"目標価格|予算|목표가|예산|целевая цена|бюджет|السعر المستهدف|الميزانية|bütçe|anggaran|orçamento",
    re.IGNORECASE,
)
_BUDGET_RE = re.compile(
    r"budget|in total|total|insgesamt|gesamt|en total|no total|au total|in totale|łącznie|toplam|"
    r"tổng|总共|總共|总价|總價|合计|合計|presupuesto|orçamento|bütçe|anggaran|ngân sách|бюджет|الميزانية",
    re.IGNORECASE,
)
_INCOTERMS_RE = re.compile(
    r"\b(FOB|CIF|CFR|CNF|EXW|DDP|DAP|FCA|CIP|CPT|DPU)\b(?:\s{1,3}(?:port\s(?:of\s)?)?"
    r"([^\W\d_]{2,30}(?:\s[^\W\d_]{2,30})?))?"
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t|tember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|juni|juli|oktober|dezember|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    r"janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    r"janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"ocak|şubat|mart|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım|aralık|"
    r"stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia"
)
_DELIVERY_RE = re.compile(
    r"deliver(?:y|ed)?\s(?:date\s)?(?:by|before|in|within|until|on)\s\w{1,20}|lead time|"
    r"(?:ship(?:ped|ment)?|arriv(?:e|al)|ETA|need(?:ed)? (?:them|it|the goods|delivery))\s"
    r"(?:by|before|in|within|until|no later than|not later than)\s(?:the\s)?(?:end of\s)?\w{1,12}|"
    rf"\b(?:before|by|until|no later than)\s(?:the\s)?(?:end of\s|mid[- ])?(?:\d{{1,2}}(?:st|nd|rd|th)?\s)?"
    rf"(?:{_MONTHS})\b|"
    r"\b(?:by|before)\s(?:week\s\d{1,2}|Q[1-4]|\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?|20\d\d-\d\d-\d\d)|"
    r"within \d{1,3} (?:days|weeks)|fecha de entrega|plazo de entrega|entrega en|entrega antes|"
    r"prazo de entrega|entrega até|entrega em|délai de livraison|livraison avant|livraison d'ici|"
    r"liefertermin|lieferzeit|lieferung bis|liefern bis|bis (?:Ende|spätestens|KW)|\bKW\s?\d{1,2}\b|"
    r"tempi di consegna|consegna entro|levertijd|termin dostawy|dostawa do|dostawy do|teslim tarihi|"
    r"teslimat|teslim|waktu pengiriman|pengiriman sebelum|dikirim sebelum|penghantaran|"
    r"thời gian giao hàng|giao hàng trước|giao hàng vào|กำหนดส่ง|ส่งภายใน|交货期|交期|交貨|月底前|"
    r"前交货|納期|납기|срок поставки|поставка до|موعد التسليم|التسليم خلال|التسليم قبل|قبل نهاية",
    re.IGNORECASE,
)
# Specs any industry writes. The team's own specs (CCT, wattage, GSM...) come from its profile.
_SPEC_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "model",
        re.compile(
            r"\b(?!IP\d|(?:USD|EUR|GBP|RMB|CNY|HQ|GP|HC|KW|Q)\d)(?=[A-Z0-9-]{0,12}\d)(?=[A-Z0-9-]{0,12}[A-Z]{2})"
            r"[A-Z]{1,5}-?\d{2,5}[A-Z]{0,3}\b"
        ),
    ),
    (
        "part number",
        re.compile(
            r"(?<![^\W\d_])(?:part|model|item|art(?:icle|ikel)?|ref(?:erence)?|OEM|OE|SKU|P/N|PN|"
            r"modelo|código|codigo|kod|parça|numer|Teilenummer|Artikelnummer)(?![^\W\d_])"
            r"\.?[\s-]?(?:no\.?|nr\.?|number|numbers|#|n[º°o]\.?|numara(?:sı)?)?\s?[:：#]?\s?"
            r"(?=[A-Z0-9./-]{0,24}\d)[A-Z0-9][A-Z0-9./-]{2,24}|(?:型号|型號|品番|料号)\s?[:：]?\s?[A-Z0-9][A-Z0-9./-]{1,24}",
            re.IGNORECASE,
        ),
    ),
    (
        "size",
        re.compile(
            r"(?<![\w.])(?<!\d,)(?:\d{1,4}(?:[.,]\d{1,2})?\s?[x×*]\s?\d{1,4}(?:[.,]\d{1,2})?"
            r"(?:\s?[x×*]\s?\d{1,4}(?:[.,]\d{1,2})?)?\s?(?:mm|cm|m|in|inch|ft|\"|″)(?![^\W\d_])"
            r"|\d{2,4}\s?[x×*]\s?\d{2,4}(?:\s?[x×*]\s?\d{1,4})?(?![\w.,]))"
        ),
    ),
    (
        "measure",
        re.compile(
            r"(?<![\w.])(?<!\d,)\d{1,4}(?:[.,]\d{1,3})?\s?(?:mm|cm|µm|μm|microns?|mic|gsm|g/m2|g/m²|denier|kg/m3|"
            r"kN|psi|rpm|t/h|kg/h|BPH|bph|m3/h|L/min)(?![^\W\d_])"
        ),
    ),
    ("power", re.compile(r"(?<![\w.])(?<!\d,)\d{1,4}(?:[.,]\d{1,2})?\s?(?:kW|kVA|HP|hp)(?![^\W\d_])")),
    ("voltage", re.compile(r"(?<![\w.])(?<!\d,)(?:AC|DC)?\s?\d{2,3}(?:-\d{2,3})?\s?V(?:AC|DC)?(?![^\W\d_])")),
    (
        "material",
        re.compile(
            r"(?<![^\W\d_])(?=[^\W\d_])(?:stainless steel|carbon steel|galvani[sz]ed(?: steel)?|"
            r"aluminium|aluminum|cast iron|brass|copper|solid wood|solid oak|oak|walnut|teak|beech|"
            r"ash wood|pine|plywood|"
            r"(?-i:MDF|HPL)|marble|tempered glass|rattan|PU leather|genuine leather|velvet|boucl[eé]|cotton|"
            r"polyester|linen|viscose|nylon|spandex|elastane|wool|denim|jersey|fleece|kraft paper|"
            r"corrugated|cardboard|(?-i:HDPE|LDPE|BOPP|PET|PVC|ABS|PP|PE|EVA)|silicone|rubber|"
            r"Edelstahl|Eiche|Buche|Nussbaum|Massivholz|Aluminium|Baumwolle|Leinen|Leder|"
            r"acero inoxidable|madera maciza|roble|nogal|algodón|algodão|aço inox(?:idável)?|madeira maciça|"
            r"carvalho|couro|cuero|acciaio inox|legno massello|rovere|cotone|lino|pelle|"
            r"stal nierdzewna|dąb|bawełna|paslanmaz çelik|pamuk|keten|deri|kayu jati|kayu solid|katun|"
            r"thép không gỉ|gỗ sồi|gỗ tự nhiên|bông|giấy kraft|nhựa PP|"
            r"不锈钢|不鏽鋼|实木|實木|橡木|棉|涤纶|牛皮纸|瓦楞|фанера|нержавеющ|хлопок|فولاذ مقاوم|خشب)"
            r"(?![^\W\d_])",
            re.IGNORECASE,
        ),
    ),
    (
        "grade",
        re.compile(
            r"(?<![\w])(?:(?:SS|SUS|AISI)\s?\d{3}L?|Q[23]\d5[A-E]?|\d{4}-T\d{1,2}|(?:ASTM|DIN|ISO|EN|JIS|"
            r"GB/T|BS|ANSI|SAE|API)\s?[A-Z]?\d{2,6}(?:-\d{1,3})?|class\s?\d{1,2}\.\d|grade\s?[A-Z0-9]{1,4}|"
            r"food[- ]grade|Oeko-?Tex(?:\s?100)?|GOTS|FSC|E[01]|CARB P2|\d{2,3}\s?/\s?\d{1,2}\s?(?:Ne|Nm)|"
            r"Ne\s?\d{1,3}(?:/\d)?)(?![\w])",
            re.IGNORECASE,
        ),
    ),
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
# Word-bounded (a short ending allowed): "tesi" must not fire inside Turkish "tesisimiz" (our plant),
# nor Arabic "بحث" inside "نبحث" (we are looking for).
_INFO_ONLY_RE = re.compile(
    r"(?<![^\W\d_])(?:just curious|curious|student|university|thesis|school project|homework|"
    r"class project|research|for my blog|blogger|writing an article|survey|just wondering|for fun|hobby|"
    r"personal use|estudiante|universidad|tesis|curiosidad|estudante|faculdade|étudiant|université|mémoire|"
    r"student(?:in)?|studium|abschlussarbeit|studente|università|tesi|studenci|praca dyplomowa|"
    r"öğrenci|üniversite|mahasiswa|pelajar|skripsi|sinh viên|luận văn|tò mò|студент|исследован)"
    r"[^\W\d_]{0,3}(?![^\W\d_])|"
    r"(?<![^\W\d_])(?:ال)?(?:طالب|جامعة)(?![^\W\d_])|بحث علمي|أطروحة|"
    r"นักศึกษา|学生|論文|研究|好奇|학생|연구",
    re.IGNORECASE,
)
_COMPANY_SUFFIX_RE = re.compile(
    r"\b(?:GmbH|AG|Ltd\.?|Limited|LLC|Inc\.?|Corp\.?|S\.?A\.?(?: de C\.?V\.?)?|S\.?L\.?|S\.?r\.?l\.?|"
    r"S\.?p\.?A\.?|B\.?V\.?|N\.?V\.?|Sp\. z o\.o\.|A\.Ş\.|Sdn\.? Bhd\.?|Bhd|PT|CV|JSC|Co\.,? Ltd|"
    r"Pty|LLP|SARL|SAS|Oy|AB|ApS|K\.K\.|株式会社|有限公司|Công ty|บริษัท|ООО|شركة)(?!\w)"
)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DIGITS)


_ONE = frozenset(
    ("a single", "one", "un", "una", "uno", "um", "uma", "ein", "eine", "einen", "une", "jeden", "jedna")
) | {"bir", "satu", "một"}
_SHORT_UNITS = frozenset(("lights", "panels", "lamps", "fixtures", "floodlights", "set", "unit"))


def _value(number: str) -> float:
    """The size of a written number ("2,000" 2000, "1.500" 1500, "5万" 50000, "12k" 12000, "3.5" 3.5)."""
    s = number.strip()
    scale = 1.0
    if s[-1:] in ("k", "K", "千", "천"):
        scale, s = 1_000.0, s[:-1].strip()
    elif s[-1:] in ("万", "萬", "만"):
        scale, s = 10_000.0, s[:-1].strip()
    if re.fullmatch(r"\d{1,3}(?:[,.\s’']\d{3})+", s):
        return float(re.sub(r"\D", "", s)) * scale
    m = re.match(r"\d{1,12}(?:[.,]\d{1,6})?", s)
    return float(m.group(0).replace(",", ".")) * scale if m else 0.0


def grade_text(email: ParsedEmail) -> str:
    """The normalised subject and new text the tier rules read (the risk signals read the same,
    so :func:`find_quantity`'s cache serves both)."""
    body = _norm((email.new_text or email.text or "")[:SCAN_CHARS])
    subject = _norm((email.subject or "")[:500])
    return f"{subject}\n{body}"


@functools.lru_cache(maxsize=8)
def find_quantity(text: str, profile: ProductProfile = EMPTY_PROFILE) -> str | None:
    """The first order quantity in ``text`` ("2,000 pcs", "1x40HQ", "MOQ 500", "600 x", "5万 个",
    "300 dining chairs" when "chair" is one of the team's products), or None."""
    text = text[:SCAN_CHARS]
    for m in _QTY_RE.finditer(text):
        n, unit = m.group("n"), m.group("u")
        if _plausible(n, unit) and (
            _value(n) >= 10
            or unit.lower() not in _SHORT_UNITS
            or profile.product_in(text[m.end() : m.end() + 40])
        ):
            return f"{n.strip()} {unit}"
    for w in _WORD_COUNT_RE.finditer(text):
        single = w.group("n").lower() in _ONE
        if not single or profile.product_in(text[w.end() : w.end() + 50]):
            return f"{w.group('n')} {w.group('u')}"
    c = _CONTAINER_RE.search(text)
    if c:
        return c.group(0).strip()
    for t in _TIMES_RE.finditer(text):
        if _value(t.group("n")) >= 2 and _plausible(t.group("n"), "x"):
            return f"{t.group('n')} x"
    lab = _QTY_LABEL_RE.search(text)
    if lab and _plausible(lab.group("n"), ""):
        return lab.group(0).strip()
    for nc in _NEED_COUNT_RE.finditer(text):
        n, word = nc.group("n"), nc.group("w")
        if (
            _value(n) >= 2
            and _plausible(n, "")
            and not NOT_GOODS_RE.fullmatch(word)
            and not _MEASURE_WORD_RE.fullmatch(word)
        ):
            return f"{n.strip()} {word}"
    if not profile.empty:
        for cb in _COUNT_BEFORE_RE.finditer(text):
            words = _WORD_RE.findall(cb.group("rest"))[:3]
            if not words or NOT_GOODS_RE.fullmatch(words[0]):
                continue
            for i in range(len(words)):
                if profile.product_in(" ".join(words[: i + 1])):
                    if _value(cb.group("n")) >= 2 and _plausible(cb.group("n"), "x"):
                        return f"{cb.group('n').strip()} {' '.join(words[: i + 1])}"
                    break
    return None


def _plausible(number: str, unit: str) -> bool:
    digits = re.sub(r"\D", "", number)
    if not digits:
        return False
    if unit.lower() in _SHORT_UNITS and len(digits) < 2:
        return False  # "2 lights" is talk, not an order quantity (unless one of our products follows)
    return not (len(digits) == 4 and digits.startswith(("19", "20")) and unit in ("", "x"))


def _price(text: str) -> str | None:
    """'target price: USD 3.5', or 'budget: GBP 32,000' when a budget/total word is near the amount."""
    for m in _PRICE_RE.finditer(text):
        amount = m.group(0).strip()
        if not re.search(r"\d", amount):
            continue
        near = text[max(0, m.start() - 40) : m.end() + 25]
        return f"{'budget' if _BUDGET_RE.search(near) else 'target price'}: {amount}"
    return None


def grade(
    email: ParsedEmail, language: str | None = None, profile: ProductProfile = EMPTY_PROFILE
) -> tuple[Tier, list[str]]:
    """Tier and reasons for an inquiry. ``language`` is accepted for callers and future rules;
    ``profile`` adds the team's product words (quantities of them) and spec patterns."""
    text = grade_text(email)
    body = text.split("\n", 1)[1]
    signature = _norm((email.signature or "")[:2000])
    reasons: list[str] = []

    qty = find_quantity(text, profile)
    precision: list[str] = []
    inc = _INCOTERMS_RE.search(text)
    if inc:
        port = [w for w in (inc.group(2) or "").split() if w[:1].isupper()]
        port = port if len(port) == len((inc.group(2) or "").split()) else port[:1]
        precision.append(f"Incoterms: {inc.group(1)}" + (f" {' '.join(port)}" if port else ""))
    tp = _TARGET_PRICE_WORDS.search(text)
    price = _price(text)
    if price:
        precision.append(price)
    elif tp:
        precision.append(f"target price mentioned: {tp.group(0)}")
    dl = _DELIVERY_RE.search(text)
    if dl:
        precision.append(f"delivery: {dl.group(0)}")
    specs = profile.specs_in(text)
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
