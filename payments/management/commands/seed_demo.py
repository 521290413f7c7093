"""Fill the tables with demo data: ticket types, customers, and orders in every state.

Ids come from a fixed random seed, so running it twice overwrites the same items rather than
adding more. Demo data only: never run it against production (it refuses when STAGE is prod).

It lives in the payments app because it writes orders *and* their payments, and payments is
the app that may import orders (never the reverse: see docs/architecture.md).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.dynamodb import iso_utc, utc_now
from orders.emails import email_mask, email_normalise
from orders.models import (
    CATALOG_ACTIVE,
    Customer,
    FulfillmentAttempt,
    FulfillmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    Ticket,
    TicketType,
)
from orders.phones import phone_e164
from orders.services.customers import customers_first_day_note
from orders.services.fulfillment import ticket_codes_record
from payments.models import Payment, PaymentAttempt, Refund

TICKET_TYPES = [
    # sku, name, description, unit_amount, capacity (None: unlimited), active
    ("ga-2027", "General admission", "Standing, all three days.", 4900, 500, True),
    ("vip-2027", "VIP", "Seated, lounge access, early entry.", 14900, 50, True),
    ("stream-2027", "Livestream", "Watch from home in HD.", 1500, None, True),
    ("early-2027", "Early bird", "Sold out at launch.", 3500, 100, False),
]

CUSTOMERS = [
    ("ada@example.com", "Ada Lovelace", "+44 20 7946 0001"),
    ("grace@example.com", "Grace Hopper", None),
    ("alan@example.com", "Alan Turing", None),
    ("katherine@example.com", "Katherine Johnson", "+1 757 555 0100"),
]

# status, customer index, [(sku, quantity)], refunded amount, disputed, age in hours
ORDERS = [
    (OrderStatus.PENDING_PAYMENT, 0, [("ga-2027", 2)], 0, False, 0.2),
    (OrderStatus.PAID, 1, [("vip-2027", 1)], 0, False, 1),
    (OrderStatus.FULFILLED, 2, [("ga-2027", 1), ("stream-2027", 1)], 0, False, 30),
    (OrderStatus.FULFILLMENT_FAILED, 3, [("ga-2027", 4)], 0, False, 50),
    (OrderStatus.CANCELED, 0, [("vip-2027", 2)], 0, False, 80),
    (OrderStatus.REFUNDED, 1, [("stream-2027", 1)], 1500, False, 120),
    (OrderStatus.PARTIALLY_REFUNDED, 2, [("ga-2027", 2)], 4900, True, 200),
]


class Command(BaseCommand):
    help = "Write demo ticket types, customers and orders in every state (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.STAGE == "prod":
            raise CommandError("refusing to seed demo data into the prod stage")
        rng = random.Random(20261125)  # noqa: S311 - deterministic demo ids, not secrets
        now = utc_now()

        def demo_id(prefix: str) -> str:
            return f"{prefix}_{rng.getrandbits(128):032x}"

        types = {}
        for sku, name, description, amount, capacity, active in TICKET_TYPES:
            ticket_type = TicketType(
                sku=sku,
                name=name,
                description=description,
                unit_amount=amount,
                currency="usd",
                capacity=capacity,
                available=None if capacity is None else capacity - 10,
                active=active,
                catalog_key=CATALOG_ACTIVE if active else None,
                created_at=iso_utc(now - timedelta(days=60)),
                updated_at=iso_utc(now - timedelta(days=1)),
            )
            ticket_type.save(add_version_condition=False)
            types[sku] = ticket_type

        customers = []
        for email, name, phone in CUSTOMERS:
            customer = Customer(
                customer_id=demo_id("cus"),
                email=email_normalise(email),
                name=name,
                phone=phone_e164(phone) if phone else None,
                created_at=iso_utc(now - timedelta(days=30)),
                updated_at=iso_utc(now - timedelta(days=30)),
            )
            customer.save(add_version_condition=False)
            customers.append(customer)
        customers_first_day_note(day=customers[0].created_at[:10])  # the list's bound

        for status, customer_index, lines, refunded, disputed, hours in ORDERS:
            customer = customers[customer_index]
            created = iso_utc(now - timedelta(hours=hours))
            items = [
                OrderItem(
                    sku=sku,
                    name=types[sku].name,
                    quantity=quantity,
                    unit_amount=types[sku].unit_amount,
                    amount=types[sku].unit_amount * quantity,
                )
                for sku, quantity in lines
            ]
            total = sum(item.amount for item in items)
            order_id = demo_id("ord")
            payment_intent_id = demo_id("pi")
            fulfilled = status in {
                OrderStatus.FULFILLED,
                OrderStatus.REFUNDED,
                OrderStatus.PARTIALLY_REFUNDED,
            }
            order = Order(
                order_id=order_id,
                created_at=created,
                customer_id=customer.customer_id,
                customer_email_masked=email_mask(customer.email),
                status=status.value,
                currency="usd",
                total_amount=total,
                items=items,
                payment_intent_id=payment_intent_id,
                refunded_amount=refunded,
                disputed=disputed,
                updated_at=created,
            )
            if fulfilled:
                order.fulfillment_status = FulfillmentStatus.FULFILLED.value
                order.fulfillment_id = demo_id("ful")
                order.tickets = [
                    Ticket(
                        ticket_id=demo_id("tkt"), sku=item.sku, code=f"{rng.getrandbits(32):08X}"
                    )
                    for item in items
                    for _ in range(item.quantity)
                ]
                order.fulfillment_attempts = [
                    FulfillmentAttempt(at=created, outcome="success", detail="201 issued")
                ]
            elif status == OrderStatus.PAID:
                order.fulfillment_status = FulfillmentStatus.PENDING.value
            elif status == OrderStatus.FULFILLMENT_FAILED:
                order.fulfillment_status = FulfillmentStatus.FAILED.value
                order.fulfillment_failure_reason = "vendor answered 422: unknown event"
                order.fulfillment_attempts = [
                    FulfillmentAttempt(at=created, outcome="permanent", detail="422 unknown event")
                ]
            order.save(add_version_condition=False)
            if order.tickets:  # so the admin's search finds them by code
                ticket_codes_record(order_id=order_id, tickets=list(order.tickets))

            payment_status = {
                OrderStatus.PENDING_PAYMENT: "requires_payment_method",
                OrderStatus.CANCELED: "canceled",
            }.get(status, "succeeded")
            Payment(
                payment_id=payment_intent_id,
                created_at=created,
                order_id=order_id,
                status=payment_status,
                amount=total,
                currency="usd",
                amount_refunded=refunded,
                charge_id=None if payment_status != "succeeded" else demo_id("ch"),
                disputed=disputed,
                attempts=[PaymentAttempt(at=created, status=payment_status)],
                refunds=[
                    Refund(
                        refund_id=demo_id("re"),
                        amount=refunded,
                        status="succeeded",
                        created_at=created,
                    )
                ]
                if refunded
                else [],
                updated_at=created,
            ).save(add_version_condition=False)

        self.stdout.write(
            f"seeded {len(TICKET_TYPES)} ticket types, {len(CUSTOMERS)} customers, {len(ORDERS)} orders"
        )
