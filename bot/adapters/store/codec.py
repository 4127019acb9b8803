"""Turn domain objects into JSON-safe dicts for TinyDB and back.

Datetimes become ISO-8601 strings in UTC; enums their values. ``inquiry_from_doc``
accepts documents written by older versions (missing keys take defaults).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.models import (
    Attachment,
    Category,
    Event,
    Inquiry,
    Lane,
    Market,
    MessageRecord,
    Risk,
    RiskSignal,
    Status,
    Tier,
    Triage,
    Warning,
)


def dt_to_str(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def str_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _req_dt(value: Any) -> datetime:
    dt = str_to_dt(value)
    return dt if dt is not None else datetime.fromtimestamp(0, UTC)


def triage_to_doc(t: Triage) -> dict[str, Any]:
    return {
        "is_inquiry": t.is_inquiry,
        "category": t.category.value,
        "reason": t.reason,
        "language": t.language,
        "country": t.country,
        "market": t.market.value,
        "tier": t.tier.value if t.tier else None,
        "sla_hours": t.sla_hours,
        "reasons": list(t.reasons),
        "company": t.company,
        "warnings": [{"code": w.code, "detail": w.detail} for w in t.warnings],
        "lane": t.lane.value,
        "risk": risk_to_doc(t.risk),
    }


def risk_to_doc(r: Risk) -> dict[str, Any]:
    """``{"score": 4.5, "signals": [{"name": ..., "weight": ..., "evidence": ...}]}``."""
    return {
        "score": r.score,
        "signals": [{"name": s.name, "weight": s.weight, "evidence": s.evidence} for s in r.signals],
    }


def risk_from_doc(d: dict[str, Any] | None) -> Risk:
    d = d or {}
    return Risk(
        score=float(d.get("score", 0.0)),
        signals=tuple(
            RiskSignal(str(s.get("name", "")), float(s.get("weight", 0.0)), str(s.get("evidence", "")))
            for s in d.get("signals", ())
        ),
    )


def triage_from_doc(d: dict[str, Any]) -> Triage:
    is_inquiry = bool(d.get("is_inquiry", True))
    return Triage(
        is_inquiry=is_inquiry,
        category=Category(d.get("category", "inquiry")),
        reason=str(d.get("reason", "")),
        language=str(d.get("language", "und")),
        country=d.get("country"),
        market=Market(d.get("market", "OTHER")),
        tier=Tier(d["tier"]) if d.get("tier") else None,
        sla_hours=float(d.get("sla_hours", 8.0)),
        reasons=tuple(d.get("reasons", ())),
        company=d.get("company"),
        warnings=tuple(Warning(w["code"], w.get("detail", "")) for w in d.get("warnings", ())),
        lane=Lane(d.get("lane") or (Lane.INQUIRY if is_inquiry else Lane.FILTERED)),
        risk=risk_from_doc(d.get("risk")),
    )


def _att_to_doc(a: Attachment) -> dict[str, Any]:
    return {"filename": a.filename, "content_type": a.content_type, "size": a.size}


def _att_from_doc(d: dict[str, Any]) -> Attachment:
    return Attachment(str(d.get("filename", "")), str(d.get("content_type", "")), int(d.get("size", 0)))


def message_to_doc(m: MessageRecord) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "direction": m.direction,
        "received_at": dt_to_str(m.received_at),
        "from_addr": m.from_addr,
        "subject": m.subject,
        "new_text": m.new_text,
        "attachments": [_att_to_doc(a) for a in m.attachments],
        "defects": list(m.defects),
        "folder": m.folder,
        "uid": m.uid,
        "slack_ts": m.slack_ts,
    }


def message_from_doc(d: dict[str, Any]) -> MessageRecord:
    return MessageRecord(
        message_id=str(d["message_id"]),
        direction=str(d.get("direction", "in")),
        received_at=_req_dt(d.get("received_at")),
        from_addr=str(d.get("from_addr", "")),
        subject=str(d.get("subject", "")),
        new_text=str(d.get("new_text", "")),
        attachments=tuple(_att_from_doc(a) for a in d.get("attachments", ())),
        defects=tuple(d.get("defects", ())),
        folder=str(d.get("folder", "INBOX")),
        uid=d.get("uid"),
        slack_ts=d.get("slack_ts"),
    )


def event_to_doc(e: Event) -> dict[str, Any]:
    return {"at": dt_to_str(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}


def event_from_doc(d: dict[str, Any]) -> Event:
    return Event(
        _req_dt(d.get("at")), str(d.get("actor", "")), str(d.get("action", "")), str(d.get("detail", ""))
    )


def inquiry_to_doc(inq: Inquiry) -> dict[str, Any]:
    return {
        "id": inq.id,
        "created_at": dt_to_str(inq.created_at),
        "buyer_addr": inq.buyer_addr,
        "buyer_name": inq.buyer_name,
        "subject": inq.subject,
        "subject_key": inq.subject_key,
        "triage": triage_to_doc(inq.triage),
        "status": inq.status.value,
        "owner": inq.owner,
        "tier": inq.tier.value if inq.tier else None,
        "sla_started_at": dt_to_str(inq.sla_started_at),
        "answered_at": dt_to_str(inq.answered_at),
        "first_response_at": dt_to_str(inq.first_response_at),
        "snoozed_until": dt_to_str(inq.snoozed_until),
        "card_ts": inq.card_ts,
        "card_channel": inq.card_channel,
        "messages": [message_to_doc(m) for m in inq.messages],
        "events": [event_to_doc(e) for e in inq.events],
        "pings_sent": list(inq.pings_sent),
        "routed_to": inq.routed_to,
        "extra": dict(inq.extra),
    }


def inquiry_from_doc(d: dict[str, Any]) -> Inquiry:
    return Inquiry(
        id=str(d["id"]),
        created_at=_req_dt(d.get("created_at")),
        buyer_addr=str(d.get("buyer_addr", "")),
        buyer_name=str(d.get("buyer_name", "")),
        subject=str(d.get("subject", "")),
        subject_key=str(d.get("subject_key", "")),
        triage=triage_from_doc(d.get("triage", {})),
        status=Status(d.get("status", "new")),
        owner=d.get("owner"),
        tier=Tier(d["tier"]) if d.get("tier") else None,
        sla_started_at=str_to_dt(d.get("sla_started_at")),
        answered_at=str_to_dt(d.get("answered_at")),
        first_response_at=str_to_dt(d.get("first_response_at")),
        snoozed_until=str_to_dt(d.get("snoozed_until")),
        card_ts=d.get("card_ts"),
        card_channel=d.get("card_channel"),
        messages=tuple(message_from_doc(m) for m in d.get("messages", ())),
        events=tuple(event_from_doc(e) for e in d.get("events", ())),
        pings_sent=tuple(d.get("pings_sent", ())),
        routed_to=d.get("routed_to"),
        extra={str(k): str(v) for k, v in d.get("extra", {}).items()},
    )
