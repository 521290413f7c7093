"""Logs are JSON lines with a request id, and never contain a secret's value."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from core.config import secrets_get
from core.logging import JsonFormatter, order_id_var

logger = logging.getLogger("tests.logging")


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_failing_request_logs_json_with_its_request_id_and_no_secret(aws, client, capfd):
    with override_settings(ROOT_URLCONF="tests.urls_failing"):
        response = client.get("/leaky", headers={"X-Request-Id": "req-42"})

    out, err = capfd.readouterr()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert aws.secrets.stripe_api_key not in response.content.decode()
    errors = [line for line in _lines(out) if line["level"] == "ERROR"]
    assert errors, out
    assert errors[0]["request_id"] == "req-42"
    assert "RuntimeError: could not reach Stripe with key [REDACTED]" in errors[0]["exception"]
    for secret in vars(aws.secrets).values():
        assert secret not in out + err


def test_secrets_are_redacted_from_messages_arguments_extras_and_tracebacks(aws, capfd):
    secrets = secrets_get()
    try:
        raise ValueError(f"webhook secret {secrets.stripe_webhook_secret}")
    except ValueError:
        logger.exception(
            "vendor key %s failed",
            secrets.vendor_api_key,
            extra={"context": {"key": secrets.django_secret_key}},
        )

    out, _ = capfd.readouterr()
    for secret in vars(aws.secrets).values():
        assert secret not in out
    line = _lines(out)[-1]
    assert line["message"] == "vendor key [REDACTED] failed"
    assert line["context"] == {"key": "[REDACTED]"}
    assert "ValueError: webhook secret [REDACTED]" in line["exception"]


def test_log_lines_carry_level_logger_and_utc_time(capfd):
    logger.warning("hello %s", "world", extra={"order_id": "ord_1"})

    line = _lines(capfd.readouterr()[0])[-1]
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.logging"
    assert line["order_id"] == "ord_1"
    assert line["timestamp"].endswith("Z")


def test_personal_data_is_masked_in_every_line(capfd):
    logger.info(
        "GET /admin/orders/order/?q=alice.buyer%%40example.com&phone=%%2B15551234567 200",
        extra={"customer": {"email": "Bob.Smith@example.co.uk", "phone": "+1 555 123 4567"}},
    )
    logger.info("paying with pi_3Abc_secret_Xyz123 for a***@example.com")

    first, second = _lines(capfd.readouterr()[0])[-2:]
    assert first["message"] == "GET /admin/orders/order/?q=***&phone=*** 200"
    assert first["customer"] == {"email": "B***@example.co.uk", "phone": "***"}
    assert second["message"] == "paying with pi_3Abc_secret_*** for a***@example.com"


def test_the_guard_catches_a_line_the_production_formatter_did_not_mask():
    from tests.log_guard import LogGuard

    unmasked = LogGuard(logging.Formatter("%(message)s"), secrets=["sk_test_localabcdef"])
    production = LogGuard(JsonFormatter(), secrets=["sk_test_localabcdef"])
    for guard in (unmasked, production):
        record = logging.LogRecord(
            "t", logging.INFO, __file__, 1, "mail alice@example.com", (), None
        )
        guard.handle(record)

    assert [leak.split(": ", 1)[1][:20] for leak in unmasked.take()] == ["['alice@example.com'"]
    assert production.take() == []
    unmasked.handle(logging.LogRecord("t", 20, __file__, 1, "key sk_test_localabcdef", (), None))
    assert unmasked.take()


def test_a_job_run_logs_no_order_id_of_earlier_work(aws, capfd):
    from orders import jobs
    from orders.services.fulfillment import fulfillment_start
    from orders.services.fulfillment.sweeper import fulfillment_sweep
    from tests.factories import paid_order_create
    from tests.vendor import vendor_behave

    order_id_var.set("ord_from_an_earlier_request")
    jobs.orders_expire({"source": "aws.events"}, None)
    (summary,) = [
        line for line in _lines(capfd.readouterr()[0]) if line["message"] == "orders expired"
    ]
    assert "order_id" not in summary
    assert summary["request_id"].startswith("job-")

    order = paid_order_create()
    vendor_behave(aws, "unavailable", times=1)
    fulfillment_start(order_id=order.order_id)
    order_id_var.set(None)
    fulfillment_sweep(now=datetime.now(UTC) + timedelta(hours=1))
    logger.info("after the sweep")

    lines = _lines(capfd.readouterr()[0])
    assert any(line.get("order_id") == order.order_id for line in lines)
    assert "order_id" not in lines[-1] and lines[-1]["message"] == "after the sweep"


@pytest.mark.parametrize(
    "line, personal",
    [
        ("GET /admin/orders/order/?q=%2B15551234567 200 1234", "5551234567"),
        ("GET /admin/orders/order/?status=paid&q=%2B1+555+123+4567 200", "555+123+4567"),
        ("GET /admin/orders/customer/?q=Lovelace 200", "Lovelace"),
        ("GET /admin/orders/order/?q=ada%40exa&status=paid 200", "ada%40exa"),
        ("customer typed +44 20 7946 0958 at checkout", "7946 0958"),
        ("GET /admin/login/unlock/?token=Zm9vYmFyYmF6cXV4LWxpbmstdG9rZW4 200", "Zm9vYmFyYmF6"),
    ],
)
def test_search_values_and_phone_numbers_are_masked_in_any_line(line, personal):
    """Issue 29, F3: a phone number typed into the admin's search reached the access log."""
    from tests.log_guard import FULL_PHONE, SEARCH_VALUE

    record = logging.LogRecord("zappa", logging.INFO, __file__, 1, line, None, None)
    formatted = JsonFormatter().format(record)

    assert personal not in formatted
    assert not FULL_PHONE.findall(formatted) and not SEARCH_VALUE.findall(formatted)
    assert "status=paid" in formatted or "status" not in line  # the rest of the line stays


def test_a_refused_order_logs_no_order_id(aws, client, capfd):
    """Issue 29, F4: "Bad Request: /orders" lines carried the id of an order never created."""
    from tests.factories import order_body, ticket_type_create

    ticket_type_create("ga", available=1)
    capfd.readouterr()
    unknown = client.post(
        "/orders",
        json.dumps(order_body(items=[{"sku": "nope", "quantity": 1}])),
        content_type="application/json",
    )
    sold_out = client.post(
        "/orders",
        json.dumps(order_body(items=[{"sku": "ga", "quantity": 2}])),
        content_type="application/json",
    )

    assert (unknown.status_code, sold_out.status_code) == (400, 409)
    lines = [line for line in _lines(capfd.readouterr()[0]) if "message" in line]
    answered = [line for line in lines if line["message"].endswith(": /orders")]
    assert len(answered) == 2, lines
    assert all("order_id" not in line for line in lines), lines


def test_the_reconciliation_summary_names_no_order_it_looked_at(aws, capfd):
    """Issue 29, F4: the job's summary line carried the last order it synced."""
    from payments import jobs
    from tests.factories import order_create, ticket_type_create

    ticket_type_create("ga", available=10)
    order = order_create(items=[("ga", 1)], age_minutes=20)
    capfd.readouterr()

    jobs.payments_reconcile({"source": "aws.events"}, None)

    lines = [line for line in _lines(capfd.readouterr()[0]) if "message" in line]
    (summary,) = [line for line in lines if line["message"] == "payments reconciled"]
    assert summary["checked"] == 1
    assert "order_id" not in summary
    # What the sync of the order logged still names it.
    assert any(line.get("order_id") == order.order_id for line in lines), lines
