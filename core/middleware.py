"""Request-scoped context for logs: a request id on every line and in the response."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.logging import order_id_var, request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9=;:._-]{1,128}$")


def _incoming_request_id(request: HttpRequest) -> str | None:
    # In Lambda, Zappa puts the invocation's context in the WSGI environ: its request id is the
    # one in the REPORT lines, so logs and the platform agree.
    context = request.META.get("lambda.context")
    aws_request_id = getattr(context, "aws_request_id", None)
    if isinstance(aws_request_id, str) and _SAFE_ID.match(aws_request_id):
        return aws_request_id
    header = request.META.get("HTTP_X_REQUEST_ID")
    if header and _SAFE_ID.match(header):
        return header
    return None


class RequestIdMiddleware:
    """Sets the request id for logging and echoes it as ``X-Request-Id``.

    A client-supplied id is used only if it looks like an id (no log injection).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # Set, not reset afterwards: Django logs the response (e.g. "Bad Request") after the
        # middleware returns, and that line must carry the id too. Each request sets its own.
        request_id_var.set(request_id)
        order_id_var.set(None)
        response = self.get_response(request)
        response["X-Request-Id"] = request_id
        return response
