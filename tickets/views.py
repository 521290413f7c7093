"""Project-level endpoints."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from tickets.exceptions import error_body


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving. Touches no dependency and reveals no config."""
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse(
            error_body("method_not_allowed", "This method is not allowed here."), status=405
        )
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse({"status": "ok"})
