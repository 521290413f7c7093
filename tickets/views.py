"""Project-level endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
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
_schema_document: bytes | None = None


@csrf_exempt
def schema(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document. With ``API_SCHEMA_FILE`` set (the public API's function,
    ``tickets.settings_public``) the JSON document generated at build time is served as it is
    (no generator, and no YAML: the package leaves PyYAML out); elsewhere drf-spectacular's
    ``SpectacularAPIView`` generates it (JSON with ``?format=json``, else YAML), imported on
    first use: it pulls in ``django.test`` and its schema generator."""
    global _schema_view, _schema_document
    schema_file = getattr(settings, "API_SCHEMA_FILE", None)
    if schema_file is None:
        if _schema_view is None:
            from drf_spectacular.views import SpectacularAPIView

            _schema_view = SpectacularAPIView.as_view()
        return _schema_view(request)
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse(
            error_body("method_not_allowed", "This method is not allowed here."), status=405
        )
        response["Allow"] = "GET, HEAD"
        return response
    if _schema_document is None:
        _schema_document = Path(schema_file).read_bytes()
    return HttpResponse(_schema_document, content_type="application/vnd.oai.openapi+json")
