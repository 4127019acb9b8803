"""Header signals: the receiving server's verdict, mass mailing, fake threading, identity.

``header_signals(email, HeaderContext(own_addresses=frozenset({"sales@acme.com"})))`` ->
``[RiskSignal("mass_mailing", 2.0, "undisclosed-recipients"), ...]``.

The receiving server's ``Authentication-Results`` is trusted only when it is the topmost one
and (when the mailbox's provider is known) carries the provider's authserv-id; Microsoft 365
writes none, so for it the topmost header without an authserv-id counts. A header the sender
wrote sits below the provider's and is never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.models import ParsedEmail, RiskSignal
from bot.triage.region import domain_of, is_free_mail, registrable_domain
from bot.triage.signals.text import HEADER_CHARS, body_of, greeting_name, header, short

W_AUTH_FAIL = 3.0
W_AUTH_WEAK = 1.5
W_SPAM_FLAG = 3.0
W_UNDISCLOSED = 2.0
W_NOT_TO_US = 1.0
W_SELF_ADDRESSED = 2.0
W_MAILBOX_GREETING = 2.0
W_FAKE_REPLY = 2.0
W_FAKE_FORWARD = 1.0
W_REPLY_TO_FREE = 3.0
W_REPLY_TO_OTHER = 2.0
W_FREE_MAIL_COMPANY = 1.0
W_NO_SENDER = 3.0
W_ABUSED_TLD = 1.5
W_SERVICE_NAME = 1.5
W_NAME_MISMATCH = 1.0
W_BRAND_IN_NAME = 1.5

MICROSOFT = "microsoft"  # the preset value for Microsoft 365 / Outlook.com (no authserv-id)


@dataclass(frozen=True)
class HeaderContext:
    """``own_addresses``: the mailbox's own addresses; ``authserv_id``: the provider's id
    (``"mx.google.com"``, ``"mx.zohomail.com"``, ``"microsoft"``), None when unknown."""

    own_addresses: frozenset[str] = frozenset()
    own_domains: frozenset[str] = frozenset()
    authserv_id: str | None = None


# --------------------------------------------------------------- server verdict
_RESULT_RE = re.compile(r"\b(dmarc|spf|dkim|compauth)\s*=\s*([a-z]{2,12})", re.I)


def _authserv(value: str) -> str:
    first = value.split(";", 1)[0].strip()
    return "" if "=" in first else first.split()[0].lower() if first else ""


def _ours(sid: str, value: str, authserv_id: str) -> bool:
    """Whether a header with authserv-id ``sid`` was written by the configured provider(s):
    ``AUTHSERV_ID`` is a comma-separated list; ``mx*`` is a prefix; ``microsoft`` means no id
    and a ``compauth=`` result."""
    for wanted in (w.strip().lower() for w in authserv_id.split(",")):
        if not wanted:
            continue
        if wanted == MICROSOFT:
            if not sid and "compauth=" in value.lower():
                return True
        elif wanted.endswith("*"):
            if sid.startswith(wanted[:-1]):
                return True
        elif sid == wanted or sid.endswith("." + wanted):
            return True
    return False


def _trusted_results(email: ParsedEmail, authserv_id: str | None) -> dict[str, str]:
    value = header(email, "authentication-results")[:HEADER_CHARS]
    if not value:
        return {}
    if authserv_id and not _ours(_authserv(value), value, authserv_id):
        return {}
    results: dict[str, str] = {}
    for method, result in _RESULT_RE.findall(value):
        results.setdefault(method.lower(), result.lower())
    return results


def auth_signals(email: ParsedEmail, ctx: HeaderContext) -> list[RiskSignal]:
    out: list[RiskSignal] = []
    res = _trusted_results(email, ctx.authserv_id)
    if res.get("dmarc") == "fail" or res.get("compauth") == "fail":
        which = "compauth" if res.get("compauth") == "fail" else "DMARC"
        out.append(RiskSignal("server_auth_fail", W_AUTH_FAIL, f"{which} failed at the receiving server"))
    elif res.get("spf") in ("fail", "softfail") and res.get("dkim") in ("fail", "none", None):
        out.append(RiskSignal("server_auth_fail", W_AUTH_WEAK, f"SPF {res['spf']}, no valid DKIM"))
    flag = header(email, "x-spam-flag").lower()
    status = header(email, "x-spam-status").lower()
    if flag.startswith("yes") or status.startswith("yes"):
        out.append(RiskSignal("server_spam_verdict", W_SPAM_FLAG, "the mail server marked it as spam"))
    return out


def server_says_forged(email: ParsedEmail, authserv_id: str | None) -> str | None:
    """A one-line reason when the trusted server verdict says the From domain was not
    authenticated (DMARC or compauth failed, or SPF failed with no valid DKIM); else None."""
    res = _trusted_results(email, authserv_id)
    if res.get("dmarc") == "fail":
        return "DMARC failed at our mail server"
    if res.get("compauth") == "fail":
        return "compauth failed at our mail server"
    if res.get("spf") in ("fail", "softfail") and res.get("dkim") != "pass":
        return f"SPF {res['spf']} and no valid DKIM at our mail server"
    return None


# --------------------------------------------------------------- recipients
def _local(addr: str) -> str:
    return addr.split("@", 1)[0].lower()


def recipient_signals(email: ParsedEmail, ctx: HeaderContext) -> list[RiskSignal]:
    out: list[RiskSignal] = []
    to_raw = header(email, "to").lower()
    rcpts = {a.lower() for a in (*email.to, *email.cc) if "@" in a}
    if "undisclosed" in to_raw or (not rcpts and email.from_addr):
        out.append(RiskSignal("mass_mailing", W_UNDISCLOSED, "undisclosed recipients"))
    elif email.from_addr and rcpts and rcpts <= {email.from_addr.lower()}:
        out.append(RiskSignal("mass_mailing", W_SELF_ADDRESSED, "sent to itself, we were Bcc"))
    elif (
        ctx.own_addresses
        and rcpts
        and not rcpts & {a.lower() for a in ctx.own_addresses}
        and not _mentions_own_domain(rcpts, ctx.own_domains)
    ):
        out.append(RiskSignal("not_addressed_to_us", W_NOT_TO_US, "our address only in Bcc"))
    name = greeting_name(body_of(email))
    if name:
        greeted = name.lower().strip(" .")
        locals_ = {_local(a) for a in (*rcpts, *ctx.own_addresses)} | rcpts | set(ctx.own_addresses)
        generic = re.fullmatch(
            r"(?:email id owner|e-?mail (?:owner|user)|account (?:holder|owner)|(?:valued |"
            r"\w+ )?(?:user|customer|"
            r"member|client))",
            greeted,
        )
        if greeted in locals_ or generic:
            out.append(RiskSignal("mailbox_greeting", W_MAILBOX_GREETING, f"greets {short(name, 30)!r}"))
            return out
    subject = (email.subject or "")[:300].lower()
    for addr in sorted(rcpts | set(ctx.own_addresses)):
        local = _local(addr)
        if addr in subject or (len(local) >= 6 and re.search(r"[-._\d]", local) and local in subject):
            out.append(
                RiskSignal("mailbox_greeting", W_MAILBOX_GREETING, f"subject names the mailbox {local!r}")
            )
            break
    return out


def _mentions_own_domain(rcpts: set[str], own_domains: frozenset[str]) -> bool:
    return any(domain_of(a) in own_domains for a in rcpts)


# --------------------------------------------------------------- threading
_REPLY_PREFIX_RE = re.compile(r"^\s*(?:re|aw|sv|vs|antw|odp|rv|ynt|回复|回覆|答复|返信)\s*[:：]", re.I)
_FWD_PREFIX_RE = re.compile(r"^\s*(?:fw|fwd|wg|tr|rv|enc|i|转发|轉寄|転送)\s*[:：]", re.I)


def thread_signals(email: ParsedEmail) -> list[RiskSignal]:
    if email.in_reply_to or email.references:
        return []
    subject = (email.subject or "")[:200]
    if _REPLY_PREFIX_RE.match(subject):
        return [RiskSignal("fake_reply", W_FAKE_REPLY, f"{short(subject, 40)!r} answers nothing we sent")]
    if _FWD_PREFIX_RE.match(subject):
        return [RiskSignal("fake_reply", W_FAKE_FORWARD, f"{short(subject, 40)!r} forwards from nowhere")]
    return []


# --------------------------------------------------------------- identity
_COMPANY_WORDS_RE = re.compile(
    r"\b(?:ltd|limited|llc|inc|corp|corporation|gmbh|group|company|co\.|plc|s\.?a\.?|srl|bv|"
    r"partners(?:hip)?|stores?|trading|procurement|purchasing|purchase dept|sourcing|supply chain|"
    r"industries|international|enterprises?|holdings?)\b",
    re.I,
)
_SERVICE_NAME_RE = re.compile(
    r"\b(?:no[- ]?reply|support|service|team|account|admin|administrator|billing|security|notification|"
    r"helpdesk|help desk|webmail|mail ?box|it department|postmaster|atendimento|suporte|"
    r"administrador|systemadministrator|системный|администратор|verification|wallet|bank|banco)\b",
    re.I,
)
# Free or near-free TLDs that abuse reports rank highest; common business TLDs (.shop, .store,
# .online...) are left out on purpose: small real buyers use them.
_ABUSED_TLDS = frozenset(
    ["cf", "ga", "gq", "ml", "tk", "top", "xyz", "icu", "buzz", "cyou", "cfd", "sbs", "rest", "bond", "lat"]
)
_BRANDS_RE = re.compile(
    r"\b(?:microsoft|office ?365|outlook|onedrive|sharepoint|google|gmail|apple|icloud|amazon|paypal|"
    r"dhl|fedex|ups|maersk|msc|docusign|adobe|dropbox|wetransfer|netflix|facebook|meta|instagram|"
    r"whatsapp|linkedin|alibaba|made-in-china|global sources|coinbase|binance|tether|"
    r"mercado pago|bradesco|santander|hsbc|citibank|wells fargo|bank of america|chase)\b",
    re.I,
)


def _name_tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[a-z]{3,}", text.lower()) if t not in {"mrs", "the", "and"}}


def identity_signals(email: ParsedEmail, ctx: HeaderContext) -> list[RiskSignal]:
    out: list[RiskSignal] = []
    sender = (email.from_addr or "").lower()
    if not sender:
        out.append(RiskSignal("no_sender", W_NO_SENDER, "no From address"))
        return out
    domain = domain_of(sender)
    if "." not in domain or domain.endswith(".") or len(domain.rsplit(".", 1)[-1]) < 2:
        out.append(RiskSignal("invalid_sender_domain", W_NO_SENDER, f"sender domain {short(domain, 30)!r}"))
    free = is_free_mail(domain)
    reg = registrable_domain(domain)
    name = (email.from_name or "")[:120]

    others = [r.lower() for r in email.reply_to[:5] if r and r.lower() != sender]
    for rt in others:
        rdom = domain_of(rt)
        if registrable_domain(rdom) == reg:
            continue
        if is_free_mail(rdom):
            out.append(
                RiskSignal("reply_to_elsewhere", W_REPLY_TO_FREE, f"Reply-To free mail {short(rt, 40)}")
            )
        else:
            out.append(RiskSignal("reply_to_elsewhere", W_REPLY_TO_OTHER, f"Reply-To another domain {rdom}"))
        break

    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    if tld in _ABUSED_TLDS:
        out.append(RiskSignal("abused_tld", W_ABUSED_TLD, f".{tld} sender domain"))

    if name:
        brand = _BRANDS_RE.search(name)
        if brand and brand.group(0).lower().replace(" ", "") not in reg.replace("-", ""):
            out.append(RiskSignal("brand_impersonation", W_BRAND_IN_NAME, f"{short(name, 40)!r} from {reg}"))
        elif _SERVICE_NAME_RE.search(name) and (free or not _shares_token(name, reg)):
            out.append(RiskSignal("service_name_mismatch", W_SERVICE_NAME, f"{short(name, 40)!r} from {reg}"))
        elif free and _COMPANY_WORDS_RE.search(name):
            out.append(
                RiskSignal(
                    "free_mail_company", W_FREE_MAIL_COMPANY, f"{short(name, 40)!r} writes from {domain}"
                )
            )
        elif free and _personal_name(name) and not _shares_token(name, _local(sender)):
            out.append(
                RiskSignal("name_address_mismatch", W_NAME_MISMATCH, f"{short(name, 30)!r} <{sender}>")
            )
    if free and not any(s.name == "free_mail_company" for s in out) and _signature_claims_company(email):
        out.append(
            RiskSignal("free_mail_company", W_FREE_MAIL_COMPANY, f"signs as a company, writes from {domain}")
        )
    return out


def _shares_token(name: str, other: str) -> bool:
    other = re.sub(r"[^a-z]", "", other.lower())
    return any(t in other for t in _name_tokens(name) if len(t) >= 3)


def _personal_name(name: str) -> bool:
    words = re.findall(r"[A-Za-zÀ-ÿ]{2,}", name)
    return 2 <= len(words) <= 4 and not _COMPANY_WORDS_RE.search(name)


_SIG_COMPANY_RE = re.compile(
    r"(?m)^[^\n]{0,50}\b(?:ltd|limited|llc|inc|corp|gmbh|group|co\.,? ?ltd|plc|srl|trading)\b[^\n]{0,30}$",
    re.I,
)


def _signature_claims_company(email: ParsedEmail) -> bool:
    sig = email.signature or "\n".join(body_of(email).splitlines()[-8:])
    return bool(_SIG_COMPANY_RE.search(sig[:800]))
