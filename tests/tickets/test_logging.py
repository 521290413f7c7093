"""Logs are JSON lines with a request id, and never contain a secret's value."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from django.test import override_settings

from tickets.config import secrets_get
from tickets.logging import JsonFormatter, order_id_var

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
    assert first["message"] == "GET /admin/orders/order/?q=a***%40example.com&phone=*** 200"
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
    from orders.services.fulfillment import fulfillment_start, fulfillment_sweep
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
