"""The functions' Lambda handler (``tickets/lambda_handler.py``), called in-process with the
API Gateway REST and EventBridge events the runtime model builds, against the local stack.
tests/deploy/test_lambda_handler.py runs the same handler from the built packages in the
Lambda model; tests/rehearsal deploys it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from core.ratelimit import WINDOW_SECONDS
from devstack.lambda_runtime import api_event, response_json, rest_event, scheduled_event
from tests.factories import order_body, ticket_type_create
from tickets.lambda_handler import lambda_handler

pytestmark = pytest.mark.usefixtures("aws")


class Context:
    aws_request_id = "0d5c1a2b-0000-4000-8000-000000000001"
    function_name = "ticketstoheaven-local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _from(source_ip: str, event: dict) -> dict:
    """``event`` as API Gateway sends it for a caller at ``source_ip``."""
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


@pytest.fixture
def rate_window():
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 20:  # start in a fresh one-minute window
        time.sleep(left + 0.1)


def test_a_forged_x_forwarded_for_does_not_escape_the_rate_limit(aws, rate_window):
    # API Gateway appends the caller's address to whatever X-Forwarded-For the caller sent;
    # Zappa's handler took the caller's part as REMOTE_ADDR. The limit counts sourceIp.
    boto3.client("ssm", endpoint_url=aws.aws_url).put_parameter(
        Name="/ticketstoheaven/local/orders_rate_limit_per_minute",
        Value="2",
        Type="String",
        Overwrite=True,
    )
    ticket_type_create("ga", available=None)

    def order(source_ip: str, forged: str) -> dict:
        headers = {"X-Forwarded-For": f"{forged}, {source_ip}"}
        event = api_event("POST", "/orders", order_body(), headers=headers, host="localhost")
        return lambda_handler(_from(source_ip, event), Context())

    answers = [order("203.0.113.60", f"198.51.100.{n}") for n in range(3)]
    other = order("203.0.113.61", "198.51.100.1")

    assert [a["statusCode"] for a in answers] == [201, 201, 429]
    assert response_json(answers[2])["error"]["code"] == "rate_limited"
    assert other["statusCode"] == 201


def test_an_answer_has_its_headers_both_ways_and_the_invocations_request_id():
    answer = lambda_handler(rest_event("GET", "/health", host="localhost"), Context())

    assert answer["statusCode"] == 200
    assert response_json(answer) == {"status": "ok"}
    assert answer["headers"]["X-Request-Id"] == Context.aws_request_id
    assert answer["multiValueHeaders"]["X-Request-Id"] == [Context.aws_request_id]
    assert {k: v[-1] for k, v in answer["multiValueHeaders"].items()} == answer["headers"]


def test_a_base64_body_is_decoded_for_the_view():
    ticket_type_create("ga", available=None)
    body = json.dumps(order_body()).encode()
    event = rest_event(
        "POST", "/orders", body=body, headers={"Content-Type": "application/json"}, host="localhost"
    )
    assert event["isBase64Encoded"]

    answer = lambda_handler(_from("203.0.113.70", event), Context())

    assert answer["statusCode"] == 201, answer["body"]
    assert response_json(answer)["status"] == "pending_payment"


def test_a_scheduled_rule_runs_its_job_and_the_keep_warm_rule_only_initialises():
    rule = "ticketstoheaven-local-expire-orders-orders.jobs.orders_expire"

    result = lambda_handler(scheduled_event(rule), Context())
    warm = lambda_handler(scheduled_event("ticketstoheaven-local-zappa-keep-warm-handler.keep_warm_callback"), Context())  # fmt: skip

    assert isinstance(result, dict)  # the job's summary
    assert warm is None


def test_a_command_event_runs_the_function_it_names():
    result = lambda_handler({"command": "orders.jobs.fulfillment_sweep"}, Context())

    assert isinstance(result, dict)


def test_a_raw_command_or_an_unknown_event_is_refused_not_run(tmp_path: Path):
    marker = tmp_path / "ran"

    for event in ({"raw_command": f"open({str(marker)!r}, 'w')"}, {"Records": []}, {}):
        with pytest.raises(ValueError, match="not an event this function handles"):
            lambda_handler(event, Context())

    assert not marker.exists()
