"""Seats: the pieces of a DynamoDB transaction that take seats from or give seats back to a
ticket type. Callers put them in the same ``TransactWrite`` as the order change they belong
to, so seats and orders can never disagree.

Taking ``q`` seats is ``available = available - q`` with the condition ``available >= q`` and
the type still active: two buyers can never get the same last seat, and ``available`` never
goes below zero. Unlimited types (``available`` absent) are not touched. Each update bumps the
ticket type's version, so a staff edit made from a stale read is refused, not overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.transactions import TransactWrite

from orders.models import OrderItem, TicketType


def _ticket_type_ref(sku: str) -> TicketType:
    # A key-only instance: the version value only makes PynamoDB add ``version + 1``; the
    # condition on it is turned off, because a sale must not fail on a concurrent sale.
    return TicketType(sku=sku, version=0)


def seats_take(transaction: TransactWrite, *, items: Iterable[OrderItem]) -> None:
    """Add the seat decrements of ``items`` (those marked ``reserved``) to ``transaction``."""
    for item in items:
        if item.reserved:
            transaction.update(
                _ticket_type_ref(item.sku),
                actions=[TicketType.available.add(-item.quantity)],
                condition=(TicketType.available >= item.quantity) & (TicketType.active == True),  # noqa: E712
                add_version_condition=False,
            )


def seats_give_back(transaction: TransactWrite, *, items: Iterable[OrderItem]) -> None:
    """Add the seat increments of ``items`` (those marked ``reserved``) to ``transaction``."""
    for item in items:
        if item.reserved:
            transaction.update(
                _ticket_type_ref(item.sku),
                actions=[TicketType.available.add(item.quantity)],
                condition=TicketType.available.exists(),
                add_version_condition=False,
            )
