"""What orders need from payments, stated once: the small interface between the two rooms.

The arrows run one way: ``payments`` imports ``orders`` (it hands Stripe's facts to
``orders.actions``), ``orders`` never imports ``payments``. Yet an order is created with a
payment to take, and canceling an unpaid order (staff, expiry) must first cancel that payment.
Those few needs are this ``PaymentGateway`` protocol; its answers are facts, never a call back
into orders (a payment found taken is ``PaymentTaken``, and ``orders.actions`` pays the order).
The payments app implements it
(``payments.order_gateway``) and plugs it in from its ``AppConfig.ready``. Orders never writes
a ``Payment`` item or calls Stripe itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from pynamodb.transactions import TransactWrite


class PaymentRefused(Exception):
    """The payment provider refused the request (not retryable as is)."""


class PaymentMoving(Exception):
    """The payment went through or is in progress, so it cannot be canceled."""


class PaymentTaken(PaymentMoving):
    """The payment went through (the provider says it succeeded), and the payments app has it
    on record. ``first_news``: that record is new (no webhook had announced it)."""

    def __init__(self, *, first_news: bool) -> None:
        super().__init__("the payment was taken")
        self.first_news = first_news


@dataclass(frozen=True)
class PaymentStarted:
    payment_intent_id: str
    client_secret: str
    status: str


class PaymentGateway(Protocol):
    def payment_start(
        self, *, order_id: str, amount: int, currency: str
    ) -> PaymentStarted:  # pragma: no cover - protocol
        """Open the order's payment at the provider; the same order always gets the same
        payment. Raises ``PaymentProviderUnavailable`` or ``PaymentRefused``."""
        ...

    def payment_record_new(
        self,
        writes: TransactWrite,
        *,
        order_id: str,
        started: PaymentStarted,
        amount: int,
        currency: str,
        at: str,
    ) -> None:  # pragma: no cover - protocol
        """Add the new payment's item to ``writes``, the transaction that records the payment
        on the order (so both are written or neither)."""
        ...

    def payment_client_secret(self, *, payment_intent_id: str) -> str:  # pragma: no cover
        """The secret the storefront confirms the payment with (an idempotent re-run)."""
        ...

    def payment_abandon(self, *, order_id: str, payment_intent_id: str) -> None:  # pragma: no cover
        """Best effort: cancel the payment of an order that was never completed."""
        ...

    def payment_cancel(self, *, order_id: str, payment_intent_id: str) -> None:  # pragma: no cover
        """Cancel the order's payment before the order is canceled, and record it. Raises
        ``PaymentTaken`` if the money was taken (recorded on the payment; the order is
        ``orders.actions``'s to pay), ``PaymentMoving`` if it is moving."""
        ...


_gateway: PaymentGateway | None = None


def payment_gateway_set(gateway: PaymentGateway) -> None:
    """Called once, from the payments app's ``ready()``."""
    global _gateway
    _gateway = gateway


def payment_gateway() -> PaymentGateway:
    if _gateway is None:
        raise ImproperlyConfigured(
            "No payment gateway: the payments app must be in INSTALLED_APPS (it plugs one in)."
        )
    return _gateway
