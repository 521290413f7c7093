"""Reads of orders, customers and the catalog: the only place that knows their keys and indexes.

No function here Scans: each is a key lookup, a BatchGet or a Query of one index partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist

from orders.models import CATALOG_ACTIVE, Customer, CustomerEmailClaim, Order, TicketType

ORDER_ID_PATTERN = re.compile(r"^ord_[A-Za-z0-9_-]{16,64}$")


def catalog_list() -> list[TicketType]:
    """The active ticket types, by sku: one Query of the sparse catalog index."""
    return list(TicketType.catalog_index.query(CATALOG_ACTIVE))


def ticket_types_get(*, skus: Iterable[str]) -> dict[str, TicketType]:
    """The ticket types with these skus (active or not), strongly consistent, in one BatchGet."""
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


def customer_get(*, customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id)
    except DoesNotExist:
        return None
