"""DRF's exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): every error of the API's
views in the one documented shape of ``core.exceptions``. Apart from it so that what imports
``core.exceptions`` (every request of both functions: handler500, the services' errors) does
not import DRF: the back office has no DRF view, and DRF with its optional imports (requests,
PyYAML, uritemplate) cost its login page about 40 ms of cold start (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from core.exceptions import ApplicationError, ValidationFailed, error_body, flatten_errors

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
