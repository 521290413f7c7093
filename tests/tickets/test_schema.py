"""The OpenAPI document at /schema: valid, and true to what the endpoints accept and return."""

from __future__ import annotations

import json

import pytest
from drf_spectacular.validation import validate_schema

from tests.factories import order_body, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def _schema(client) -> dict:
    response = client.get("/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_a_valid_openapi_3_document(client):
    schema = _schema(client)

    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")


def test_the_schema_lists_every_path_of_the_api(client):
    paths = _schema(client)["paths"]

    assert set(paths) == {
        "/catalog",
        "/orders",
        "/orders/{order_id}",
        "/orders/{order_id}/payment",
        "/onsales/{sku}/line",
        "/webhooks/stripe",
    }
    assert set(paths["/orders"]) == {"post"}
    assert paths["/webhooks/stripe"]["post"]["tags"] == ["stripe"]


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _error_codes(schema: dict, response: dict) -> set[str]:
    body = _resolve(schema, response["content"]["application/json"]["schema"])
    detail = _resolve(schema, body["properties"]["error"])
    assert set(detail["required"]) == {"code", "message"}
    code = detail["properties"]["code"]
    return set(_resolve(schema, code.get("allOf", [code])[0])["enum"])


def test_every_error_answer_lists_the_codes_a_client_must_handle(client):
    schema = _schema(client)
    order_create = schema["paths"]["/orders"]["post"]["responses"]

    assert set(order_create) == {
        "201", "400", "403", "405", "406", "409", "415", "422", "429", "503"
    }  # fmt: skip
    assert _error_codes(schema, order_create["403"]) == {
        "line_pass_required",
        "line_not_admitted_yet",
    }
    assert {"validation_error", "invalid_idempotency_key", "malformed_json"} <= _error_codes(
        schema, order_create["400"]
    )
    assert _error_codes(schema, order_create["409"]) == {
        "sold_out",
        "seats_in_carts",
        "idempotency_in_progress",
        "conflict",
    }
    assert _error_codes(schema, order_create["422"]) == {"idempotency_key_reused"}
    assert _error_codes(schema, order_create["429"]) == {"rate_limited", "payment_provider_busy"}
    assert _error_codes(schema, order_create["503"]) == {
        "payment_provider_unavailable",
        "service_unavailable",
    }
    retrieve = schema["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert _error_codes(schema, retrieve["404"]) == {"not_found"}
    webhook = schema["paths"]["/webhooks/stripe"]["post"]["responses"]
    assert _error_codes(schema, webhook["400"]) == {"invalid_signature", "invalid_event"}
    assert _error_codes(schema, webhook["503"]) == {"webhook_processing_failed", "webhook_deferred"}


def test_the_headers_are_documented_with_their_limits(client):
    schema = _schema(client)
    order_create = schema["paths"]["/orders"]["post"]

    key = next(p for p in order_create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and not key.get("required", False)
    assert key["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]+$",
    }
    for code in ("429", "503"):
        assert "Retry-After" in order_create["responses"][code]["headers"]
    for path in schema["paths"].values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                assert "X-Request-Id" in response.get("headers", {}), (path, code)


def test_every_order_state_says_what_a_client_does_in_it(client):
    from orders.models import OrderStatus

    schema = _schema(client)
    status = schema["components"]["schemas"]["OrderStatus"]["properties"]["status"]

    assert set(_resolve(schema, status["allOf"][0])["enum"]) == {s.value for s in OrderStatus}
    for state in OrderStatus:
        assert f"- `{state.value}`: " in status["description"]


def test_a_real_answer_has_exactly_the_documented_fields(client):
    schema = _schema(client)
    components = schema["components"]["schemas"]
    ticket_type_create("ga")
    created = client.post(
        "/orders", json.dumps(order_body()), content_type="application/json"
    ).json()
    status = client.get(f"/orders/{created['order_id']}").json()
    error = client.post("/orders", "{}", content_type="application/json").json()

    assert set(created) == set(components["OrderCreated"]["properties"])
    assert set(status) == set(components["OrderStatus"]["properties"])
    assert set(error) == set(components["OrderCreateBadRequestError"]["properties"])
    assert set(error["error"]) == set(components["OrderCreateBadRequestErrorDetail"]["properties"])
    request_schema = components["OrderCreateInputRequest"]
    assert set(request_schema["required"]) == {"customer", "items"}


def test_the_public_function_serves_the_document_built_with_the_storefront(client):
    """The public API's function (tickets.settings_public) runs no generator: /schema is the
    committed document (tests/storefront keeps it equal to what the generator makes)."""
    from django.conf import settings
    from django.test import override_settings

    document = settings.BASE_DIR / "storefront" / "openapi.json"
    committed = json.loads(document.read_text())

    with override_settings(API_SCHEMA_FILE=document):
        response = client.get("/schema")
        refused = client.post("/schema")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    assert json.loads(response.content) == committed
    assert refused.status_code == 405
