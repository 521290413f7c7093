"""Reads the back office needs: every one a key lookup or an index Query, never a Scan.

Kept apart from the storefront's selectors so the admin's access patterns (and their costs)
are listed in one place. Each function says which key or index it uses.
"""

from __future__ import annotations

from orders.emails import email_normalise
from orders.models import Customer, Order, TicketType
from orders.selectors import ticket_type_seats_get
from payments.models import Payment


def order_get(*, order_id: str) -> Order | None:
    """By key (``order_id``; the range key is found by a Query of the one partition)."""
    return next(iter(Order.query(order_id, limit=1, consistent_read=True)), None)


def orders_of_customer(*, customer_id: str, limit: int = 50) -> list[Order]:
    """``customer-id-index``, newest first."""
    return list(Order.customer_index.query(customer_id, scan_index_forward=False, limit=limit))


def customers_by_email(*, email: str) -> list[Customer]:
    """``email-index`` on the normalised e-mail."""
    try:
        normalised = email_normalise(email)
    except ValueError:
        return []
    return list(Customer.email_index.query(normalised, limit=5))


def orders_by_email(*, email: str, limit: int = 50) -> list[Order]:
    """``email-index`` then ``customer-id-index``."""
    orders: list[Order] = []
    for customer in customers_by_email(email=email):
        orders.extend(orders_of_customer(customer_id=customer.customer_id, limit=limit))
    return orders


def customer_get(*, customer_id: str) -> Customer | None:
    try:
        return Customer.get(customer_id, consistent_read=True)
    except Customer.DoesNotExist:
        return None


def payment_get(*, payment_id: str) -> Payment | None:
    """By key (``payment_id`` is the PaymentIntent id)."""
    return next(iter(Payment.query(payment_id, limit=1, consistent_read=True)), None)


def payments_of_order(*, order_id: str) -> list[Payment]:
    """``order-id-index``, newest first."""
    return list(Payment.order_index.query(order_id, scan_index_forward=False, limit=20))


def orders_by_payment_intent(*, payment_intent_id: str) -> list[Order]:
    """The payments table's key, then the order's."""
    payment = payment_get(payment_id=payment_intent_id)
    order = order_get(order_id=payment.order_id) if payment else None
    return [order] if order else []


def ticket_type_get(*, sku: str) -> TicketType | None:
    """With its seats left summed over its shards for a sharded type."""
    return ticket_type_seats_get(sku=sku)
