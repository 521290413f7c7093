"""``extend_schema`` for the API's views, applied when the OpenAPI document is generated.

drf-spectacular's ``extend_schema`` builds its schema class when the decorated view is
defined, which imports ``drf_spectacular.openapi`` and with it ``django.test``, ``unittest``
and the schema generator: 100-200 ms and 3 MB of every cold start that serves an API request,
for a document only ``/schema`` and ``manage.py spectacular`` produce. This ``extend_schema``
takes the same arguments, records them, and returns the method unchanged; ``SchemaGenerator``
(``core.api_schema_generator``, the project's ``DEFAULT_GENERATOR_CLASS``) applies the real
decorator to every recorded method before it generates, so the document is the same.
Only for view *methods* (what the real decorator mutates in place); a class would be replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_pending: list[tuple[Callable[..., Any], dict[str, Any]]] = []


def extend_schema(**kwargs: Any) -> Callable[[F], F]:
    """Record drf-spectacular's ``extend_schema(**kwargs)`` for this view method."""

    def record(method: F) -> F:
        if isinstance(method, type):
            raise TypeError("core.api_docs.extend_schema documents view methods, not classes")
        _pending.append((method, kwargs))
        return method

    return record


def recorded_apply() -> None:
    """Apply every recorded ``extend_schema`` (once each) before a schema is generated."""
    from drf_spectacular.utils import extend_schema as spectacular_extend_schema

    while _pending:
        method, kwargs = _pending.pop(0)
        spectacular_extend_schema(**kwargs)(method)
