"""Attachment and link signals: the payloads lures carry.

Buyers attach drawings, spec sheets and spreadsheets; lures attach HTML credential pages, disk
images, scripts, double extensions and encrypted archives, or say "see attached" and attach
nothing but a file-sharing link.

``attachment_signals(email)`` -> ``[RiskSignal("risky_attachment", 6.0, "PO#198945.html")]``.
"""

from __future__ import annotations

import re

from bot.core.models import Attachment, ParsedEmail, RiskSignal
from bot.triage.signals.text import body_of, lowered_pattern, short, whole_of

W_RISKY = 6.0
W_DOUBLE_EXT = 6.0
W_MACRO = 3.0
W_ARCHIVE = 2.0
W_ENCRYPTED_ARCHIVE = 4.0
W_MISSING = 2.5
W_LINK_ONLY = 3.0
W_DISGUISED = 2.5

# Opened in a browser or executed: never what a buyer sends.
_RISKY_EXT = frozenset(
    [
        "htm",
        "html",
        "shtml",
        "xhtml",
        "mht",
        "mhtml",
        "svg",
        "svgz",
        "hta",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "dmg",
        "exe",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "msi",
        "msix",
        "appx",
        "jar",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "ps1",
        "psm1",
        "lnk",
        "url",
        "reg",
        "cpl",
        "dll",
        "sh",
        "apk",
        "mobileconfig",
        "one",
        "onepkg",
        "library-ms",
        "search-ms",
        "settingcontent-ms",
    ]
)
_MACRO_EXT = frozenset(["xlsm", "xltm", "xlam", "docm", "dotm", "pptm", "potm", "ppam", "sldm"])
_ARCHIVE_EXT = frozenset(
    [
        "zip",
        "rar",
        "7z",
        "gz",
        "tgz",
        "tar",
        "bz2",
        "xz",
        "z",
        "cab",
        "ace",
        "arj",
        "lzh",
        "r00",
        "r01",
        "uue",
        "xxe",
        "zipx",
    ]
)
_DOC_EXT = frozenset(
    [
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "csv",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "rtf",
        "txt",
        "dwg",
        "dxf",
        "step",
        "stp",
        "jpg",
        "jpeg",
        "png",
    ]
)
_HTML_TYPES = ("text/html", "image/svg", "application/xhtml", "application/x-msdownload", "application/hta")
# Names that claim to be business paperwork.
_DOC_CLAIM_RE = re.compile(
    r"invoice|inv[_\-\s#]|payment|remittance|receipt|swift|transfer|slip|p\.?o\.?\b|po[#_\-\s]?\d|"
    r"order|quotation|quote|rfq|tender|bid|statement|contract|b/?l\b|bill[_\-\s]of|shipping|docs?\b",
    re.I,
)

_SEE_ATTACHED_RE = lowered_pattern(
    r"(?:please |kindly )?(?:see|find|check|open|view|review)(?: the)? (?:attached|attachment|enclosed)|"
    r"attached (?:is|are|please find|herewith|file|document|order|po|purchase order|invoice|quotation|"
    r"rfq|specification|list|copy)|as per (?:the )?attached|in the attachment|(?:po|order|invoice) attached|"
    r"anbei|im anhang|beigefügt|ci-joint|ci joint|en pièce jointe|adjunto|adjunta|en el adjunto|"
    r"em anexo|anexad[oa]|in allegato|allegat[oa]|w załączniku|bijgevoegd|in de bijlage|"
    r"\bekte\b|terlampir|lampiran|đính kèm|ที่แนบ|附件|见附件|請見附件|添付|첨부|во вложении|прикреплен|"
    r"مرفق|المرفق",
)
_SHARE_LINK_RE = re.compile(
    r"https?://[^\s)>\]\"']{0,40}(?:onedrive\.live\.com|1drv\.ms|sharepoint\.com|wetransfer\.com|we\.tl|"
    r"dropbox\.com|drive\.google\.com|docs\.google\.com|mega\.nz|box\.com|icloud\.com|"
    r"sendspace\.com|mediafire\.com|docsend\.com|adobe\.com|acrobat|dochub|pdffiller|"
    r"ipfs|r2\.dev|web\.app|firebaseapp\.com|pages\.dev|netlify\.app|glitch\.me|workers\.dev|"
    r"s3\.amazonaws\.com|storage\.googleapis\.com|blob\.core\.windows\.net|notion\.site|canva\.com|"
    r"forms\.office\.com|forms\.gle|jotform|typeform)",
    re.I,
)
_VIEW_DOC_RE = lowered_pattern(
    r"(?:view|download|open|access|review|retrieve)(?: the| your| shared)? "
    r"(?:document|file|invoice|order|po|purchase order|quotation|rfq|pdf|attachment|secure message)s?|"
    r"shared (?:a |the )?(?:file|document|folder) with you|sent you (?:a |some )?(?:file|document)s?|"
    r"click (?:here|below) to (?:view|download|open)",
)
_PASSWORD_RE = lowered_pattern(
    r"password|passcode|kennwort|contraseña|senha|mot de passe|密码|密碼|パスワード"
)


def _ext(name: str) -> str:
    name = name.strip().strip(".").lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _double_extension(name: str) -> bool:
    """``PO.xlsx.htm``, ``invoice.pdf .exe``, ``order..xlsx`` (a dot where a name should be)."""
    base = name.strip().lower()
    if ".." in base:
        return True
    parts = [p.strip() for p in base.split(".")]
    return len(parts) >= 3 and parts[-2] in _DOC_EXT and parts[-1] in (_RISKY_EXT | _ARCHIVE_EXT)


def _one(att: Attachment, text: str) -> RiskSignal | None:
    name = (att.filename or "")[:200]
    ext = _ext(name)
    ctype = (att.content_type or "").lower()
    shown = short(name or ctype, 50)
    if name and _double_extension(name):
        return RiskSignal("risky_attachment", W_DOUBLE_EXT, f"double extension {shown}")
    if ext in _RISKY_EXT or (ctype.startswith(_HTML_TYPES) and name):
        return RiskSignal("risky_attachment", W_RISKY, shown)
    if ext in _MACRO_EXT:
        return RiskSignal("risky_attachment", W_MACRO, f"macro document {shown}")
    if ext in _ARCHIVE_EXT:
        if _PASSWORD_RE.search(text):
            return RiskSignal("risky_attachment", W_ENCRYPTED_ARCHIVE, f"archive with a password {shown}")
        return RiskSignal("risky_attachment", W_ARCHIVE, f"archive {shown}")
    if name and _DOC_CLAIM_RE.search(name) and ext and ext not in _DOC_EXT:
        return RiskSignal("risky_attachment", W_DISGUISED, f"paperwork in an odd format {shown}")
    return None


def attachment_signals(email: ParsedEmail) -> list[RiskSignal]:
    """Risky attachments, "see attached" with nothing attached, a document that is only a link."""
    text = whole_of(email).lower()
    out: list[RiskSignal] = []
    files = [a for a in email.attachments[:50] if not _inline_image(a)]
    for att in files:
        found = _one(att, text)
        if found is not None:
            out.append(found)
    if not files:
        body = body_of(email).lower()
        m = _SEE_ATTACHED_RE.search(text)
        share = _SHARE_LINK_RE.search(body)
        view = _VIEW_DOC_RE.search(text)
        if share and (m or view):
            out.append(RiskSignal("link_only_document", W_LINK_ONLY, short(share.group(0), 60)))
        elif m:
            out.append(RiskSignal("missing_attachment", W_MISSING, f"says {short(m.group(0), 40)!r}"))
        elif view and re.search(r"https?://", body):
            out.append(
                RiskSignal("link_only_document", W_LINK_ONLY - 1.0, f"says {short(view.group(0), 40)!r}")
            )
    return out


def _inline_image(att: Attachment) -> bool:
    """Logos and signature pictures: small images with no paperwork name."""
    ctype = (att.content_type or "").lower()
    name = att.filename or ""
    return ctype.startswith("image/") and att.size < 60_000 and not _DOC_CLAIM_RE.search(name)
