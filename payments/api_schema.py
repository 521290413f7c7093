"""The webhook endpoint's OpenAPI contract: Stripe's signature header, the outcomes and the
error answers Stripe sees (``POST /webhooks/stripe``). Describes; decides nothing."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from core.api_schema import (  # noqa: F401  (the webhook view reads them here too)
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    REQUEST_ID,
    error_response,
)

RETRY_AFTER_WEBHOOK = OpenApiParameter(
    "Retry-After",
    location=OpenApiParameter.HEADER,
    response=[409, 503],
    type=int,
    description="Seconds after which a retry can succeed (Stripe keeps its own schedule).",
)

STRIPE_SIGNATURE = OpenApiParameter(
    "Stripe-Signature",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description="Stripe's signature over the raw body (`t=...,v1=...`), checked before parsing.",
)

WEBHOOK_ERRORS = {
    400: error_response(
        "WebhookBadRequestError",
        {
            "invalid_signature": (
                "The Stripe-Signature header is missing, malformed, wrong or too old."
            ),
            "invalid_event": "The event has no data.object with an id.",
        },
        "Not a genuine, fresh Stripe event for this endpoint: nothing happened.",
    ),
    409: error_response(
        "WebhookInProgressError",
        {"event_in_progress": "This event is being processed by another delivery."},
        "Another delivery of the same event holds it right now; Stripe retries.",
    ),
    503: error_response(
        "WebhookUnavailableError",
        {
            "webhook_processing_failed": "The event could not be processed now.",
            "webhook_deferred": "Our Stripe budget is busy (an on-sale); applied on retry.",
        },
        "Applying the event failed or was deferred; the claim is released and Stripe's retry "
        "applies it.",
    ),
}

WEBHOOK_OUTCOMES = {
    "applied": "the event changed something",
    "unchanged": "already in that state",
    "stale": "Stripe's current object disagrees with the event",
    "not_ours": "a PaymentIntent that is not one of our orders",
    "duplicate": "this event id was processed before",
    "ignored": "a type we do not handle",
}


@extend_schema_field(
    {
        "type": "string",
        "enum": list(WEBHOOK_OUTCOMES),
        "description": "; ".join(f"`{k}`: {v}" for k, v in WEBHOOK_OUTCOMES.items()),
    }
)
class WebhookOutcomeField(serializers.CharField):
    pass


WEBHOOK_BODY = {"application/json": OpenApiTypes.OBJECT}
