"""Ticket types as staff add and edit them, with the capacity rule.

Seats left (``available``) change concurrently: every order reserves seats with an atomic
decrement (``available >= q``). So a capacity change is never written from what a page read:
it moves ``available`` by the same amount with an ``ADD``, and a cut is refused when more seats
are sold than the new capacity allows (checked on the read, and again as the write's condition).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from orders.models import CATALOG_ACTIVE, TicketType
from orders.selectors import ticket_type_get
from tickets.dynamodb import condition_failed, utc_now_iso
from tickets.exceptions import Conflict, ValidationFailed

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
) -> TicketType:
    """A new ticket type with every seat free; ``Conflict`` if the sku exists already."""
    if unit_amount < 0 or (capacity is not None and capacity < 0):
        raise ValidationFailed("Prices and capacities cannot be negative.")
    if len(currency) != 3:
        raise ValidationFailed("A currency is a three-letter ISO code, e.g. usd.")
    now = utc_now_iso()
    ticket_type = TicketType(
        sku=sku,
        name=name,
        description=description or "",
        unit_amount=unit_amount,
        currency=currency.lower(),
        capacity=capacity,
        available=capacity,
        active=active,
        catalog_key=CATALOG_ACTIVE if active else None,
        created_at=now,
        updated_at=now,
    )
    try:
        ticket_type.save(condition=TicketType.sku.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            raise Conflict(f"A ticket type with sku {sku!r} exists already.") from error
        raise
    logger.info("ticket type created", extra={"sku": sku})
    return ticket_type


def _capacity_actions(current: TicketType, new: int | None) -> tuple[list[Any], int]:
    """The actions for a new capacity, and the seats the write needs still free (0: none)."""
    old = current.capacity
    if new is None:  # unlimited: seats are no longer counted
        return [TicketType.capacity.remove(), TicketType.available.remove()], 0
    if old is None:  # counted from now on: the new capacity starts full
        return [TicketType.capacity.set(new), TicketType.available.set(new)], 0
    if current.available is not None and current.available + (new - old) < 0:
        raise ValidationFailed(OVERSOLD)
    actions = [TicketType.capacity.set(new), TicketType.available.add(new - old)]
    return actions, max(old - new, 0)


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
    changes = dict(changes)
    actions: list[Any] = []
    needed = 0
    if "capacity" in changes:
        capacity_actions, needed = _capacity_actions(current, changes.pop("capacity"))
        actions += capacity_actions
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
    condition = TicketType.available >= needed if needed else None
    try:
        current.update(actions=actions, condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        latest = ticket_type_get(sku=sku)
        if latest is not None and latest.version == version:
            raise ValidationFailed(OVERSOLD) from error  # seats were sold meanwhile
        raise Conflict("Someone else changed this ticket type first.") from error
    logger.info("ticket type updated", extra={"sku": sku, "fields": sorted(changes)})
    return current
