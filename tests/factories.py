"""Test data written straight to the tables (set-up, not mocks): ticket types to sell."""

from __future__ import annotations

from orders.models import CATALOG_ACTIVE, TicketType
from tickets.dynamodb import utc_now_iso


def ticket_type_create(
    sku: str = "ga",
    *,
    unit_amount: int = 5000,
    available: int | None = 100,
    active: bool = True,
    currency: str = "usd",
    name: str | None = None,
) -> TicketType:
    now = utc_now_iso()
    ticket_type = TicketType(
        sku=sku,
        name=name or sku.upper(),
        description=f"{sku} tickets",
        unit_amount=unit_amount,
        currency=currency,
        capacity=available,
        available=available,
        active=active,
        catalog_key=CATALOG_ACTIVE if active else None,
        created_at=now,
        updated_at=now,
    )
    ticket_type.save()
    return ticket_type


def order_body(email: str = "buyer@example.com", items: list | None = None, **customer) -> dict:
    return {
        "customer": {"email": email, "name": "Buyer", **customer},
        "items": items if items is not None else [{"sku": "ga", "quantity": 2}],
    }
