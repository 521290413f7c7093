"""Ticket types as staff add and edit them, with the capacity rule.

Seats left change concurrently: every order reserves seats with an atomic decrement
(``available >= q``, on the type's item or on one of its seat shards). So a capacity change is
never written from what a page read: ``orders.services.seats.seats_capacity_change`` moves the
seats left by the same amount (spread over the shards of a sharded type) in one transaction
with the type's item, and a cut is refused when more seats are sold than the new capacity
allows (checked on the read, and again as the write's conditions).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from core.currencies import currency_valid
from core.dynamodb import cancellation_codes, condition_failed, transaction, utc_now_iso
from core.exceptions import Conflict, ValidationFailed
from orders.models import CATALOG_ACTIVE, TicketType
from orders.selectors import ticket_type_get
from orders.services.seats import seats_capacity_change, seats_fill, seats_stock

logger = logging.getLogger(__name__)

TICKET_TYPE_EDITABLE = {"name", "description", "unit_amount", "capacity", "active"}
OVERSOLD = "More seats are sold than the new capacity allows."


def ticket_type_create(
    *,
    sku: str,
    name: str,
    description: str = "",
    unit_amount: int,
    currency: str,
    capacity: int | None,
    active: bool,
    seat_shards: int = 1,
) -> TicketType:
    """A new ticket type with every seat free; ``Conflict`` if the sku exists already.
    ``seat_shards`` > 1 splits the seats over that many shards (an on-sale type; see
    ``orders.services.seats``)."""
    if unit_amount < 0 or (capacity is not None and capacity < 0):
        raise ValidationFailed("Prices and capacities cannot be negative.")
    if not currency_valid(currency):
        raise ValidationFailed(
            f"{currency!r} is not an ISO 4217 currency code (e.g. usd, eur, jpy).",
            fields={"currency": ["Not an ISO 4217 currency code."]},
        )
    now = utc_now_iso()
    ticket_type = TicketType(
        sku=sku,
        name=name,
        description=description or "",
        unit_amount=unit_amount,
        currency=currency.lower(),
        capacity=capacity,
        seat_shards=seat_shards,
        active=active,
        catalog_key=CATALOG_ACTIVE if active else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction() as writes:
            seats_stock(writes, ticket_type=ticket_type)  # on the item, or in new shards
            writes.save(ticket_type, condition=TicketType.sku.does_not_exist())
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise Conflict(f"A ticket type with sku {sku!r} exists already.") from error
        raise
    seats_fill(ticket_types=[ticket_type])
    logger.info("ticket type created", extra={"sku": sku, "seat_shards": seat_shards})
    return ticket_type


def ticket_type_sales_stop(*, sku: str, staff: str) -> bool:
    """Its event is canceled: the type leaves the catalog and is never sold again (``POST
    /orders`` refuses an inactive type; the editor cannot turn it back on). True the first
    time; False if it was stopped already (a second start changes nothing)."""
    now = utc_now_iso()
    try:
        TicketType(sku=sku).update(
            actions=[
                TicketType.active.set(False),
                TicketType.catalog_key.remove(),
                TicketType.event_canceled_at.set(now),
                TicketType.updated_at.set(now),
            ],
            condition=TicketType.sku.exists() & TicketType.event_canceled_at.does_not_exist(),
            add_version_condition=False,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    logger.info("ticket type sales stopped: event canceled", extra={"sku": sku, "staff": staff})
    return True


def ticket_type_update(*, sku: str, version: int, changes: Mapping[str, Any]) -> TicketType:
    """Write ``changes`` to the ticket type ``sku``, only if it is still at ``version`` (the
    one the editor read): ``Conflict`` otherwise. ``capacity`` moves the seats left by the
    same amount; ``active`` also puts the type in or out of the catalog index."""
    unknown = set(changes) - TICKET_TYPE_EDITABLE
    if unknown:
        raise ValidationFailed(f"These ticket type fields cannot be changed: {sorted(unknown)}.")
    current = ticket_type_get(sku=sku)
    if current is None or current.version != version:
        raise Conflict("Someone else changed this ticket type first.")
    if current.event_canceled_at and changes.get("active"):
        raise ValidationFailed("Its event is canceled: this ticket type cannot be sold again.")
    changes = dict(changes)
    capacity = changes.pop("capacity") if "capacity" in changes else current.capacity
    actions: list[Any] = []
    if "active" in changes:
        active = bool(changes.pop("active"))
        actions.append(TicketType.active.set(active))
        actions.append(
            TicketType.catalog_key.set(CATALOG_ACTIVE)
            if active
            else TicketType.catalog_key.remove()
        )
    for name, value in changes.items():
        attribute = getattr(TicketType, name)
        actions.append(attribute.remove() if value in (None, "") else attribute.set(value))
    actions.append(TicketType.updated_at.set(utc_now_iso()))
    if (
        capacity is not None
        and current.capacity is not None
        and current.available is not None
        and current.available + (capacity - current.capacity) < 0
    ):
        raise ValidationFailed(OVERSOLD)  # the early answer; the write's conditions decide
    try:
        # One transaction: these actions, the capacity, the seats moved by the same amount.
        seats_capacity_change(
            ticket_type=current, capacity=capacity, version=version, actions=actions
        )
    except Conflict:
        raise Conflict("Someone else changed this ticket type first.") from None
    fields = sorted({*changes, *(["capacity"] if capacity != current.capacity else [])})
    logger.info("ticket type updated", extra={"sku": sku, "fields": fields})
    return ticket_type_get(sku=sku)
