"""Reads of orders, customers and the catalog: the only place that knows their keys and indexes.

No function here Scans: each is a key lookup, a BatchGet or a Query of one index partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist

from orders.models import CATALOG_ACTIVE, Customer, CustomerEmailClaim, Order, TicketType
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
    order path leaves it to the shards' conditions. ``ticket_type_seats_get`` reads it."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    return {t.sku: t for t in TicketType.batch_get(wanted, consistent_read=True)}


def ticket_type_seats_get(*, sku: str) -> TicketType | None:
    """One ticket type, strongly consistent, with its seats left (summed over its shards)."""
    try:
        ticket_type = TicketType.get(sku, consistent_read=True)
    except TicketType.DoesNotExist:
        return None
    seats_fill(ticket_types=[ticket_type])
    return ticket_type


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


def customer_get(*, customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id)
    except DoesNotExist:
        return None
