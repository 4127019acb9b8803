"""Builders for Inquiry objects in tests (the store, desk and delivery tests share them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.core.models import Category, Inquiry, Market, MessageRecord, Status, Tier, Triage

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def make_triage(**overrides: Any) -> Triage:
    base = Triage(
        is_inquiry=True,
        category=Category.INQUIRY,
        reason="buyer inquiry",
        language="de",
        country="DE",
        market=Market.EU,
        tier=Tier.A,
        sla_hours=8.0,
        reasons=("quantity: 2,000 pcs", "ccTLD .de"),
        company="Licht GmbH",
    )
    return replace(base, **overrides)


def make_inquiry(inq_id: str = "1", **overrides: Any) -> Inquiry:
    created = overrides.pop("created_at", T0)
    message = MessageRecord(
        message_id=f"<m{inq_id}@buyer.de>",
        direction="in",
        received_at=created,
        from_addr="anna@licht.de",
        subject="LED panels 600x600",
        new_text="We need 2,000 pcs of 600x600 panels, FOB Shenzhen, target USD 9.",
    )
    base = Inquiry(
        id=inq_id,
        created_at=created,
        buyer_addr="anna@licht.de",
        buyer_name="Anna Schmidt",
        subject="LED panels 600x600",
        subject_key="led panels 600x600",
        triage=make_triage(),
        status=Status.NEW,
        tier=Tier.A,
        sla_started_at=created,
        messages=(message,),
    )
    return replace(base, **overrides)
