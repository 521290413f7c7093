"""Changes staff make to a customer's record (name and phone; the e-mail is the account's
identity and is claimed at order creation, so it is not edited here), and the customers'
first day, the bound of the admin's customer list."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from core.dynamodb import condition_failed, utc_now_iso
from core.exceptions import Conflict, ValidationFailed
from orders.models import CUSTOMERS_FIRST_DAY, Customer, ListBound

logger = logging.getLogger(__name__)

CUSTOMER_EDITABLE = {"name", "phone"}


def customer_update(*, customer_id: str, version: int, changes: Mapping[str, Any]) -> Customer:
    """Write ``changes`` (``name``, ``phone``; an empty phone removes it) to the customer, only
    if it is still at ``version`` (the one the editor read): ``Conflict`` otherwise, and when
    there is no such customer. One conditional UpdateItem of the changed attributes."""
    unknown = set(changes) - CUSTOMER_EDITABLE
    if unknown:
        raise ValidationFailed(f"These customer fields cannot be changed: {sorted(unknown)}.")
    if "name" in changes and not str(changes["name"] or "").strip():
        raise ValidationFailed("A customer's name cannot be empty.")
    actions = [
        getattr(Customer, name).remove() if value in (None, "") else getattr(Customer, name).set(value)
        for name, value in changes.items()
    ]  # fmt: skip
    if "name" in changes:  # the search indexes follow the name
        for attribute, value in Customer.search_attributes(
            customer_id=customer_id, name=changes["name"]
        ).items():
            field = getattr(Customer, attribute)
            actions.append(field.set(value) if value else field.remove())
    actions.append(Customer.updated_at.set(utc_now_iso()))
    customer = Customer(customer_id=customer_id, version=version)  # the condition: that version
    try:
        customer.update(actions=actions)
    except UpdateError as error:
        if condition_failed(error):
            raise Conflict("Someone else changed this customer first.") from error
        raise
    logger.info("customer updated", extra={"customer_id": customer_id, "fields": sorted(changes)})
    return customer


# Days this process already knows to be on or after the customers' first day: a new customer
# writes the bound once per process at most (days only go forward), never once per customer,
# so an on-sale's new customers do not all write one item.
_first_day_known: list[str] = []


def customers_first_day_note(*, day: str) -> None:
    """A customer was created on ``day`` (``YYYY-MM-DD``): move the customers' first day
    (``ListBound``) to it if it is earlier or unset, with one conditional write."""
    if _first_day_known and _first_day_known[0] <= day:
        return
    try:
        ListBound(pk=CUSTOMERS_FIRST_DAY, day=day).save(
            condition=ListBound.pk.does_not_exist() | (ListBound.day > day)
        )
    except PutError as error:
        if not condition_failed(error):
            raise  # an earlier day is recorded already: nothing to do
    _first_day_known[:] = [day]


def customers_first_day_forget() -> None:
    """Forget what this process knows of the bound (tests start from empty tables)."""
    _first_day_known.clear()
