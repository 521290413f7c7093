"""Reads of payments and claimed webhook events: the only place that knows their keys and indexes.

No function here Scans: each is a Query of one partition (the payments table's range key is
``created_at``, so even "the payment of this PaymentIntent" is a one-item Query) or of one index.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from orders.models import Order
from orders.selectors import order_get
from payments.models import Payment, WebhookEvent


def payment_get(*, payment_intent_id: str) -> Payment | None:
    """The payment of a PaymentIntent, strongly consistent, or None if it is not one of ours."""
    if not payment_intent_id.startswith("pi_"):
        return None
    return next(iter(Payment.query(payment_intent_id, limit=1, consistent_read=True)), None)


def payments_for_order(*, order_id: str, limit: int | None = None) -> list[Payment]:
    """An order's payments, newest first (``order-id-index``; eventually consistent), at most
    ``limit`` (None: all; an order has a handful)."""
    return list(Payment.order_index.query(order_id, scan_index_forward=False, limit=limit))


def orders_by_payment_intent(*, payment_intent_id: str) -> list[Order]:
    """The order a PaymentIntent paid for (the payments table's key, then the order's), as a
    list for searches: empty when the intent or its order is unknown."""
    payment = payment_get(payment_intent_id=payment_intent_id)
    order = order_get(order_id=payment.order_id) if payment else None
    return [order] if order else []


def payments_with_status(*, status: str, limit: int = 50) -> list[Payment]:
    """Payments in one PaymentIntent status, newest first (``payment-status-index``)."""
    return list(Payment.status_index.query(status, scan_index_forward=False, limit=limit))


def webhook_event_get(*, event_id: str) -> WebhookEvent | None:
    try:
        return WebhookEvent.get(WebhookEvent.key_for(event_id), "RECORD", consistent_read=True)
    except DoesNotExist:
        return None
