"""The application's error type and the one error body every client sees.

Every error answer, from DRF views and from Django itself (404, 400, 500), has this shape::

    {"error": {"code": "validation_error",
               "message": "The request is not valid.",
               "fields": {"items.0.quantity": ["Ensure this value is greater than or equal to 1."]}}}

``fields`` is present only for validation errors and maps a dotted path into the request body to
its messages. Services raise ``ApplicationError`` subclasses; they know nothing about HTTP
beyond the status and code they carry.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# DRF's exception handler (the same shape for the API's errors) is in core/api_exceptions.py:
# this module is imported by every request of both functions, DRF only by the public API's.


class ApplicationError(Exception):
    """A failure the client can understand and act on."""

    status_code = 400
    code = "bad_request"
    message = "The request cannot be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "validation_error"
    message = "The request is not valid."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    message = "A service we depend on is unavailable; try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(retry_after))


class PaymentProviderUnavailable(ServiceUnavailable):
    """The payment provider cannot be reached. Here rather than in ``integrations.stripe_client``
    (which re-exports it) because order services answer with it too, and orders never import
    payments."""

    code = "payment_provider_unavailable"
    message = "The payment provider is unavailable; try again shortly."


class PaymentProviderBusy(PaymentProviderUnavailable):
    """Our Stripe budget (``integrations.stripe_budget``) has no slot in time, or Stripe said
    429 all the same and retrying within the budget did not get through: the buyer waits
    ``Retry-After`` and tries again. A 429, never a 5xx: nothing is wrong, it is busy. Still a
    ``PaymentProviderUnavailable``, so every path that retries an unavailable Stripe later
    (jobs, webhooks) does the same here."""

    status_code = 429
    code = "payment_provider_busy"
    message = "Payments are busy; try again in a moment (see Retry-After)."


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def flatten_errors(detail: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"dotted.path": [messages]}``."""
    if isinstance(detail, dict):
        result: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key == "non_field_errors":  # an error about the object itself, not a field of it
                result.update(flatten_errors(value, path or "body"))
            else:
                result.update(flatten_errors(value, f"{path}.{key}" if path else str(key)))
        return result
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {path or "body": [str(item) for item in detail]}
        result = {}
        for index, item in enumerate(detail):
            if item:  # DRF puts empty dicts for list items without errors
                result.update(flatten_errors(item, f"{path}.{index}" if path else str(index)))
        return result
    return {path or "body": [str(detail)]}


# Django-level handlers (outside DRF views), wired in tickets.urls.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "The request cannot be processed."), status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


# AWS answers that mean "not now" rather than "never": what is left of them after the client's
# own retries (botocore's standard mode, three attempts) is a dependency being unavailable.
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)
# A cancelled transaction whose every reason is one of these was refused for contention or
# capacity, not for one of our conditions (those the services turn into their own errors).
_TRANSIENT_CANCEL_REASONS = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def dependency_failed(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps: PynamoDB keeps botocore's error as ``cause``) is AWS
    being unreachable, throttling or conflicting after the client's retries: the request can
    succeed if repeated, so the answer is a 503, not a 500 that hides a bug."""
    seen = 0
    while exc is not None and seen < 6:
        seen += 1
        if isinstance(exc, (HTTPClientError, BotocoreConnectionError)):
            return True
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            if error.get("Code") in _TRANSIENT_CODES:
                return True
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if error.get("Code") == "TransactionCanceledException" and reasons:
                return set(reasons) <= _TRANSIENT_CANCEL_REASONS
            return False
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500 (it runs inside the ``except`` of the failed request). An AWS
    dependency that stayed unavailable through the client's retries answers 503 with
    ``Retry-After`` (an HTML page under /admin/, the error body elsewhere); anything else is
    a bug and answers 500."""
    failure = sys.exc_info()[1]
    if dependency_failed(failure):
        logger.warning(
            "dependency unavailable after retries", extra={"error": type(failure).__name__}
        )
        headers = {"Retry-After": "5"}
        if request.path.startswith("/admin/"):
            page = render_to_string("admin/backoffice/unavailable.html")
            return HttpResponse(page, status=503, headers=headers)
        body = error_body(ServiceUnavailable.code, ServiceUnavailable.message)
        return JsonResponse(body, status=503, headers=headers)
    return JsonResponse(
        error_body("internal_error", "Something went wrong on our side."), status=500
    )
