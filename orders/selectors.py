"""Reads of orders, customers and the catalog: the only place that knows their keys and indexes.

No function here Scans: each is a key lookup, a BatchGet or a Query of one index partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date

from pynamodb.exceptions import DoesNotExist

from orders.emails import email_normalise
from orders.models import (
    ATTENTION_FLAGGED,
    CATALOG_ACTIVE,
    CUSTOMERS_FIRST_DAY,
    DISPUTE_OPEN,
    AttentionReason,
    Customer,
    CustomerEmailClaim,
    ListBound,
    Order,
    OrderStatus,
    TicketType,
)
from orders.services.seats import seats_fill

ORDER_ID_PATTERN = re.compile(r"^ord_[A-Za-z0-9_-]{16,64}$")


def catalog_list() -> list[TicketType]:
    """The active ticket types, by sku: one Query of the sparse catalog index, plus one
    BatchGet of the shards of the sharded ones (their ``available`` is the sum)."""
    types = list(TicketType.catalog_index.query(CATALOG_ACTIVE))
    seats_fill(ticket_types=types, consistent=False)
    return types


def ticket_types_get(*, skus: Iterable[str]) -> dict[str, TicketType]:
    """The ticket types with these skus (active or not), strongly consistent, in one BatchGet.
    A sharded type's ``available`` is not read (None; ``limited`` says it counts seats): the
    order path leaves it to the shards' conditions. ``ticket_type_get`` reads it."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    return {t.sku: t for t in TicketType.batch_get(wanted, consistent_read=True)}


def order_get(*, order_id: str) -> Order | None:
    """The order with this id, or None. (The table's range key is ``created_at``, so this is a
    one-item Query of the order's partition rather than a GetItem.)"""
    if not ORDER_ID_PATTERN.match(order_id):
        return None
    return next(iter(Order.query(order_id, limit=1, consistent_read=True)), None)


def customer_id_for_email(*, email: str) -> str | None:
    """The customer owning a normalised email, from its claim (strongly consistent, unlike the
    customers table's email-index)."""
    try:
        claim = CustomerEmailClaim.get(
            CustomerEmailClaim.key_for(email), "CLAIM", consistent_read=True
        )
    except DoesNotExist:
        return None
    return claim.customer_id


def customer_get(*, customer_id: str, consistent: bool = False) -> Customer | None:
    """By key. ``consistent``: a strongly consistent read (the admin, which edits it next)."""
    try:
        return Customer.get(customer_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def ticket_type_get(*, sku: str) -> TicketType | None:
    """By key, strongly consistent (its seats left change with every order), with the seats
    left of a sharded type summed over its shards (one more BatchGet)."""
    try:
        ticket_type = TicketType.get(sku, consistent_read=True)
    except DoesNotExist:
        return None
    seats_fill(ticket_types=[ticket_type])
    return ticket_type


def customers_by_email(*, email: str, limit: int = 5) -> list[Customer]:
    """``email-index`` on the normalised e-mail (eventually consistent); none for a malformed
    address. (To decide who owns an address, ``customer_id_for_email`` reads the claim.)"""
    try:
        normalised = email_normalise(email)
    except ValueError:
        return []
    return list(Customer.email_index.query(normalised, limit=limit))


def orders_of_customer(*, customer_id: str, limit: int = 50) -> list[Order]:
    """A customer's orders, newest first (``customer-id-index``)."""
    return list(Order.customer_index.query(customer_id, scan_index_forward=False, limit=limit))


def orders_by_email(*, email: str, limit: int = 50) -> list[Order]:
    """The orders of the customers with this e-mail (``email-index``, then
    ``customer-id-index``)."""
    orders: list[Order] = []
    for customer in customers_by_email(email=email):
        orders.extend(orders_of_customer(customer_id=customer.customer_id, limit=limit))
    return orders


def orders_with_status(
    *, status: str, limit: int, created_before: str | None = None, oldest_first: bool = False
) -> list[Order]:
    """Orders in one status, newest first (or oldest first), optionally created before an ISO
    time (``order-status-index``)."""
    condition = Order.created_at < created_before if created_before else None
    return list(
        Order.status_index.query(
            status, range_key_condition=condition, scan_index_forward=oldest_first, limit=limit
        )
    )


def orders_with_open_dispute(*, limit: int) -> list[Order]:
    """Orders with an open dispute, newest first (the sparse ``order-dispute-index``)."""
    return list(Order.dispute_index.query(DISPUTE_OPEN, scan_index_forward=False, limit=limit))


def orders_of_day(*, day: date, page_size: int) -> Iterator[Order]:
    """Every order created on one UTC day, oldest first, read ``page_size`` at a time
    (``order-day-index``): memory stays flat however many there are."""
    return iter(Order.day_index.query(day.isoformat(), page_size=page_size))


def orders_oldest_day() -> date | None:
    """The day the oldest order was created, or ``None`` with no orders: every order is in one
    status partition of ``order-status-index``, so this is one single-item Query per status,
    oldest first (a fixed cost, whatever the table holds). The admin's order list stops its
    day-by-day walk there."""
    oldest = [
        order.created_at
        for status in OrderStatus
        for order in Order.status_index.query(status.value, scan_index_forward=True, limit=1)
    ]
    return date.fromisoformat(min(oldest)[:10]) if oldest else None


def customers_oldest_day() -> date | None:
    """The day the oldest customer was created, or ``None`` with no customers: one GetItem of
    the bound ``orders.services.customers.customers_first_day_note`` keeps (on a stage whose
    customers predate it, ``admin_indexes_backfill`` sets it). The admin's customer list
    stops its day-by-day walk there."""
    try:
        bound = ListBound.get(CUSTOMERS_FIRST_DAY, "FIRST_DAY")
    except DoesNotExist:
        return None
    return date.fromisoformat(bound.day)


def orders_needing_attention(
    *, reason: AttentionReason, limit: int, paid_before: str | None = None
) -> list[Order]:
    """The orders in the needs-attention queue for one reason, oldest first, at most ``limit``:
    one Query of one index partition each (``order-attention-index`` for the reasons kept in
    ``Order.attention``, ``order-status-index`` for paid-not-fulfilled and fulfillment failed,
    ``order-dispute-index`` for open disputes). ``paid_before``: for paid-not-fulfilled, only
    orders created before this ISO time (the threshold)."""
    if reason in ATTENTION_FLAGGED:
        return list(Order.attention_index.query(reason.value, limit=limit))
    if reason == AttentionReason.PAID_NOT_FULFILLED:
        return orders_with_status(
            status=OrderStatus.PAID.value,
            limit=limit,
            created_before=paid_before,
            oldest_first=True,
        )
    if reason == AttentionReason.FULFILLMENT_FAILED:
        return orders_with_status(
            status=OrderStatus.FULFILLMENT_FAILED.value, limit=limit, oldest_first=True
        )
    return list(Order.dispute_index.query(DISPUTE_OPEN, limit=limit))
