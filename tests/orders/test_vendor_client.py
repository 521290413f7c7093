"""The vendor client against the stand-in vendor: every kind of answer, classified."""

from __future__ import annotations

import socket

import boto3
import pytest

from integrations.vendor_client import Fulfilled, Permanent, Retryable, fulfillment_request
from tests.vendor import vendor_behave, vendor_requests

pytestmark = pytest.mark.usefixtures("aws")


def _request(order_id: str = "ord_vendortest000000000000"):
    return fulfillment_request(
        order_id=order_id,
        customer_email="a@example.com",
        customer_name="A",
        items=[("ga", 2), ("vip", 1)],
    )


def _set_parameter(stack, name: str, value: str) -> None:
    boto3.client("ssm", endpoint_url=stack.aws_url).put_parameter(
        Name=f"/ticketstoheaven/local/{name}", Value=value, Type="String", Overwrite=True
    )


def test_a_fulfillment_carries_the_contracts_headers_and_body(aws):
    outcome = _request()

    assert isinstance(outcome, Fulfilled)
    assert outcome.status == "issued"
    assert [t.sku for t in outcome.tickets] == ["ga", "ga", "vip"]
    (received,) = vendor_requests(aws)
    assert received["authorized"] is True
    assert received["idempotency_key"] == "ord_vendortest000000000000"
    assert received["body"] == {
        "order_id": "ord_vendortest000000000000",
        "customer": {"email": "a@example.com", "name": "A"},
        "items": [{"sku": "ga", "quantity": 2}, {"sku": "vip", "quantity": 1}],
    }


def test_a_repeated_idempotency_key_gets_the_same_fulfillment(aws):
    first, second = _request(), _request()

    assert isinstance(first, Fulfilled) and isinstance(second, Fulfilled)
    assert second.fulfillment_id == first.fulfillment_id
    assert second.tickets == first.tickets


@pytest.mark.parametrize(
    ("mode", "expected"), [("error", Retryable), ("unavailable", Retryable), ("drop", Retryable)]
)
def test_server_errors_and_dropped_connections_are_retryable(aws, mode, expected):
    vendor_behave(aws, mode)

    assert isinstance(_request(), expected)


def test_429_is_retryable_after_the_vendors_retry_after(aws):
    vendor_behave(aws, "rate_limit", delay=7)

    outcome = _request()

    assert isinstance(outcome, Retryable)
    assert outcome.retry_after == 7


def test_a_slow_answer_past_the_read_timeout_is_retryable(aws):
    _set_parameter(aws, "vendor_read_timeout", "0.3")
    vendor_behave(aws, "slow", delay=1.5)

    outcome = _request()

    assert outcome == Retryable("timeout")


def test_an_unreachable_vendor_is_retryable(aws):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _set_parameter(aws, "vendor_endpoint", f"http://127.0.0.1:{port}")

    outcome = _request()

    assert isinstance(outcome, Retryable)
    assert outcome.summary.startswith("connection error")


@pytest.mark.parametrize("mode", ["reject", "malformed"])
def test_other_4xx_and_malformed_success_bodies_are_permanent(aws, mode):
    vendor_behave(aws, mode)

    outcome = _request()

    assert isinstance(outcome, Permanent)


def test_a_wrong_api_key_is_permanent_and_the_key_is_not_in_the_summary(aws):
    import json

    sm = boto3.client("secretsmanager", endpoint_url=aws.aws_url)
    sm.put_secret_value(
        SecretId="ticketstoheaven/local/app",
        SecretString=json.dumps(
            {"django_secret_key": "k" * 50, "vendor_api_key": "vk_wrong_key_123"}
        ),
    )

    outcome = _request()

    assert isinstance(outcome, Permanent)
    assert outcome.summary.startswith("401")
    assert "vk_wrong_key_123" not in outcome.summary


# --- The erasure verb (POST /erasures) --------------------------------------------------------


def _erase(order_id: str = "ord_vendortest000000000000"):
    from integrations.vendor_client import erasure_request

    return erasure_request(
        order_id=order_id, pseudonym_email="erased-1@erased.invalid", pseudonym_name="Erased 1"
    )


def test_an_erasure_replaces_the_buyer_the_vendor_holds_and_is_safe_to_repeat(aws):
    from integrations.vendor_client import Erased
    from tests.vendor import vendor_erasures

    _request()

    first, again = _erase(), _erase()

    assert first == again == Erased(order_id="ord_vendortest000000000000", held=True)
    (fulfillment,) = vendor_requests(aws)
    assert fulfillment["body"]["customer"] == {"email": "erased-1@erased.invalid",
                                               "name": "Erased 1"}  # fmt: skip
    assert {e["idempotency_key"] for e in vendor_erasures(aws)} == {
        "erasure:ord_vendortest000000000000"
    }


def test_an_erasure_of_an_order_the_vendor_never_had_is_done(aws):
    from integrations.vendor_client import Erased

    assert _erase("ord_neverfulfilled00000000") == Erased("ord_neverfulfilled00000000", False)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("unavailable", Retryable), ("rate_limit", Retryable), ("reject", Permanent)],
)
def test_an_erasure_the_vendor_cannot_take_now_or_refuses_is_classified(aws, mode, kind):
    _request()
    vendor_behave(aws, mode, times=1)

    assert isinstance(_erase(), kind)
