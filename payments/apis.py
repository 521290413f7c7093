"""``POST /webhooks/stripe``: the thin HTTP adapter over ``payments.webhooks``."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_docs import extend_schema
from payments import api_schema as doc
from payments.webhooks import WEBHOOK_MAX_BODY_BYTES, webhook_process


def _raw_body(request: HttpRequest) -> bytes:
    """The exact bytes, up to ``WEBHOOK_MAX_BODY_BYTES`` (not the site-wide
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` that ``request.body`` enforces: a Stripe event can be far
    bigger than any storefront body). Refused before reading when the length says too big, and
    never more than one byte past the limit read when it lies."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > WEBHOOK_MAX_BODY_BYTES:
        raise RequestDataTooBig()
    body = request.read(WEBHOOK_MAX_BODY_BYTES + 1)
    if len(body) > WEBHOOK_MAX_BODY_BYTES:
        raise RequestDataTooBig()
    return body


class StripeWebhookApi(APIView):
    """Stripe's signed event deliveries. Not a browser form: CSRF does not apply (DRF views are
    CSRF-exempt without session authentication), the signature is the authentication.

    Answers ``200 {"received": true, "outcome": ...}`` for an applied, unchanged, stale,
    duplicate, ignored or not-ours event; ``400 invalid_signature``; ``400 body_too_large``
    over ``WEBHOOK_MAX_BODY_BYTES`` (1 MiB); ``409 event_in_progress`` while another delivery
    of the same event holds it; ``503`` when it failed and Stripe should retry. Errors have the
    one documented shape."""

    # No parser: the signature covers the exact bytes, so nothing may read the body first.
    parser_classes = ()
    authentication_classes = ()
    permission_classes = ()

    class WebhookReceivedSerializer(serializers.Serializer):
        received = serializers.BooleanField()
        outcome = doc.WebhookOutcomeField()

    # In the document so that it is the whole HTTP contract (and schemathesis checks that no
    # body or header makes it answer 5xx other than the documented 503); Stripe is its client.
    @extend_schema(
        operation_id="stripe_webhook",
        tags=["stripe"],
        summary="Stripe's signed events (for Stripe, not for the storefront)",
        description=(
            "Stripe delivers `payment_intent.succeeded`, `payment_intent.payment_failed`, "
            "`payment_intent.canceled`, `charge.refunded` and `charge.dispute.created` here. "
            "The raw body is checked against `Stripe-Signature` (5-minute tolerance) before "
            "anything parses it; each event id is applied once."
        ),
        request=doc.WEBHOOK_BODY,
        parameters=[doc.STRIPE_SIGNATURE, doc.REQUEST_ID, doc.RETRY_AFTER_WEBHOOK],
        responses={
            200: WebhookReceivedSerializer,
            **doc.WEBHOOK_ERRORS,
            405: doc.METHOD_NOT_ALLOWED,
            406: doc.NOT_ACCEPTABLE,
        },
    )
    def post(self, request: Request) -> Response:
        result = webhook_process(
            payload=_raw_body(request._request),
            signature_header=request.META.get("HTTP_STRIPE_SIGNATURE"),
        )
        return Response({"received": True, "outcome": result.outcome})
