"""Test data written straight to the tables (set-up, not mocks): ticket types to sell, orders
as ``order_create`` leaves them with real PaymentIntents in localstripe, and Stripe events
signed exactly as Stripe signs them.

Orders from ``order_create`` here are pending, with seats taken in the same transaction and a
Payment item per PaymentIntent; the PaymentIntents are created through
``integrations.stripe_client`` against localstripe. Paying an intent is what the buyer's browser
does with Stripe.js, so that goes to localstripe directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from core.dynamodb import (
    cancellation_codes,
    iso_utc,
    new_id,
    transaction,
    utc_now,
    utc_now_iso,
)
from devstack.stack import LocalStack
from integrations import stripe_client
from orders.models import CATALOG_ACTIVE, Order, OrderItem, OrderStatus, TicketType
from orders.services.seats import seats_failure, seats_plan, seats_stock, seats_take
from payments.models import Payment


def ticket_type_create(
    sku: str = "ga",
    *,
    unit_amount: int = 5000,
    available: int | None = 100,
    active: bool = True,
    currency: str = "usd",
    name: str | None = None,
    seat_shards: int = 1,
) -> TicketType:
    """A ticket type with ``available`` seats (None: unlimited), on its own item or split
    over ``seat_shards`` shards as the admin creates it."""
    now = utc_now_iso()
    ticket_type = TicketType(
        sku=sku,
        name=name or sku.upper(),
        description=f"{sku} tickets",
        unit_amount=unit_amount,
        currency=currency,
        capacity=available,
        available=available,
        active=active,
        catalog_key=CATALOG_ACTIVE if active else None,
        created_at=now,
        updated_at=now,
        seat_shards=seat_shards,
    )
    with transaction() as writes:
        seats_stock(writes, ticket_type=ticket_type)
        writes.save(ticket_type)
    return ticket_type


def order_body(email: str = "buyer@example.com", items: list | None = None, **customer) -> dict:
    return {
        "customer": {"email": email, "name": "Buyer", **customer},
        "items": items if items is not None else [{"sku": "ga", "quantity": 2}],
    }


def paid_order_create(
    *,
    email: str = "buyer@example.com",
    items: list[tuple[str, int]] | None = None,
    status: str = "paid",
):
    """A paid order with its customer, as the payment webhook leaves it."""
    from core.dynamodb import new_id
    from orders.emails import email_mask
    from orders.models import Customer, Order, OrderItem

    now = utc_now_iso()
    customer = Customer(
        customer_id=new_id("cus"), email=email, name="Buyer", created_at=now, updated_at=now
    )
    customer.save()
    lines = [
        OrderItem(sku=s, name=s.upper(), quantity=q, unit_amount=1000, amount=1000 * q)
        for s, q in items or [("ga", 2)]
    ]
    order = Order(
        order_id=new_id("ord"),
        created_at=now,
        customer_id=customer.customer_id,
        customer_email_masked=email_mask(email),
        status=status,
        currency="usd",
        total_amount=sum(i.amount for i in lines),
        items=lines,
        payment_intent_id=new_id("pi"),
        updated_at=now,
    )
    order.save()
    return order


# A paid order may already have moved on to fulfillment (inline locally) by the time we look.
PAID_OR_LATER = (OrderStatus.PAID, OrderStatus.FULFILLED)


def customer_create(
    *, email: str = "buyer@example.com", name: str = "Buyer", customer_id: str = "cus_test"
):
    """A customer and the claim on its e-mail, as an order's creation leaves them (the orders
    of ``order_create`` belong to ``cus_test``)."""
    from orders.models import Customer, CustomerEmailClaim

    now = utc_now_iso()
    customer = Customer(
        customer_id=customer_id, email=email, name=name, created_at=now, updated_at=now
    )
    customer.save()
    CustomerEmailClaim(pk=CustomerEmailClaim.key_for(email), customer_id=customer_id).save()
    return customer


def order_create(*, items: list[tuple[str, int]] | None = None, age_minutes: float = 0) -> Order:
    """A pending_payment order as POST /orders leaves it, ``age_minutes`` old."""
    lines = items or [("ga", 2)]
    types = {sku: TicketType.get(sku) for sku, _ in lines}
    order_items = [
        OrderItem(
            sku=sku,
            name=types[sku].name,
            quantity=quantity,
            unit_amount=types[sku].unit_amount,
            amount=types[sku].unit_amount * quantity,
        )
        for sku, quantity in lines
    ]
    seats_plan(items=order_items, ticket_types=types)
    total = sum(item.amount for item in order_items)
    order_id = new_id("ord")
    created = iso_utc(utc_now() - timedelta(minutes=age_minutes))
    intent = stripe_client.payment_intent_create(
        order_id=order_id, amount=total, currency="usd", idempotency_key=f"order:{order_id}"
    )
    order = Order(
        order_id=order_id,
        created_at=created,
        customer_id="cus_test",
        customer_email_masked="a***@example.com",
        currency="usd",
        total_amount=total,
        items=order_items,
        payment_intent_id=intent.id,
        seats_held=any(item.reserved for item in order_items),
        updated_at=created,
    )
    for _ in range(3):  # a sharded type: move to shards with seats, as order_create does
        try:
            with transaction() as writes:
                writes.save(order, condition=Order.order_id.does_not_exist())
                seats_take(writes, items=order_items)
            break
        except TransactWriteError as error:
            if not seats_failure(items=order_items, codes=cancellation_codes(error)[1:]).moved:
                raise
    Payment(
        payment_id=intent.id,
        created_at=created,
        order_id=order_id,
        status=intent.status,
        amount=total,
        currency="usd",
        updated_at=created,
    ).save()
    return order_get(order_id)


def order_get(order_id: str) -> Order:
    return next(iter(Order.query(order_id, consistent_read=True)))


def payment_get(payment_intent_id: str) -> Payment:
    return next(iter(Payment.query(payment_intent_id, consistent_read=True)))


def seats_available(sku: str = "ga") -> int | None:
    """Seats left, summed over the shards of a sharded type."""
    from orders.selectors import ticket_type_get

    return ticket_type_get(sku=sku).available


# --- localstripe, as the buyer's browser and as Stripe's event source ----------------------


def stripe_request(
    stack: LocalStack, method: str, path: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    body = urllib.parse.urlencode(data or {}).encode() if method == "POST" else None
    request = urllib.request.Request(
        f"{stack.stripe_url}{path}",
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {stack.secrets.stripe_api_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return {"error": json.load(error), "status": error.code}


def intent_pay(stack: LocalStack, payment_intent_id: str, card: str = "pm_card_visa") -> dict:
    """Attach a test card and confirm, as Stripe.js would (localstripe cannot take the card in
    the confirm call itself). A declined card leaves the intent ``requires_payment_method``."""
    stripe_request(
        stack, "POST", f"/v1/payment_intents/{payment_intent_id}", {"payment_method": card}
    )
    stripe_request(stack, "POST", f"/v1/payment_intents/{payment_intent_id}/confirm")
    return stripe_request(stack, "GET", f"/v1/payment_intents/{payment_intent_id}")


def stripe_object(stack: LocalStack, path: str) -> dict[str, Any]:
    return stripe_request(stack, "GET", path)


def event_build(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """An event shaped like the ones Stripe sends."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": stripe_client.STRIPE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` exactly as Stripe computes it: HMAC-SHA256 of ``{t}.{body}``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, indent=2).encode()


def webhook_post(
    client: Any,
    stack: LocalStack,
    event: dict[str, Any] | bytes,
    *,
    header: str | None = None,
    timestamp: int | None = None,
) -> Any:
    """POST /webhooks/stripe with a correctly signed body (or the header given)."""
    body = event if isinstance(event, bytes) else event_body(event)
    if header is None:
        header = signature_header(stack.secrets.stripe_webhook_secret, body, timestamp=timestamp)
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
    return client.post("/webhooks/stripe", data=body, content_type="application/json", **extra)


def order_paid_in_stripe(
    stack: LocalStack, client: Any, *, items: list[tuple[str, int]] | None = None
) -> Order:
    """An order paid as a buyer pays it: a real PaymentIntent in localstripe, paid with a test
    card, and Stripe's ``payment_intent.succeeded`` delivered to our webhook."""
    order = order_create(items=items)
    intent = intent_pay(stack, order.payment_intent_id)
    webhook_post(client, stack, event_build("payment_intent.succeeded", intent))
    return order_get(order.order_id)


def metrics_in(output: str, name: str) -> int:
    """How many data points of metric ``name`` were printed (EMF lines)."""
    count = 0
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        if name in document:
            count += 1
    return count
