"""The OpenAPI generator: drf-spectacular's, after the views' recorded ``extend_schema``
(``core.api_docs``) are applied. ``SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]``, so
``/schema`` and ``manage.py spectacular`` both use it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator

from core.api_docs import recorded_apply


class SchemaGenerator(SpectacularSchemaGenerator):
    def get_schema(self, *args: Any, **kwargs: Any) -> Any:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - every view module imported, its methods recorded
        recorded_apply()
        return super().get_schema(*args, **kwargs)
