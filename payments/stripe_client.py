"""Every call to Stripe goes through this module: one cached client, one pinned API version,
idempotency keys from our own ids, and Stripe's errors turned into ours at this edge.

The ``stripe`` library is imported on first use only: it costs about half a second of cold
start, and most invocations (the catalog, order status, the admin's lists) never need it.
Locally and in tests ``STRIPE_API_BASE`` points the client at localstripe; in AWS it is unset.
The API key comes from Secrets Manager through ``tickets.config`` (rotation is picked up with
the config cache).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickets.config import secrets_get

# Defined in tickets.exceptions (order services answer with it too); used from here as well.
from tickets.exceptions import PaymentProviderUnavailable

if TYPE_CHECKING:
    import stripe

# The one place the Stripe API version is pinned (the webhook endpoint in Stripe's dashboard
# must use the same version).
STRIPE_API_VERSION = "2026-10-28.endive"
# Bounded well inside API Gateway's 29 s: a request that waits on Stripe answers 503 in time.
DEFAULT_TIMEOUT_SECONDS = 8
# The library retries connection errors and 409/429/5xx with the same idempotency key.
NETWORK_RETRIES = 1


class PaymentProviderError(Exception):
    """Stripe refused the request (invalid request, card error...). Not retryable as is."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PaymentProviderNotFound(PaymentProviderError):
    """Stripe has no such object in this account (HTTP 404)."""


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    latest_charge: str | None
    metadata: dict[str, str]

    def __repr__(self) -> str:  # the client secret stays out of logs and tracebacks
        return f"PaymentIntent(id={self.id!r}, status={self.status!r}, amount={self.amount})"


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int
    payment_intent_id: str | None
    reservation: str | None = None  # our key for it (metadata), to match a reservation


@dataclass(frozen=True)
class Charge:
    id: str
    amount: int
    amount_refunded: int
    currency: str
    payment_intent_id: str | None
    refunds: tuple[RefundResult, ...]
    disputed: bool = False  # Stripe's ``disputed``: a dispute was opened on this charge


_lock = threading.Lock()
_client: tuple[tuple[str, str | None, float], Any] | None = None  # (what it was built with, client)


def _stripe_client() -> stripe.StripeClient:
    """The cached client, rebuilt when the key (rotation), base or timeout changes."""
    global _client
    base = os.environ.get("STRIPE_API_BASE") or None
    timeout = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
    identity = (secrets_get().stripe_api_key, base, timeout)
    with _lock:
        if _client is None or _client[0] != identity:
            import stripe

            _client = (
                identity,
                stripe.StripeClient(
                    identity[0],
                    stripe_version=STRIPE_API_VERSION,
                    base_addresses={"api": base} if base else None,
                    http_client=stripe.RequestsClient(timeout=timeout),
                    max_network_retries=NETWORK_RETRIES,
                ),
            )
        return _client[1]


def _translate(error: Exception) -> Exception:
    import stripe

    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderUnavailable()
    if isinstance(error, stripe.APIError | stripe.AuthenticationError):
        # 5xx, or our key is wrong/rotated: nothing the buyer did, and nothing to retry blindly.
        return PaymentProviderUnavailable()
    if isinstance(error, stripe.StripeError) and error.http_status == 404:
        return PaymentProviderNotFound(type(error).__name__, code=error.code)
    if isinstance(error, stripe.StripeError):
        return PaymentProviderError(error.user_message or type(error).__name__, code=error.code)
    return error


def _call(operation: Any, *args: Any, **kwargs: Any) -> Any:
    import stripe

    try:
        return operation(*args, **kwargs)
    except stripe.StripeError as error:
        raise _translate(error) from None


def _plain(obj: Any) -> dict[str, Any]:
    # The library's objects stopped being dicts (no ``.get``); read them as plain data.
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _payment_intent(obj: Any) -> PaymentIntent:
    obj = _plain(obj)
    charge = obj.get("latest_charge")
    return PaymentIntent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=obj["currency"],
        client_secret=obj.get("client_secret"),
        latest_charge=charge if isinstance(charge, str) or charge is None else charge.get("id"),
        metadata=dict(obj.get("metadata") or {}),
    )


def payment_intent_create(
    *, order_id: str, amount: int, currency: str, idempotency_key: str
) -> PaymentIntent:
    """A PaymentIntent for an order. The same ``idempotency_key`` within 24 h returns the same
    intent from Stripe, so a retry after a crash never charges twice."""
    intent = _call(
        _stripe_client().v1.payment_intents.create,
        params={"amount": amount, "currency": currency, "metadata": {"order_id": order_id}},
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(intent)


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    return _payment_intent(_call(_stripe_client().v1.payment_intents.retrieve, payment_intent_id))


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntent:
    intent = _call(
        _stripe_client().v1.payment_intents.cancel,
        payment_intent_id,
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(intent)


def refund_create(*, payment_intent_id: str, amount: int, idempotency_key: str) -> RefundResult:
    """Refund ``amount`` (minor units) of a PaymentIntent; the key is ``refund:{order}:{n}``,
    also kept in the refund's metadata (``reservation``) so whoever reads the refund back from
    Stripe (the webhook, a sync) can tell which reservation it fulfils."""
    refund = _call(
        _stripe_client().v1.refunds.create,
        params={
            "payment_intent": payment_intent_id,
            "amount": amount,
            "metadata": {"reservation": idempotency_key},
        },
        options={"idempotency_key": idempotency_key},
    )
    return _refund(refund)


def _refund(refund: Any) -> RefundResult:
    refund = _plain(refund)
    return RefundResult(
        id=refund["id"],
        status=refund["status"],
        amount=int(refund["amount"]),
        payment_intent_id=refund.get("payment_intent"),
        reservation=(refund.get("metadata") or {}).get("reservation"),
    )


def charge_retrieve(*, charge_id: str) -> Charge:
    """A charge with its refunds (expanded: recent API versions leave them out otherwise)."""
    charge = _call(_stripe_client().v1.charges.retrieve, charge_id, params={"expand": ["refunds"]})
    charge = _plain(charge)
    refunds = charge.get("refunds") or {}
    return Charge(
        id=charge["id"],
        amount=int(charge["amount"]),
        amount_refunded=int(charge.get("amount_refunded") or 0),
        currency=charge["currency"],
        payment_intent_id=charge.get("payment_intent"),
        refunds=tuple(_refund(r) for r in (refunds.get("data") or [])),
        disputed=bool(charge.get("disputed")),
    )


def webhook_event_verify(
    *, payload: bytes, signature_header: str, tolerance: int = 300
) -> dict[str, Any]:
    """Check ``Stripe-Signature`` over the raw body with the signing secret and the tolerance,
    and return the event as a plain dict. Raises ``ValueError`` on any failure (missing,
    malformed, wrong or stale signature, or a body that is not an event)."""
    import json

    import stripe

    secret = secrets_get().stripe_webhook_secret
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature_header, secret, tolerance=tolerance
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"webhook rejected: {type(error).__name__}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise ValueError("webhook rejected: not an event")
    return event
