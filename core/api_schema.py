"""The API's OpenAPI pieces every app's endpoints share: the request-id and retry headers and
the one error body (``core.exceptions``), as drf-spectacular objects. Apps describe their own
endpoints in their ``api_schema`` modules (``orders.api_schema``, ``payments.api_schema``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
)
from rest_framework import serializers

REQUEST_ID = OpenApiParameter(
    "X-Request-Id",
    location=OpenApiParameter.HEADER,
    response=True,
    type=str,
    description=(
        "The id of this request, on every answer (success or error) and on every log line "
        "it wrote. Quote it when you report a problem."
    ),
)

REQUEST_ID_IN = OpenApiParameter(
    "X-Request-Id",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "Optional: your own id for this request, to match your logs with ours. Used and "
        "echoed if it is 1 to 128 of `A-Z a-z 0-9 = ; : . _ -`; otherwise ignored and we make "
        "one (never an error)."
    ),
)

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    location=OpenApiParameter.HEADER,
    response=[429, 503],
    type=int,
    description="Seconds to wait before sending the same request again.",
)


_error_classes: dict[str, type[serializers.Serializer]] = {}


def error_serializer(name: str, codes: dict[str, str]) -> type[serializers.Serializer]:
    """``{"error": {"code", "message", "fields"?}}`` with ``code`` limited to ``codes``: one
    component per kind of answer, so a generated client sees the codes it must handle."""
    if name in _error_classes:
        return _error_classes[name]

    @extend_schema_field(
        {
            "type": "string",
            "enum": sorted(codes),
            "description": "Machine-readable; switch on it. "
            + "; ".join(f"`{code}`: {meaning.rstrip('.')}" for code, meaning in codes.items())
            + ".",
        }
    )
    class CodeField(serializers.CharField):
        pass

    detail = type(
        f"{name}DetailSerializer",
        (serializers.Serializer,),
        {
            "code": CodeField(),
            "message": serializers.CharField(help_text="For people; may change, do not parse."),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text=(
                    "Validation errors (and `sold_out`) only: a dotted path in the request body "
                    '-> messages, e.g. `"items.0.quantity"`. Show each next to its input.'
                ),
            ),
            "__module__": __name__,
        },
    )
    _error_classes[name] = type(
        f"{name}Serializer",
        (serializers.Serializer,),
        {"error": detail(), "__module__": __name__, "__doc__": "The one error body."},
    )
    return _error_classes[name]


def error_response(
    name: str, codes: dict[str, str], description: str, example_code: str | None = None
) -> OpenApiResponse:
    code = example_code or next(iter(codes))
    example: dict[str, Any] = {"code": code, "message": codes[code]}
    if code == "validation_error":
        example["fields"] = {"items.0.quantity": ["Ensure this value is less than or equal to 20."]}
    if code == "sold_out":
        example["fields"] = {"items.0.quantity": ["Not enough seats left."]}
    return OpenApiResponse(
        error_serializer(name, codes),
        description=description,
        examples=[OpenApiExample(code, value={"error": example}, response_only=True)],
    )


MALFORMED = {
    "malformed_json": "The body is not valid JSON.",
    "body_too_large": "The request body is too large.",
    "bad_request": "The request cannot be processed (e.g. a forbidden Host).",
}

NOT_ACCEPTABLE = error_response(
    "NotAcceptableError",
    {"not_acceptable": "This endpoint answers JSON only."},
    "`Accept` excludes `application/json`.",
)

UNSUPPORTED_MEDIA_TYPE = error_response(
    "UnsupportedMediaTypeError",
    {"unsupported_media_type": "Send the body as application/json."},
    "The body is not `application/json`.",
)

METHOD_NOT_ALLOWED = error_response(
    "MethodNotAllowedError",
    {"method_not_allowed": "This method is not allowed here."},
    "Another method than the documented ones; `Allow` lists them.",
)
