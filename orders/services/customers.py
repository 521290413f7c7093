"""Changes staff make to a customer's record: name and phone (``customer_update``); the buyer's
e-mail or name corrected from an order (``customer_contact_change``: the e-mail is the
customer's identity, claimed at order creation, so its claim moves with it in one
transaction); and the customers' first day, the bound of the admin's customer list.

An address that another customer holds already is **refused**, never merged: merging would
move that customer's orders, notes and history onto this one without either buyer asking,
and two buyers sharing one inbox is not the same as one buyer. Staff are told which customer
holds it; if the two are the same person, they correct the other customer first. So no two
customers ever hold one claim."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pynamodb.exceptions import PutError, UpdateError

from core.audit import audit_record
from core.dynamodb import condition_failed, utc_now_iso
from core.exceptions import Conflict, NotFound, ValidationFailed
from orders.emails import email_mask, email_normalise
from orders.models import CUSTOMERS_FIRST_DAY, Customer, CustomerEmailClaim, ListBound, Order
from orders.selectors import customer_get, customer_id_for_email, order_get
from orders.services.changes import conditional_failure, transact

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


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Another customer has this e-mail address."


def customer_contact_change(
    *, order_id: str, email: str, name: str, staff: str, reason: str = ""
) -> tuple[Customer, bool]:
    """Correct the buyer's e-mail and/or name from one of their orders: the customer, the
    claim on the address (the old one deleted, the new one created with
    ``attribute_not_exists``) and the order's masked address change in one transaction, with
    the customer's audit entry. Returns the customer as saved and whether the e-mail changed.

    Raises ``ValidationFailed`` for a malformed address or an empty name, ``EmailTaken``
    when another customer holds the address (refused, see the module docstring),
    ``Conflict`` when the customer changed meanwhile. A new address is deliverable until
    SES says otherwise (the old one's bounce does not follow it)."""
    new_email = email_normalise(email or "")
    new_name = " ".join((name or "").split())
    try:
        validate_email(new_email)
    except ValidationError:
        raise ValidationFailed(
            f"“{(email or '').strip()[:80]}” is not an e-mail address (like ada@example.com).",
            fields={"email": ["Not an e-mail address."]},
        ) from None
    if not new_name:
        raise ValidationFailed("The buyer's name cannot be empty.", fields={"name": ["Empty."]})
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    customer = customer_get(customer_id=order.customer_id, consistent=True)
    if customer is None:
        raise NotFound("The order's customer is gone.")
    old_email = customer.email
    email_changes = new_email != email_normalise(old_email)
    if not email_changes and new_name == customer.name:
        return customer, False
    if email_changes:
        holder = customer_id_for_email(email=new_email)
        if holder is not None and holder != customer.customer_id:
            raise EmailTaken(
                f"Customer {holder} has {email_mask(new_email)} already: an address belongs to "
                "one customer. Nothing was changed.",
                fields={"email": ["Another customer has this address."]},
            )
    now = utc_now_iso()
    actions = [Customer.name.set(new_name), Customer.updated_at.set(now)]
    for attribute, value in Customer.search_attributes(
        customer_id=customer.customer_id,
        name=new_name,
        email=new_email if email_changes else None,
    ).items():
        field = getattr(Customer, attribute)
        actions.append(field.set(value) if value else field.remove())
    if email_changes:
        actions += [Customer.email.set(new_email), Customer.email_undeliverable.remove()]

    def write(writes) -> None:
        writes.update(
            customer,
            actions=actions,
            condition=Customer.version == customer.version,
            add_version_condition=False,
        )
        if email_changes:
            writes.delete(
                CustomerEmailClaim(pk=CustomerEmailClaim.key_for(email_normalise(old_email))),
                condition=CustomerEmailClaim.customer_id == customer.customer_id,
            )
            writes.save(
                CustomerEmailClaim(
                    pk=CustomerEmailClaim.key_for(new_email), customer_id=customer.customer_id
                ),
                condition=CustomerEmailClaim.pk.does_not_exist(),
            )
            writes.update(
                order,
                actions=[Order.customer_email_masked.set(email_mask(new_email))],
                add_version_condition=False,
            )

    try:
        written = transact(write)
    except Exception as error:
        if conditional_failure(error):
            written = False
        else:
            raise
    if not written:
        if email_changes and customer_id_for_email(email=new_email) not in (
            None,
            customer.customer_id,
        ):
            raise EmailTaken(fields={"email": ["Another customer has this address."]})
        raise Conflict("Someone else changed this customer first; reload and try again.")
    before = {"name": customer.name, "email": email_mask(old_email)}
    after = {"name": new_name, "email": email_mask(new_email)}
    for object_type, object_id in (
        ("orders.customer", customer.customer_id),
        ("orders.order", order_id),
    ):
        audit_record(
            staff=staff,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_id,
            action="contact_change",
            summary="Buyer's contact corrected: "
            + "; ".join(f"{k} {before[k]} → {after[k]}" for k in before if before[k] != after[k]),
            reason=reason,
            before=before,
            after=after,
        )
    logger.info("customer contact changed", extra={"customer_id": customer.customer_id})
    saved = customer_get(customer_id=customer.customer_id, consistent=True) or customer
    return saved, email_changes
