"""GET /health and the JSON answers every path gives."""

from __future__ import annotations


def test_health_answers_ok_with_a_request_id(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response["X-Request-Id"]) >= 16


def test_health_reveals_no_configuration(client, aws):
    body = client.get("/health").content.decode()

    for secret in vars(aws.secrets).values():
        assert secret not in body
    assert aws.aws_url not in body


def test_a_request_id_sent_by_the_caller_is_echoed(client):
    response = client.get("/health", headers={"X-Request-Id": "abc-123"})

    assert response["X-Request-Id"] == "abc-123"


def test_a_request_id_that_could_inject_log_lines_is_replaced(client):
    response = client.get("/health", headers={"X-Request-Id": 'x"\n{"level": "CRITICAL"}'})

    assert response["X-Request-Id"] != 'x"\n{"level": "CRITICAL"}'
    assert response["X-Request-Id"].isalnum()


def test_other_methods_get_a_json_405(client):
    response = client.post("/health")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_unknown_paths_get_the_documented_json_404(client):
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
