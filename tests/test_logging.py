"""Logs are JSON lines with a request id, and never contain a secret's value."""

from __future__ import annotations

import json
import logging

from django.test import override_settings

from tickets.config import secrets_get

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
