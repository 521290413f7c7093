"""Every call to Stripe goes through this module: one cached client, one pinned API version,
idempotency keys from our own ids, and Stripe's errors turned into ours at this edge.

The ``stripe`` library is imported on first use only: it costs about half a second of cold
start, and most invocations (the catalog, order status, the admin's lists) never need it.
Locally and in tests ``STRIPE_API_BASE`` points the client at localstripe; in AWS it is unset.
The API key comes from Secrets Manager through ``core.config`` (rotation is picked up with
the config cache).

Every request first takes a slot of Stripe's request budget (``integrations.stripe_budget``:
the endpoint's and the account's, shared by every Lambda instance), new PaymentIntents behind
money already moving. A 429 that comes all the same pushes the endpoint's bucket back and is
retried within the caller's wait; past it the caller gets ``PaymentProviderBusy`` (a 429 with
``Retry-After`` for a buyer, never a 5xx). Retries of a lost connection or a 5xx are ours too
(once, with the same idempotency key), so that they also spend the budget: the library's own
are off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.config import parameters_get, stripe_secrets_get

# Defined in core.exceptions (order services answer with them too); used from here as well.
from core.exceptions import PaymentProviderBusy, PaymentProviderUnavailable
from integrations.stripe_budget import (
    BudgetExhausted,
    Priority,
    budget_penalise,
    budget_take,
)

if TYPE_CHECKING:
    import stripe

# The one place the Stripe API version is pinned (the webhook endpoint in Stripe's dashboard
# must use the same version).
STRIPE_API_VERSION = "2026-10-28.endive"
# Bounded well inside API Gateway's 29 s: a request that waits on Stripe answers 503 in time.
DEFAULT_TIMEOUT_SECONDS = 8
# Retries are ours (``_call``), within the budget: the library's are off.
NETWORK_RETRIES = 0


def _budget_wait_seconds(priority: Priority) -> float:
    """How long a call may wait for a slot of the budget (and for a 429 to clear): a buyer's
    new payment briefly, money already moving longer (SSM ``stripe_wait_new_seconds``, 3, and
    ``stripe_wait_moving_seconds``, 8; both well inside API Gateway's 29 s)."""
    parameters = parameters_get()
    if priority is Priority.NEW:
        return parameters.stripe_wait_new_seconds
    return parameters.stripe_wait_moving_seconds


# Stripe's endpoints as it counts them for its limits (one limit per named operation).
PI_CREATE = "POST /v1/payment_intents"
PI_RETRIEVE = "GET /v1/payment_intents/{id}"
PI_CANCEL = "POST /v1/payment_intents/{id}/cancel"
PI_UPDATE = "POST /v1/payment_intents/{id}"
PI_LIST = "GET /v1/payment_intents"
REFUND_CREATE = "POST /v1/refunds"
REFUND_RETRIEVE = "GET /v1/refunds/{id}"
REFUND_LIST = "GET /v1/refunds"
CHARGE_RETRIEVE = "GET /v1/charges/{id}"
DISPUTE_RETRIEVE = "GET /v1/disputes/{id}"
DISPUTE_LIST = "GET /v1/disputes"


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
    created: int | None = None  # unix seconds

    def __repr__(self) -> str:  # the client secret stays out of logs and tracebacks
        return f"PaymentIntent(id={self.id!r}, status={self.status!r}, amount={self.amount})"


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: int
    payment_intent_id: str | None
    reason: str | None = None
    charge_id: str | None = None
    # Stripe's reason for a failed refund (``failure_reason``, e.g. ``expired_or_canceled_card``)
    failure_reason: str | None = None
    # ``refund:{order_id}:{n}`` for refunds staff asked for here (our metadata on the refund)
    idempotency_key: str | None = None
    created: int | None = None  # unix seconds


@dataclass(frozen=True)
class Dispute:
    id: str
    status: str  # warning_needs_response, needs_response, under_review, won, lost, ...
    amount: int
    charge_id: str | None
    payment_intent_id: str | None
    reason: str | None
    evidence_due_by: int | None  # unix seconds: answer in Stripe before then
    created: int | None = None

    @property
    def open(self) -> bool:
        return self.status not in DISPUTE_CLOSED_STATUSES


# A dispute in one of these is decided; the others still want an answer or a decision.
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})
# Objects per page of a list call (Stripe's maximum is 100).
LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class Charge:
    id: str
    amount: int
    amount_refunded: int
    currency: str
    payment_intent_id: str | None
    refunds: tuple[RefundResult, ...]
    disputed: bool = False  # Stripe's ``disputed``: a dispute was opened on this charge
    # False when the charge's embedded list holds only the first page of its refunds.
    refunds_complete: bool = True


@dataclass(frozen=True)
class StripeSettings:
    """Everything this client is configured with, read in one place: the secret key and the
    webhook signing secret (Secrets Manager, through ``core.config``: rotation is picked up
    with the config cache), the API's address (``STRIPE_API_BASE``: localstripe locally and in
    tests, unset in AWS) and the request timeout (``STRIPE_TIMEOUT_SECONDS``)."""

    api_key: str
    webhook_secret: str
    api_base: str | None
    timeout: float


def stripe_settings() -> StripeSettings:
    secrets = stripe_secrets_get()
    return StripeSettings(
        api_key=secrets.api_key,
        webhook_secret=secrets.webhook_secret,
        api_base=os.environ.get("STRIPE_API_BASE") or None,
        timeout=float(os.environ.get("STRIPE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
    )


_lock = threading.Lock()
_client: tuple[tuple[str, str | None, float], Any] | None = None  # (what it was built with, client)


def _stripe_client() -> stripe.StripeClient:
    """The cached client, rebuilt when the key (rotation), base or timeout changes."""
    global _client
    settings = stripe_settings()
    identity = (settings.api_key, settings.api_base, settings.timeout)
    with _lock:
        if _client is None or _client[0] != identity:
            import stripe

            _client = (
                identity,
                stripe.StripeClient(
                    settings.api_key,
                    stripe_version=STRIPE_API_VERSION,
                    base_addresses={"api": settings.api_base} if settings.api_base else None,
                    http_client=stripe.RequestsClient(timeout=settings.timeout),
                    max_network_retries=NETWORK_RETRIES,
                ),
            )
        return _client[1]


def stripe_client_reset() -> None:
    """Forget the cached client (its key and connections): the next call builds a new one."""
    global _client
    with _lock:
        _client = None


def _translate(error: Exception) -> Exception:
    import stripe

    if isinstance(error, stripe.StripeError) and error.http_status == 404:
        # Also a 404 without Stripe's JSON body (an endpoint this Stripe lacks: localstripe
        # has no disputes), which the library reports as an APIError.
        return PaymentProviderNotFound(type(error).__name__, code=error.code)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderUnavailable()
    if isinstance(error, stripe.APIError | stripe.AuthenticationError):
        # 5xx, or our key is wrong/rotated: nothing the buyer did, and nothing to retry blindly.
        return PaymentProviderUnavailable()
    if isinstance(error, stripe.StripeError) and error.http_status == 404:
        return PaymentProviderNotFound(type(error).__name__, code=error.code)
    if isinstance(error, stripe.StripeError):
        return PaymentProviderError(_stripe_says(error), code=error.code)
    return error


def _stripe_says(error: stripe.StripeError) -> str:
    """Stripe's own words for a refusal (the error object's ``message``: "Charge ch_… has
    already been refunded."), else the message meant for the buyer, else the error's kind.
    They name Stripe's objects, never card numbers."""
    body = getattr(error, "error", None)
    return str(getattr(body, "message", None) or error.user_message or type(error).__name__)


@dataclass(frozen=True)
class AnswerWatcher:
    """Told whether Stripe answers: ``unavailable()`` after a call Stripe could not serve,
    ``answered()`` after every call it did. The payments app watches (its health banner)."""

    unavailable: Callable[[], None]
    answered: Callable[[], None]


_watchers: list[AnswerWatcher] = []


def answers_watch(watcher: AnswerWatcher) -> None:
    """Register a watcher (from an ``AppConfig.ready``); this client imports no app."""
    if watcher not in _watchers:
        _watchers.append(watcher)


def _budget_take(endpoint: str, priority: Priority, deadline: float) -> None:
    from pynamodb.exceptions import PynamoDBException

    try:
        budget_take(
            endpoint=endpoint, priority=priority, wait_seconds=max(0.0, deadline - time.monotonic())
        )
    except BudgetExhausted as exhausted:
        raise PaymentProviderBusy(retry_after=max(1, round(exhausted.retry_after + 0.5))) from None
    except PynamoDBException:
        # The budget cannot be read: sending anyway could exceed it; Stripe is "unavailable".
        raise PaymentProviderUnavailable() from None


def _call(
    endpoint: str, operation: Any, *args: Any, priority: Priority = Priority.MOVING, **kwargs: Any
) -> Any:
    """One request to Stripe within the budget of ``endpoint``; its errors turned into ours.
    A 429 is retried within the budget until the caller's wait is over; a lost connection, a
    5xx or a 409 (the same idempotency key still running) once. Whether Stripe answers is told
    to the watchers (``answers_watch``)."""
    import stripe

    deadline = time.monotonic() + _budget_wait_seconds(priority)
    limited = retried = 0
    while True:
        _budget_take(endpoint, priority, deadline)
        try:
            answer = operation(*args, **kwargs)
        except stripe.RateLimitError:
            limited += 1
            pause = min(2.0, 0.1 * 2**limited) * random.uniform(0.5, 1.0)  # noqa: S311
            budget_penalise(endpoint=endpoint, seconds=pause)
            if time.monotonic() + pause < deadline:
                time.sleep(pause)
                continue
            raise PaymentProviderBusy(retry_after=max(1, round(pause + 0.5))) from None
        except stripe.StripeError as error:
            status = getattr(error, "http_status", None)
            transient = isinstance(error, stripe.APIConnectionError) or (
                status is not None and (status >= 500 or status == 409)
            )
            if transient and not retried and time.monotonic() + 0.5 < deadline:
                retried += 1
                time.sleep(random.uniform(0.1, 0.5))  # noqa: S311 - jitter
                continue
            translated = _translate(error)
            if isinstance(translated, PaymentProviderUnavailable):
                for watcher in _watchers:
                    watcher.unavailable()
            raise translated from None
        for watcher in _watchers:
            watcher.answered()
        return answer


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
        created=int(obj["created"]) if obj.get("created") is not None else None,
    )


def payment_intents_list(
    *, created_after: int | None, page_size: int = LIST_PAGE_SIZE
) -> Iterator[PaymentIntent]:
    """Every PaymentIntent created after ``created_after`` (unix seconds) in the account, read
    page by page (Stripe lists newest first; localstripe in no order, so the cut is made on
    each intent rather than by stopping at the first older one)."""
    pages = _paged(
        PI_LIST,
        _stripe_client().v1.payment_intents.list,
        _created_filter(created_after),
        page_size,
    )
    for obj in pages:
        intent = _payment_intent(obj)
        if created_after is not None and intent.created is not None:
            if intent.created <= created_after:
                continue
        yield intent


def payment_intent_create(
    *, order_id: str, amount: int, currency: str, idempotency_key: str
) -> PaymentIntent:
    """A PaymentIntent for an order. The same ``idempotency_key`` within 24 h returns the same
    intent from Stripe, so a retry after a crash never charges twice."""
    intent = _call(
        PI_CREATE,
        _stripe_client().v1.payment_intents.create,
        params={"amount": amount, "currency": currency, "metadata": {"order_id": order_id}},
        options={"idempotency_key": idempotency_key},
        priority=Priority.NEW,
    )
    return _payment_intent(intent)


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    return _payment_intent(
        _call(PI_RETRIEVE, _stripe_client().v1.payment_intents.retrieve, payment_intent_id)
    )


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntent:
    intent = _call(
        PI_CANCEL,
        _stripe_client().v1.payment_intents.cancel,
        payment_intent_id,
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(intent)


def payment_intent_metadata_unset(
    *, payment_intent_id: str, keys: list[str], idempotency_key: str
) -> PaymentIntent:
    """Remove ``keys`` from a PaymentIntent's metadata (Stripe deletes a key set to ``""``):
    how an erasure takes a buyer's data out of Stripe. Safe to repeat."""
    intent = _call(
        PI_UPDATE,
        _stripe_client().v1.payment_intents.update,
        payment_intent_id,
        params={"metadata": dict.fromkeys(keys, "")},
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(intent)


def refund_create(
    *,
    payment_intent_id: str,
    amount: int,
    idempotency_key: str,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> RefundResult:
    """Refund ``amount`` (minor units) of a PaymentIntent; the key is ``refund:{order}:{n}``,
    also kept in the refund's metadata, so a list of refunds tells which request made each.
    ``reason`` is one of Stripe's (``requested_by_customer``, ``duplicate``, ``fraudulent``)."""
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "amount": amount,
        "metadata": {**(metadata or {}), "idempotency_key": idempotency_key},
    }
    if reason:
        params["reason"] = reason
    refund = _call(
        REFUND_CREATE,
        _stripe_client().v1.refunds.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )
    return _refund(refund)


def refund_retrieve(*, refund_id: str) -> RefundResult:
    return _refund(_call(REFUND_RETRIEVE, _stripe_client().v1.refunds.retrieve, refund_id))


def _id_of(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else value.get("id")


def _refund(refund: Any) -> RefundResult:
    refund = _plain(refund)
    return RefundResult(
        id=refund["id"],
        status=refund["status"],
        amount=int(refund["amount"]),
        payment_intent_id=_id_of(refund.get("payment_intent")),
        charge_id=_id_of(refund.get("charge")),
        reason=refund.get("reason"),
        failure_reason=refund.get("failure_reason"),
        idempotency_key=(refund.get("metadata") or {}).get("idempotency_key"),
        created=refund.get("created"),
    )


def _paged(
    endpoint: str, operation: Any, params: dict[str, Any], page_size: int = LIST_PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every object of a list call, page after page, as Stripe's lists are meant to be read:
    the next page asked for with ``starting_after`` (the last id seen) while ``has_more`` is
    true. Each page is one request, within the budget, its errors turned into ours."""
    after: str | None = None
    while True:
        page_params = {"limit": page_size, **params}
        if after is not None:
            page_params["starting_after"] = after
        page = _plain(_call(endpoint, operation, params=page_params))
        data = [_plain(obj) for obj in page.get("data") or []]
        yield from data
        if not page.get("has_more") or not data:
            return
        after = data[-1]["id"]


def refunds_of_payment_intent(*, payment_intent_id: str) -> list[RefundResult]:
    """Every refund of a PaymentIntent, newest first (all pages: a charge's embedded
    ``refunds`` holds the first few only)."""
    return [
        _refund(r)
        for r in _paged(
            REFUND_LIST, _stripe_client().v1.refunds.list, {"payment_intent": payment_intent_id}
        )
    ]


def _created_filter(created_after: int | None) -> dict[str, Any]:
    """Stripe's ``created[gt]`` list filter. localstripe (``STRIPE_API_BASE`` set) refuses it on
    refunds, so there the whole list is read and cut by ``created`` here: the same pages,
    the same ``auto_paging_iter``, only the cut moves."""
    if created_after is None or os.environ.get("STRIPE_API_BASE"):
        return {}
    return {"created": {"gt": created_after}}


def refunds_list(
    *, created_after: int | None, page_size: int = LIST_PAGE_SIZE
) -> Iterator[RefundResult]:
    """Every refund created after ``created_after`` (unix seconds) in the account, newest first,
    read page by page (``None``: every refund)."""
    pages = _paged(
        REFUND_LIST, _stripe_client().v1.refunds.list, _created_filter(created_after), page_size
    )
    for obj in pages:
        refund = _refund(obj)
        if created_after is not None and refund.created is not None:
            if refund.created <= created_after:
                break  # newest first: the rest are older
        yield refund


def _dispute(obj: dict[str, Any]) -> Dispute:
    evidence = obj.get("evidence_details") or {}
    return Dispute(
        id=obj["id"],
        created=obj.get("created"),
        status=obj.get("status") or "needs_response",
        amount=int(obj.get("amount") or 0),
        charge_id=_id_of(obj.get("charge")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        reason=obj.get("reason"),
        evidence_due_by=evidence.get("due_by"),
    )


def dispute_from_event(obj: dict[str, Any]) -> Dispute:
    """A dispute as an event carries it (for its id; decisions re-read it where Stripe can)."""
    return _dispute(obj)


def dispute_retrieve(*, dispute_id: str) -> Dispute:
    return _dispute(
        _plain(_call(DISPUTE_RETRIEVE, _stripe_client().v1.disputes.retrieve, dispute_id))
    )


def disputes_of_payment_intent(*, payment_intent_id: str) -> list[Dispute]:
    """The disputes of a PaymentIntent, newest first."""
    return [
        _dispute(d)
        for d in _paged(
            DISPUTE_LIST, _stripe_client().v1.disputes.list, {"payment_intent": payment_intent_id}
        )
    ]


def disputes_list(*, created_after: int | None) -> Iterator[Dispute]:
    """Every dispute created after ``created_after`` (unix seconds), newest first, page by
    page. Raises ``PaymentProviderNotFound`` where the endpoint does not exist (localstripe)."""
    params = _created_filter(created_after)
    return (_dispute(d) for d in _paged(DISPUTE_LIST, _stripe_client().v1.disputes.list, params))


def charge_retrieve(*, charge_id: str) -> Charge:
    """A charge with its refunds (expanded: recent API versions leave them out otherwise)."""
    charge = _call(
        CHARGE_RETRIEVE,
        _stripe_client().v1.charges.retrieve,
        charge_id,
        params={"expand": ["refunds"]},
    )
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
        refunds_complete=not refunds.get("has_more"),
    )


class SignatureInvalid(ValueError):
    """``Stripe-Signature`` is missing, malformed, wrong or too old."""


def _signature_verify(payload: str, header: str, secret: str, tolerance: int) -> None:
    """Stripe's ``Stripe-Signature`` scheme, as ``stripe.WebhookSignature.verify_header``
    applies it (https://docs.stripe.com/webhooks#verify-manually): ``t=<unix time>`` and one
    or more ``v1=<hex HMAC-SHA256 of "{t}.{payload}" with the signing secret>``; the
    signature must match in constant time and ``t`` be no older than ``tolerance`` seconds.
    Done with the standard library: importing the ``stripe`` package to check an HMAC would
    cost every cold webhook a few hundred milliseconds. Raises ``SignatureInvalid``."""
    if not header or not secret.strip():
        raise SignatureInvalid("no signature header or no signing secret")
    items = [item.split("=", 2) for item in header.split(",")]
    timestamps = [item[1] for item in items if item[0] == "t" and len(item) > 1]
    try:
        timestamp = int(timestamps[0])
    except (IndexError, ValueError):
        raise SignatureInvalid("no timestamp in the signature header") from None
    signatures = [item[1] for item in items if item[0] == "v1" and len(item) > 1]
    if not signatures:
        raise SignatureInvalid("no v1 signature in the signature header")
    expected = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureInvalid("no signature matches the payload")
    if tolerance and timestamp < time.time() - tolerance:
        raise SignatureInvalid("the signature's timestamp is outside the tolerance")


def webhook_event_verify(
    *, payload: bytes, signature_header: str, tolerance: int = 300
) -> dict[str, Any]:
    """Check ``Stripe-Signature`` over the raw body with the signing secret and the tolerance,
    and return the event as a plain dict. Raises ``ValueError`` on any failure (missing,
    malformed, wrong or stale signature, or a body that is not an event)."""
    secret = stripe_settings().webhook_secret
    if not secret:  # a function without a signing secret accepts no event
        raise ValueError("webhook rejected: no signing secret configured")
    try:
        _signature_verify(payload.decode("utf-8"), signature_header, secret, tolerance)
        event = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"webhook rejected: {type(error).__name__}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise ValueError("webhook rejected: not an event")
    return event
