"""Project-level endpoints."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.exceptions import error_body


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving. Touches no dependency and reveals no config."""
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse(
            error_body("method_not_allowed", "This method is not allowed here."), status=405
        )
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse({"status": "ok"})


_schema_view: Any = None


@csrf_exempt
def schema(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document (drf-spectacular's ``SpectacularAPIView``), imported on first use:
    drf-spectacular pulls in ``django.test`` and its schema generator, which no storefront
    request needs."""
    global _schema_view
    if _schema_view is None:
        from drf_spectacular.views import SpectacularAPIView

        _schema_view = SpectacularAPIView.as_view()
    return _schema_view(request)
