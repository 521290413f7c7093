"""What orders need from payments, stated once: the small interface between the two rooms.

The arrows run one way: ``payments`` imports ``orders`` (its webhooks and refunds call order
actions), ``orders`` never imports ``payments``. Yet an order is created with a payment to
take, and canceling an unpaid order (staff, expiry) must first cancel that payment. Those few
needs are this ``PaymentGateway`` protocol; the payments app implements it
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
        ``PaymentMoving`` if money moved or is moving."""
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
