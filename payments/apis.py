"""``POST /webhooks/stripe``: the thin HTTP adapter over ``payments.webhooks``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.webhooks import webhook_process


class StripeWebhookApi(APIView):
    """Stripe's signed event deliveries. Not a browser form: CSRF does not apply (DRF views are
    CSRF-exempt without session authentication), the signature is the authentication.

    Answers ``200 {"received": true, "outcome": ...}`` for an applied, duplicate or ignored
    event; ``400 invalid_signature``; ``409 event_in_progress`` while another delivery of the
    same event holds it; ``503`` when it failed and Stripe should retry. Errors have the one
    documented shape."""

    # No parser: the signature covers the exact bytes, so nothing may read the body first.
    parser_classes = ()
    authentication_classes = ()
    permission_classes = ()

    # Not in the storefront's OpenAPI document (GET /schema lists the storefront's paths); this
    # endpoint's contract is Stripe's, documented in the README.
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        result = webhook_process(
            payload=request._request.body,
            signature_header=request.META.get("HTTP_STRIPE_SIGNATURE"),
        )
        return Response({"received": True, "outcome": result.outcome})
