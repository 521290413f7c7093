"""``python manage.py restore_check``: counts and invariants of the tables of this
``STAGE`` (``TABLE_PREFIX``), read as they are. Run by ``restore_tables`` on a restored copy
before anything is switched or copied back (docs/runbook.md, "Restore a table"); also on the
live tables, to compare.

MAINTENANCE ONLY: it Scans every table (the role has no ``dynamodb:Scan``; an operator's
credentials, from the operator's machine, on the restored copies).

Checked, each broken one a line:
- seats: for every limited ticket type, seats in orders not canceled + seats left = capacity
  (sharded types summed over their shards, as the storefront sees them); no canceled order
  still holds seats;
- orders and payments: every order paid or later has its payment, with the order's id and a
  ``succeeded`` status; every succeeded payment belongs to an order that has it as its
  PaymentIntent and is paid or later (or canceled: paid after expiry, flagged for a refund);
- counts: items per table (printed; a restore that lost a table's items shows 0).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.dynamodb import registered_models
from orders.models import Order, OrderStatus, TicketType
from orders.services.seats import seats_fill
from payments.models import Payment

PAID_OR_LATER = {
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.FULFILLMENT_FAILED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
}


def table_counts() -> dict[str, int]:
    """Items per table, by a counting Scan of each (consistent; DescribeTable's ItemCount is
    refreshed only every six hours)."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    counts = {}
    for model in registered_models():
        name = model.Meta.table_name
        total, start = 0, None
        while True:
            kwargs: dict[str, Any] = {"TableName": name, "Select": "COUNT", "ConsistentRead": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = dynamodb.scan(**kwargs)
            total += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        counts[name.removeprefix(settings.TABLE_PREFIX)] = total
    return counts


def invariant_problems() -> list[str]:
    problems: list[str] = []
    orders = list(Order.scan(consistent_read=True))
    payments = list(Payment.scan(consistent_read=True))
    ticket_types = list(TicketType.scan(consistent_read=True))
    seats_fill(ticket_types=ticket_types)

    in_orders: Counter[str] = Counter()
    for order in orders:
        if order.status == OrderStatus.CANCELED:
            if order.seats_held:
                problems.append(f"{order.order_id}: canceled but still holding seats")
            continue
        for item in order.items:
            if item.reserved:
                in_orders[item.sku] += int(item.quantity)
    for ticket_type in ticket_types:
        if ticket_type.capacity is None:
            continue
        left = ticket_type.available
        if (
            left is None
            or left < 0
            or in_orders[ticket_type.sku] + left != int(ticket_type.capacity)
        ):
            problems.append(
                f"seats of {ticket_type.sku}: {in_orders[ticket_type.sku]} in orders + {left} left "
                f"!= capacity {ticket_type.capacity}"
            )

    payment_of = {p.payment_id: p for p in payments}
    order_of = {o.order_id: o for o in orders}
    for order in orders:
        if order.status not in PAID_OR_LATER:
            continue
        payment = payment_of.get(order.payment_intent_id or "")
        if payment is None:
            problems.append(
                f"{order.order_id}: {order.status} without its payment {order.payment_intent_id}"
            )
        elif payment.order_id != order.order_id or payment.status != "succeeded":
            problems.append(
                f"{order.order_id}: its payment {payment.payment_id} is {payment.status} "
                f"for order {payment.order_id}"
            )
    for payment in payments:
        if payment.status != "succeeded":
            continue
        order = order_of.get(payment.order_id)
        if order is None:
            problems.append(
                f"payment {payment.payment_id}: succeeded for a missing order {payment.order_id}"
            )
        elif order.payment_intent_id != payment.payment_id:
            problems.append(
                f"payment {payment.payment_id}: its order {order.order_id} names {order.payment_intent_id}"
            )
        elif order.status not in PAID_OR_LATER and order.status != OrderStatus.CANCELED:
            problems.append(f"payment {payment.payment_id}: succeeded, its order is {order.status}")
    return problems


class Command(BaseCommand):
    help = "Counts and invariants (seats, orders and payments) of this stage's tables (Scans)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON object on stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = table_counts()
        problems = invariant_problems()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"prefix": settings.TABLE_PREFIX, "counts": counts, "problems": problems}
                )
            )
        else:
            self.stdout.write(
                f"tables {settings.TABLE_PREFIX}*: "
                + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            )
            for problem in problems:
                self.stdout.write(f"PROBLEM {problem}")
            self.stdout.write("invariants hold" if not problems else f"{len(problems)} problems")
        if problems:
            raise CommandError(f"{len(problems)} invariants broken")
