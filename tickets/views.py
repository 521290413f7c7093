"""Project-level endpoints."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving. Touches no dependency and reveals no config."""
    return JsonResponse({"status": "ok"})
