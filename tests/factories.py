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


def paid_order_create(
    *,
    email: str = "buyer@example.com",
    items: list[tuple[str, int]] | None = None,
    status: str = "paid",
):
    """A paid order with its customer, as the payment webhook leaves it."""
    from orders.emails import email_mask
    from orders.models import Customer, Order, OrderItem
    from tickets.dynamodb import new_id

    now = utc_now_iso()
    customer = Customer(
        customer_id=new_id("cus"), email=email, name="Buyer", created_at=now, updated_at=now
    )
    customer.save()
    lines = [
        OrderItem(sku=s, name=s.upper(), quantity=q, unit_amount=1000, amount=1000 * q)
        for s, q in items or [("ga", 2)]
    ]
    order = Order(
        order_id=new_id("ord"),
        created_at=now,
        customer_id=customer.customer_id,
        customer_email_masked=email_mask(email),
        status=status,
        currency="usd",
        total_amount=sum(i.amount for i in lines),
        items=lines,
        payment_intent_id=new_id("pi"),
        updated_at=now,
    )
    order.save()
    return order
