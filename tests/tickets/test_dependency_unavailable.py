"""AWS unavailable after the client's retries answers 503 with ``Retry-After`` (an HTML page in
the admin, the error body in the API), never a 500; a bug's error still answers 500.

The emulator is made unreachable for real: ``AWS_ENDPOINT_URL`` pointed at a loopback port
nobody listens on and every client rebuilt, so each call fails to connect as it would when
DynamoDB cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import TransactWriteError, UpdateError

from core.exceptions import dependency_failed
from tests.payments.stripe_down import closed_port


def _client_error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict = {"Error": {"Code": code, "Message": "..."}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")


def _wrapped(cause: Exception, kind: type = UpdateError) -> Exception:
    error = kind("Failed", cause=cause)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_wrapped(_client_error("ProvisionedThroughputExceededException")), True),
        (_wrapped(_client_error("TransactionConflictException")), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (
            _wrapped(
                _client_error("TransactionCanceledException", ["None", "TransactionConflict"]),
                TransactWriteError,
            ),
            True,
        ),
        # One of our own conditions refused: the services decide what that means; if one
        # reaches Django it is a bug, and a 500 says so.
        (
            _wrapped(
                _client_error("TransactionCanceledException", ["None", "ConditionalCheckFailed"]),
                TransactWriteError,
            ),
            False,
        ),
        (_wrapped(_client_error("ConditionalCheckFailedException")), False),
        (_wrapped(_client_error("ValidationException")), False),
        (ValueError("a bug"), False),
        (None, False),
    ],
)
def test_what_counts_as_a_dependency_unavailable(error, transient):
    assert dependency_failed(error) is transient


@pytest.fixture
def aws_unreachable(aws, monkeypatch) -> Iterator[None]:
    from core.config import config_cache_clear
    from core.dynamodb import connections_reset

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    connections_reset()
    config_cache_clear()
    yield
    monkeypatch.undo()
    connections_reset()
    config_cache_clear()


def test_the_api_answers_503_with_retry_after_when_dynamodb_cannot_be_reached(
    aws, client, aws_unreachable
):
    response = client.get("/catalog")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_the_admin_answers_a_page_saying_to_try_again_not_a_500(aws, staff_client, monkeypatch):
    from core.config import config_cache_clear
    from core.dynamodb import connections_reset

    browser = staff_client("support")
    assert browser.get("/admin/orders/order/").status_code == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    connections_reset()
    try:
        response = browser.get("/admin/orders/order/")
    finally:
        monkeypatch.undo()
        connections_reset()
        config_cache_clear()

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Try again in a moment" in page and "<html" in page
