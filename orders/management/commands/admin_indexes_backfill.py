"""``python manage.py admin_indexes_backfill``: give items written before the admin's indexes
existed the attributes those indexes are keyed on.

MAINTENANCE ONLY: this command Scans the orders, customers and ticket-types tables (the one
place a Scan is allowed, per the spec). Run it once after deploying the admin to a stage
that already has data; it is safe to run again (each write is conditional on the attribute
still missing) and it never changes an item's version, so no editor sees a false conflict.

- orders: ``created_day`` (``order-day-index``), ``status_key`` (``order-status-index``)
  and, for disputed orders, ``dispute_flag`` (``order-dispute-index``);
- customers: ``created_day`` (``customer-day-index``), the customers' first day (the
  customer list's bound: ``orders.selectors.customers_oldest_day``), and the search keys
  ``name_bucket`` / ``name_key``, ``surname_bucket`` / ``surname_key``, ``email_bucket`` (the
  admin's search by name and by the start of an e-mail).

The sharded keys (``created_day``, ``status_key``, the search buckets: ``core.shards``) are
also rewritten where an item holds them in an older shape (unsharded, or another shard
count): each write is conditional on the value it replaces (and, for ``status_key``, on the
status it was computed from), so a write racing a service's change is skipped, not undone.
- ticket types: ``listing`` (``ticket-type-list-index``);
- ticket codes: a ``TicketCodeLookup`` per code of every fulfilled order (search by code).

Payments need nothing: ``charge-id-index`` is keyed on ``charge_id``, which they already hold,
so DynamoDB fills that index itself when it is created.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from pynamodb.exceptions import UpdateError

from orders.models import DISPUTE_OPEN, TICKET_TYPE_LISTING, Customer, Order, TicketType
from orders.services.customers import customers_first_day_forget, customers_first_day_note
from orders.services.fulfillment import ticket_codes_record


def _set_if_missing(
    model: Any,
    keys: tuple[Any, ...],
    attribute: Any,
    value: str,
    *,
    replacing: str | None = None,
    condition: Any = None,
) -> bool:
    """Set ``attribute`` where it is missing (or, with ``replacing``, still that value)."""
    hash_key, *range_key = keys
    unchanged = attribute.does_not_exist()
    if replacing is not None:
        unchanged |= attribute == replacing
    if condition is not None:
        unchanged &= condition
    try:
        model._get_connection().update_item(
            hash_key,
            range_key=range_key[0] if range_key else None,
            actions=[attribute.set(value)],
            condition=unchanged & model._hash_key_attribute().exists(),
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


class Command(BaseCommand):
    help = "Backfill the attributes the admin's indexes need (Scans: maintenance only)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = {
            "orders": 0,
            "disputes": 0,
            "customers": 0,
            "customer searches": 0,
            "ticket types": 0,
            "ticket codes": 0,
        }
        for order in Order.scan():
            if order.tickets:
                counts["ticket codes"] += ticket_codes_record(
                    order_id=order.order_id, tickets=list(order.tickets)
                )
            keys = (order.order_id, order.created_at)
            stored = dict(order.attribute_values)
            order.serialize()  # the keys as they should be (created_day, status_key)
            written = [
                stored.get("created_day") != order.created_day
                and _set_if_missing(
                    Order,
                    keys,
                    Order.created_day,
                    order.created_day,
                    replacing=stored.get("created_day"),
                ),
                stored.get("status_key") != order.status_key
                and _set_if_missing(
                    Order,
                    keys,
                    Order.status_key,
                    order.status_key,
                    replacing=stored.get("status_key"),
                    condition=Order.status == order.status,
                ),
            ]
            if any(written):
                counts["orders"] += 1
            if (
                order.disputed
                and not stored.get("dispute_flag")
                and _set_if_missing(
                    Order, (order.order_id, order.created_at), Order.dispute_flag, DISPUTE_OPEN
                )
            ):
                counts["disputes"] += 1
        first_day = None
        for customer in Customer.scan():
            first_day = min(first_day or customer.created_at[:10], customer.created_at[:10])
            keys = (customer.customer_id,)
            stored = dict(customer.attribute_values)
            customer.serialize()  # the keys as they should be (created_day, search keys)
            if stored.get("created_day") != customer.created_day and _set_if_missing(
                Customer,
                keys,
                Customer.created_day,
                customer.created_day,
                replacing=stored.get("created_day"),
            ):
                counts["customers"] += 1
            wanted = Customer.search_attributes(
                customer_id=customer.customer_id, name=customer.name, email=customer.email
            )
            written = [
                _set_if_missing(
                    Customer,
                    keys,
                    getattr(Customer, attribute),
                    value,
                    replacing=stored.get(attribute),
                )
                for attribute, value in wanted.items()
                if value and stored.get(attribute) != value
            ]
            if any(written):
                counts["customer searches"] += 1
        if first_day is not None:  # the customer list's bound, for customers older than it
            customers_first_day_forget()
            customers_first_day_note(day=first_day)
        for ticket_type in TicketType.scan():
            if not ticket_type.listing and _set_if_missing(
                TicketType, (ticket_type.sku,), TicketType.listing, TICKET_TYPE_LISTING
            ):
                counts["ticket types"] += 1
        self.stdout.write(
            "backfilled " + ", ".join(f"{count} {name}" for name, count in counts.items())
        )
