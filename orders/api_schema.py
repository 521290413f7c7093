"""The storefront API's OpenAPI contract beyond the serializers: headers, error answers with
their ``code`` values, examples, and what a client does in each order state.

``GET /schema`` is the whole contract the storefront team (and ``storefront/src/api``, the
typed client generated from it) relies on, so everything a client must handle is stated here
once: the shared headers and errors in ``core.api_schema``, the webhook's in
``payments.api_schema``, the orders' here. This module describes; it must not
decide anything (the codes come from the exception classes that raise them).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema_field,
)
from rest_framework import serializers

from core.api_schema import (  # noqa: F401  (the order views read them here too)
    MALFORMED,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    REQUEST_ID,
    REQUEST_ID_IN,
    RETRY_AFTER,
    UNSUPPORTED_MEDIA_TYPE,
    error_response,
    error_serializer,
)
from core.idempotency import MAX_KEY_LENGTH, RECORD_TTL
from orders.models import FulfillmentStatus, OrderStatus

# --- Headers ---------------------------------------------------------------------------------


API_VERSION = OpenApiParameter(
    "API-Version",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    enum=["2025-01-01", "2026-12-07"],
    description=(
        "`2025-01-01` (the default): the order's answer carries its PaymentIntent "
        "(`payment.client_secret`). `2026-12-07`: the PaymentIntent is opened when the buyer "
        "pays (`POST /orders/{order_id}/payment`), so a cart never paid costs Stripe nothing; "
        "`payment` is null. Anything else: `400 invalid_api_version`."
    ),
)

LINE_TOKEN = OpenApiParameter(
    "Line-Token",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "During an on-sale with a line: the token of `POST /onsales/{sku}/line`, once "
        "`GET /onsales/{sku}/line` says `admitted`. Without it, `403 line_pass_required`."
    ),
)
LINE_TOKEN_REQUIRED = OpenApiParameter(
    "Line-Token",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description="The token `POST /onsales/{sku}/line` gave you.",
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        # Visible ASCII: U+0021 to U+007E, no spaces.
        "pattern": "^[!-~]+$",
    },
    description=(
        f"Optional, strongly recommended: 1 to {MAX_KEY_LENGTH} visible ASCII characters "
        "(no spaces), e.g. a UUID made when the buyer presses Buy and kept until the order "
        f"exists. Kept {int(RECORD_TTL.total_seconds() // 3600)} hours. The same key with the "
        "same body answers the first answer again (same order, same `client_secret`), so a "
        "retry after a timeout or a lost connection never makes a second order. The same key "
        "with another body: `422 idempotency_key_reused`. While the first request with the key "
        "still runs: `409 idempotency_in_progress` (retry in a second). A malformed key: "
        "`400 invalid_idempotency_key`."
    ),
    examples=[OpenApiExample("uuid", value="3f0c8a4e-5d3b-4a53-9a51-8f7e7c1b2d10")],
)


# --- Error answers ---------------------------------------------------------------------------

ORDER_NOT_FOUND = error_response(
    "NotFoundError",
    {"not_found": "No order with this id."},
    "No order with this id (or it is not an order id). Check the id you kept from `POST /orders`.",
)
ORDER_CREATE_ERRORS = {
    400: error_response(
        "OrderCreateBadRequestError",
        {
            "validation_error": "The body is not valid; `fields` names every bad field.",
            "invalid_idempotency_key": (
                f"Idempotency-Key is not 1 to {MAX_KEY_LENGTH} visible ASCII characters."
            ),
            "invalid_api_version": "API-Version is not one this API knows.",
            **MALFORMED,
        },
        "The request is not valid; nothing was created. Fix it before sending it again: for "
        "`validation_error`, `fields` names each bad field by its path in the body.",
    ),
    403: error_response(
        "OrderCreateLineError",
        {
            "line_pass_required": ("This on-sale admits buyers through its line: join it first."),
            "line_not_admitted_yet": "Your place in the line has not been reached yet.",
        },
        "The ticket type is on sale through a line: join it (`POST /onsales/{sku}/line`), "
        "poll until `admitted`, then send the order again with `Line-Token`. Nothing was "
        "created.",
    ),
    409: error_response(
        "OrderCreateConflictError",
        {
            "sold_out": "Not enough seats are left for this order; `fields` names the lines.",
            "seats_in_carts": (
                "An on-sale's buyer, admitted: the seats left are in other buyers' unpaid carts "
                "and may come back; send the same order again after `Retry-After` seconds "
                "(`sold_out` once none is left or held)."
            ),
            "idempotency_in_progress": (
                "A request with this Idempotency-Key is still running; retry shortly."
            ),
            "conflict": "The order collided with another write; send it again.",
        },
        "`sold_out`: nothing was created; show the buyer which lines (`fields`) and reload "
        "`GET /catalog` for what is left. `idempotency_in_progress`: the first request with "
        "this key is still running; send the same request again after a second.",
        example_code="sold_out",
    ),
    422: error_response(
        "OrderCreateKeyReusedError",
        {
            "idempotency_key_reused": (
                "This Idempotency-Key was used with a different request body."
            )
        },
        "The Idempotency-Key was used before with another body: a new order needs a new key.",
    ),
    429: error_response(
        "RateLimitedError",
        {
            "rate_limited": "Too many requests; slow down.",
            "payment_provider_busy": "Payments are busy; try again in a moment.",
        },
        "`rate_limited`: too many orders from this client address this minute (the SSM "
        "parameter `orders_rate_limit_per_minute`, default 30). `payment_provider_busy` (the "
        "original flow only): Stripe's request budget had no slot for the PaymentIntent. "
        "Either way nothing was created; wait `Retry-After` seconds.",
    ),
    503: error_response(
        "OrderCreateUnavailableError",
        {
            "payment_provider_unavailable": (
                "The payment provider is unavailable; try again shortly."
            ),
            "service_unavailable": ("A service we depend on is unavailable; try again shortly."),
        },
        "Stripe (or the database) did not answer in time. Nothing was kept: no order, no seats "
        "held, no charge. Send the same request (same Idempotency-Key) after `Retry-After` "
        "seconds.",
    ),
}

LINE_NOT_FOUND = error_response(
    "LineNotFoundError",
    {"not_found": "No on-sale is open for this ticket type."},
    "No line for this sku: order directly with `POST /orders`.",
)
LINE_TOKEN_INVALID = error_response(
    "LineTokenInvalidError",
    {"line_pass_required": "This line token is not valid for this on-sale; join again."},
    "The token is missing, altered or for another on-sale: join the line again.",
)

ORDER_PAYMENT_ERRORS = {
    404: ORDER_NOT_FOUND,
    409: error_response(
        "OrderNotPayableError",
        {"order_not_payable": "This order can no longer be paid (expired, canceled or paid)."},
        "The order expired (its hold ran out), was canceled or is paid: place a new order.",
    ),
    429: error_response(
        "PaymentBusyError",
        {"payment_provider_busy": "Payments are busy; try again in a moment (see Retry-After)."},
        "Stripe's request budget has no slot right now. Nothing changed (the seats stay held): "
        "send the same request after `Retry-After` seconds.",
    ),
    503: error_response(
        "OrderPaymentUnavailableError",
        {
            "payment_provider_unavailable": (
                "The payment provider is unavailable; try again shortly."
            ),
            "service_unavailable": "A service we depend on is unavailable; try again shortly.",
        },
        "Stripe (or the database) did not answer in time. Send it again after `Retry-After`.",
    ),
}


# --- Order states ----------------------------------------------------------------------------

ORDER_STATES: dict[str, str] = {
    OrderStatus.PENDING_PAYMENT: (
        "Waiting for payment; seats are held. Confirm the PaymentIntent with Stripe.js and "
        "`payment.client_secret`, then poll this order. A declined card leaves the order here: "
        "let the buyer try another card with the same `client_secret`. Unpaid orders are "
        "canceled after `order_expiry_minutes` (30 by default), or the on-sale's own hold time for "
        "a ticket type sold through a line."
    ),
    OrderStatus.PAID: (
        "Payment received; tickets are being issued (`fulfillment.status` is `pending`). "
        "Keep polling (every 1-2 s) until `fulfilled`."
    ),
    OrderStatus.FULFILLED: "Done: show `fulfillment.tickets`. Stop polling.",
    OrderStatus.FULFILLMENT_FAILED: (
        "Paid, but the vendor could not issue the tickets after every retry. Staff are alerted "
        "and will reissue or refund; tell the buyer so, with the order id. Stop polling."
    ),
    OrderStatus.CANCELED: (
        "Not paid in time (or the payment was canceled); the seats are released. Offer to "
        "start a new order. Stop polling."
    ),
    OrderStatus.REFUNDED: (
        "Paid, then refunded in full; the tickets are voided at the vendor (each ticket's "
        "`state` turns `void` once the vendor confirms). Stop polling."
    ),
    OrderStatus.PARTIALLY_REFUNDED: (
        "Paid, then refunded in part (`refunded_amount`). Show the tickets, each with its "
        "`state` (the ones given back are `void`). Stop polling."
    ),
}

FULFILLMENT_STATES: dict[str, str] = {
    FulfillmentStatus.NOT_STARTED: "Not paid yet.",
    FulfillmentStatus.PENDING: "Paid; the vendor is issuing the tickets (retried on failure).",
    FulfillmentStatus.FULFILLED: "Tickets issued: `tickets` lists them.",
    FulfillmentStatus.FAILED: "Gave up after every retry; staff follow up.",
}


ORDER_STATE_CHOICES = [str(s) for s in ORDER_STATES]
FULFILLMENT_STATE_CHOICES = [str(s) for s in FULFILLMENT_STATES]


def _states_field(states: dict[str, str], intro: str) -> type[serializers.CharField]:
    @extend_schema_field(
        {
            "type": "string",
            "enum": [str(s) for s in states],
            "description": intro
            + "\n\n"
            + "\n".join(f"- `{state}`: {meaning}" for state, meaning in states.items()),
        }
    )
    class StateField(serializers.CharField):
        pass

    return StateField


OrderStateField = _states_field(
    ORDER_STATES,
    "The order's state, and what a client does in it. A client must treat an unknown "
    "value like `pending_payment` plus a note to contact support (new states may be added).",
)
FulfillmentStateField = _states_field(FULFILLMENT_STATES, "Ticket issuing.")


# --- Examples --------------------------------------------------------------------------------

ORDER_CREATE_REQUEST_EXAMPLE = OpenApiExample(
    "two tickets",
    value={
        "customer": {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+44 20 7946 0000",
        },
        "items": [{"sku": "ga-2027", "quantity": 2}],
    },
    request_only=True,
)
_ITEMS = [
    {
        "sku": "ga-2027",
        "name": "General admission",
        "quantity": 2,
        "unit_amount": 8900,
        "amount": 17800,
    },
]
ORDER_CREATED_EXAMPLE = OpenApiExample(
    "created",
    value={
        "order_id": "ord_01JD8X4J6N9V2Q7R5T3W1Y0Z8A",
        "status": "pending_payment",
        "currency": "eur",
        "total_amount": 17800,
        "items": _ITEMS,
        "payment": {
            "payment_intent_id": "pi_3QabcDEF123",
            "client_secret": "pi_3QabcDEF123_secret_XYZ",
        },
        "created_at": "2026-11-25T15:04:05.123456+00:00",
    },
    response_only=True,
    status_codes=["201"],
)
ORDER_STATUS_EXAMPLE = OpenApiExample(
    "fulfilled",
    value={
        "order_id": "ord_01JD8X4J6N9V2Q7R5T3W1Y0Z8A",
        "status": "fulfilled",
        "currency": "eur",
        "total_amount": 17800,
        "refunded_amount": 0,
        "items": _ITEMS,
        "customer": {"email": "a***@example.com"},
        "fulfillment": {
            "status": "fulfilled",
            "tickets": [
                {"ticket_id": "tkt_1", "sku": "ga-2027", "code": "GA-7F3K-19QZ", "state": "valid"},
                {"ticket_id": "tkt_2", "sku": "ga-2027", "code": "GA-8J2M-44XB", "state": "valid"},
            ],
        },
        "created_at": "2026-11-25T15:04:05.123456+00:00",
        "updated_at": "2026-11-25T15:04:09.654321+00:00",
    },
    response_only=True,
    status_codes=["200"],
)
# A list answer: drf-spectacular wraps the example in the list itself.
CATALOG_EXAMPLE = OpenApiExample(
    "catalog",
    value={
        "sku": "ga-2027",
        "name": "General admission",
        "description": "Standing, all days.",
        "unit_amount": 8900,
        "currency": "eur",
        "available": 412,
    },
    response_only=True,
    status_codes=["200"],
)

API_DESCRIPTION = """\
Catalog, orders and order status for the storefront, and the endpoint Stripe delivers its
events to. A typed TypeScript client generated from this document lives in `storefront/src/api`.

**A purchase, from the storefront's side**

1. `GET /catalog`: what is on sale, prices in minor units, seats left.
2. `POST /orders` with an `Idempotency-Key` (one per press of "Buy"; send the same key again
   when retrying after a timeout or a 5xx): `201` with `payment.client_secret`.
3. Confirm the payment with Stripe.js (Payment Element) and that `client_secret`.
4. Poll `GET /orders/{order_id}` every 1-2 s: `pending_payment` -> `paid` -> `fulfilled`, then
   show `fulfillment.tickets`. Each state says what to do in it (`OrderStatus.status`).

**Errors.** Every error answers `{"error": {"code": "...", "message": "...", "fields"?: {...}}}`.
Switch on `code` (each answer below lists its codes); show `message` to people; `fields`
(validation errors and `sold_out`) maps a dotted path in the body (`items.0.quantity`) to
messages. `429` and `503` carry `Retry-After` (seconds). No request gets a `500` by design; if
one does, it has the same shape with `code` `internal_error`.

**Headers.** Every answer carries `X-Request-Id`; send your own (1 to 128 of
`A-Z a-z 0-9 = ; : . _ -`) to find it in our logs. CORS allows only the storefront's origins and exposes
`Retry-After` and `X-Request-Id`.
"""


def schema_postprocess(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: the long description (kept here, not in settings)."""
    result["info"]["description"] = API_DESCRIPTION
    return result
