"""A buyer with a history, as the tests of export and erasure need one: orders placed through
the storefront's API with a name, e-mail and phone, paid in localstripe with Stripe's webhook,
fulfilled by the stand-in vendor, one partly refunded by staff with words naming the buyer,
notes naming them, a staff edit of their name, and (as an older integration would have left
it) their e-mail in a PaymentIntent's metadata. And the checks: every item of every table
read back (a Scan, here in the tests only) for any form of their data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from core.dynamodb import registered_models, table_name
from orders.models import Customer
from tests.factories import (
    event_build,
    intent_pay,
    stripe_request,
    ticket_type_create,
    webhook_post,
)

NAME = "Ada Lovelace"
EARLIER_NAME = "Ada Byron"
EMAIL = "ada.lovelace@example.com"
PHONE = "+442079460958"  # shown as +44 20 7946 0958
PHONE_TYPED = "+44 20 7946 0958"


@dataclass
class Buyer:
    customer_id: str
    orders: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    ticket_codes: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def _place(client: Any, *, quantity: int = 1) -> dict[str, Any]:
    body = {
        "customer": {"email": EMAIL, "name": EARLIER_NAME, "phone": PHONE_TYPED},
        "items": [{"sku": "ga", "quantity": quantity}],
    }
    response = client.post("/orders", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    return response.json()


def _pay(stack: Any, client: Any, buyer: Buyer, intent_id: str) -> None:
    intent = intent_pay(stack, intent_id)
    event = event_build("payment_intent.succeeded", intent)
    buyer.events.append(event["id"])
    assert webhook_post(client, stack, event).status_code == 200


def buyer_with_history(stack: Any, client: Any, staff_client: Any) -> Buyer:
    """Two fulfilled orders (one partly refunded) and a canceled one, notes, an edit."""
    from orders.actions import order_cancel
    from orders.models import Order
    from orders.services.notes import customer_note_add, order_note_add
    from payments.services.refunds import refund_create
    from tests.admin_forms import edit

    ticket_type_create("ga", unit_amount=5000, available=50)
    placed = [_place(client, quantity=q) for q in (1, 2, 1)]
    order_ids = [p["order_id"] for p in placed]
    customer_id = next(iter(Order.query(order_ids[0]))).customer_id
    buyer = Buyer(customer_id=customer_id, orders=order_ids)
    buyer.intents = [p["payment"]["payment_intent_id"] for p in placed]
    for intent_id in buyer.intents[:2]:
        _pay(stack, client, buyer, intent_id)
    order_cancel(order_id=order_ids[2], staff="sam", reason="requested_by_customer",
                 note=f"{NAME} changed her mind")  # fmt: skip
    for order_id in order_ids[:2]:
        order = next(iter(Order.query(order_id, consistent_read=True)))
        assert order.status == "fulfilled", order.status
        buyer.ticket_codes += [t.code for t in order.tickets]
    refund_create(order_id=order_ids[1], amount=5000, staff="sam", reason="requested_by_customer",
                  note=f"{NAME} ({EMAIL}) asked by phone")  # fmt: skip
    order = next(iter(Order.query(order_ids[1], consistent_read=True)))
    customer_note_add(customer=Customer.get(customer_id), staff="sam",
                      text=f"Called from {PHONE_TYPED}; prefers {EMAIL}")  # fmt: skip
    order_note_add(order=order, staff="sam", text="Ada asked for one ticket back")
    # Staff correct the name (the edit's audit line keeps the earlier one).
    support = staff_client("support", "support-editor")
    url = f"/admin/orders/customer/{customer_id}/"
    assert edit(support, url, {"name": NAME, "phone": PHONE_TYPED}).status_code == 302
    assert Customer.get(customer_id).name == NAME
    # An older integration put the buyer's e-mail in our metadata on the intent.
    stripe_request(stack, "POST", f"/v1/payment_intents/{buyer.intents[0]}",
                   {"metadata[customer_email]": EMAIL, "metadata[buyer]": NAME})  # fmt: skip
    return buyer


# --- Looking for the person everywhere ------------------------------------------------------

NEEDLES = (NAME, EARLIER_NAME, EMAIL, PHONE, PHONE_TYPED, "Lovelace", "Byron", "ada.lovelace")


def found_in(value: Any) -> list[str]:
    """Which forms of the person's data a value (walked) holds, case ignored."""
    text = json.dumps(value, default=str).lower()
    return [n for n in NEEDLES if n.lower() in text or n.lower().replace(" ", "") in text]


def table_leaks(stack: Any) -> dict[str, list[str]]:
    """Per table of this deployment: every item holding any form of the person's data, as
    ``key: forms found``. A Scan of each table: a test's check, never the app's way."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_url,
        region_name="us-east-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    tables = {model.Meta.table_name for model in registered_models()}
    leaks: dict[str, list[str]] = {}
    for name in sorted(tables):
        for page in client.get_paginator("scan").paginate(TableName=name):
            for item in page["Items"]:
                found = found_in(item)
                if found:
                    key = {k: v for k, v in item.items() if k in {"pk", "sk", "order_id",
                           "customer_id", "payment_id"}}  # fmt: skip
                    leaks.setdefault(name, []).append(f"{key}: {found}")
    return leaks


TABLES = {
    "customers": table_name("customers"),
    "orders": table_name("orders"),
    "payments": table_name("payments"),
    "backoffice": table_name("backoffice"),
}
