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
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


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
    """The payment provider cannot be reached. Here rather than in ``payments.stripe_client``
    (which re-exports it) because order services answer with it too, and orders never import
    payments."""

    code = "payment_provider_unavailable"
    message = "The payment provider is unavailable; try again shortly."


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


_DRF_CODES = {
    drf_exceptions.ParseError: ("malformed_json", "The body is not valid JSON."),
    drf_exceptions.UnsupportedMediaType: (
        "unsupported_media_type",
        "Send the body as application/json.",
    ),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", "This method is not allowed here."),
    drf_exceptions.NotAcceptable: ("not_acceptable", "This endpoint answers JSON only."),
    drf_exceptions.NotFound: ("not_found", "Not found."),
    drf_exceptions.Throttled: ("rate_limited", "Too many requests; slow down."),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every error in the one documented shape."""
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.fields),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(
            error_body(ValidationFailed.code, ValidationFailed.message, flatten_errors(exc.detail)),
            status=400,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("body_too_large", "The request body is too large."), status=400)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request cannot be processed."), status=400)
    if isinstance(exc, drf_exceptions.APIException):
        code, message = next(
            ((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)),
            (exc.default_code, str(exc.detail)),
        )
        headers = {}
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    return None  # an unexpected error: Django logs it and answers through handler500


# Django-level handlers (outside DRF views), wired in tickets.urls.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "The request cannot be processed."), status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("internal_error", "Something went wrong on our side."), status=500
    )
