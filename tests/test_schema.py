"""The OpenAPI document at /schema: valid, and true to what the endpoints accept and return."""

from __future__ import annotations

import json

from drf_spectacular.validation import validate_schema

from tests.factories import order_body, ticket_type_create


def _schema(client) -> dict:
    response = client.get("/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_a_valid_openapi_3_document(client):
    schema = _schema(client)

    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")


def test_the_schema_lists_exactly_the_storefront_paths(client):
    paths = _schema(client)["paths"]

    assert set(paths) == {"/catalog", "/orders", "/orders/{order_id}"}
    assert set(paths["/orders"]) == {"post"}


def test_every_documented_error_uses_the_one_error_body(client):
    schema = _schema(client)
    order_create = schema["paths"]["/orders"]["post"]

    assert set(order_create["responses"]) == {"201", "400", "409", "422", "429", "503"}
    for code in ("400", "409", "422", "429", "503"):
        ref = order_create["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    assert any(
        p["name"] == "Idempotency-Key" and p["in"] == "header" for p in order_create["parameters"]
    )


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
    assert set(error) == set(components["Error"]["properties"])
    assert set(error["error"]) == set(components["ErrorDetail"]["properties"])
    request_schema = components["OrderCreateInputRequest"]
    assert set(request_schema["required"]) == {"customer", "items"}
