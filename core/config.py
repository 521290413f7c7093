"""Secrets (AWS Secrets Manager) and parameters (SSM Parameter Store), cached per container.

What lives where:
- secret ``{project}/{stage}/stripe``: JSON ``{"api_key", "webhook_secret"}``, the public
  API's function's: in AWS a *restricted* key that cannot refund (docs/deploy.md lists its
  permissions); ``{project}/{stage}/stripe-backoffice``: JSON ``{"api_key"}``, the back
  office's key, which may refund. A function reads the one named by ``STRIPE_KEY_NAME``
  (zappa_settings.json; unset: ``stripe``, as locally, where one server does both);
- secret ``{project}/{stage}/app``: JSON ``{"django_secret_key", "vendor_api_key"}``;
- secret ``{project}/{stage}/origin``: JSON ``{"origin_verify_secret"}``, the header value our
  CloudFront distributions add (Terraform writes both from one variable), which
  ``core.client_identity`` checks; read only when a request carries that header, and
  without it no CloudFront viewer address is believed;
- parameters under ``/{project}/{stage}/`` (one GetParametersByPath call): ``vendor_endpoint``,
  ``order_expiry_minutes``, ``fulfillment_max_attempts``, ``vendor_connect_timeout``,
  ``vendor_read_timeout``, ``orders_rate_limit_per_minute``, ``feature_flags`` (JSON object),
  the buyers' e-mail (``email_sender``, ``email_configuration_set``,
  ``email_events_queue_url``: ``integrations.email``), Stripe's request budget
  (``stripe_account_rate``, ``stripe_endpoint_rate``, ``stripe_endpoint_rates`` (JSON object),
  ``stripe_burst_seconds``, ``stripe_priority_reserve``, ``stripe_wait_new_seconds``,
  ``stripe_wait_moving_seconds``: ``integrations.stripe_budget``), and
  the retention policy: ``retention_personal_data_months`` (a customer's personal data is
  erased that many months after their last order; 0 turns the job off) and
  ``retention_audit_years`` (audit lines about an erased customer's orders are kept that many
  years, then expire by TTL).

Both are fetched on first use, never at import, with the boto3 clients of ``core.aws``
(one ``GetSecretValue`` per secret, one paginated ``GetParametersByPath``), and kept for
``CONFIG_CACHE_SECONDS`` (default 300; 0 turns the cache off): a warm container makes no AWS
call for them, and a rotated secret or changed parameter is picked up within that interval.
(AWS Lambda Powertools' parameter providers did the same; importing them cost a cold start
about 80 ms and 50 modules for these two calls and a dictionary.) Each request path reads only
the secret it needs (``stripe_secrets_get``, ``app_secrets_get``).
Every secret value loaded is registered with the log redactor, so it can never reach a log line.

This module must not log values, and must not import at module level anything slow.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import aws
from core.logging import redact_register


class ConfigurationError(RuntimeError):
    """A secret or parameter is missing or malformed. The message names it, never its value."""


def _prefix() -> tuple[str, str]:
    # APP_STAGE first: see tickets.settings (Zappa sets STAGE to its own stage's name).
    stage = os.environ.get("APP_STAGE") or os.environ.get("STAGE", "dev")
    return os.environ.get("PROJECT_NAME", "ticketstoheaven"), stage


def secret_id(name: str) -> str:
    project, stage = _prefix()
    return f"{project}/{stage}/{name}"


def parameter_path() -> str:
    project, stage = _prefix()
    return f"/{project}/{stage}/"


def cache_seconds() -> int:
    return int(os.environ.get("CONFIG_CACHE_SECONDS", "300"))


@dataclass(frozen=True)
class Secrets:
    stripe_api_key: str
    stripe_webhook_secret: str
    django_secret_key: str
    vendor_api_key: str

    def __repr__(self) -> str:  # never print values, even in a debugger or a traceback
        return "Secrets(<redacted>)"


@dataclass(frozen=True)
class StripeSecrets:
    api_key: str
    webhook_secret: str

    def __repr__(self) -> str:
        return "StripeSecrets(<redacted>)"


@dataclass(frozen=True)
class AppSecrets:
    django_secret_key: str
    vendor_api_key: str

    def __repr__(self) -> str:
        return "AppSecrets(<redacted>)"


@dataclass(frozen=True)
class Parameters:
    vendor_endpoint: str
    order_expiry_minutes: int = 30
    fulfillment_max_attempts: int = 8
    vendor_connect_timeout: float = 3.0
    vendor_read_timeout: float = 10.0
    orders_rate_limit_per_minute: int = 30
    feature_flags: dict[str, bool] = field(default_factory=dict)
    # Buyers' e-mail (``integrations.email``): the From address (an SES identity) and the SES
    # configuration set whose event destination reports bounces; empty: not configured.
    email_sender: str = ""
    email_configuration_set: str = ""
    email_events_queue_url: str = ""  # SES's bounces and complaints, through SNS to SQS
    # Stripe's documented defaults: 100 requests a second per live account, 25 per endpoint
    # (``integrations.stripe_budget``); raise them with Stripe's written increase.
    stripe_account_rate: float = 100.0
    stripe_endpoint_rate: float = 25.0
    stripe_endpoint_rates: dict[str, float] = field(default_factory=dict)
    stripe_burst_seconds: float = 0.5
    stripe_priority_reserve: float = 0.4
    # The longest a call waits for its slot: a buyer's new PaymentIntent (then a 429 with
    # Retry-After), money already moving (refunds, syncs: then Stripe's retry or the job's).
    stripe_wait_new_seconds: float = 3.0
    stripe_wait_moving_seconds: float = 8.0
    retention_personal_data_months: int = 24
    retention_audit_years: int = 10

    def flag(self, name: str, default: bool = False) -> bool:
        return bool(self.feature_flags.get(name, default))


# (kind, name) -> (monotonic time it expires, value). A value is cached only once read and
# parsed; a failed read is never cached.
_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple[str, str], fetch: Callable[[], Any]) -> Any:
    seconds = cache_seconds()
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if seconds > 0 and hit is not None and hit[0] > now:
        return hit[1]
    value = fetch()
    if seconds > 0:
        with _cache_lock:
            _cache[key] = (now + seconds, value)
    return value


def _secret_json(name: str) -> dict[str, Any]:
    def fetch() -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = aws.client("secretsmanager").get_secret_value(SecretId=secret_id(name))
            return json.loads(answer.get("SecretString") or answer["SecretBinary"])
        except (BotoCoreError, ClientError, KeyError, ValueError):
            raise ConfigurationError(f"secret {secret_id(name)!r} cannot be read as JSON") from None

    value = _cached(("secret", name), fetch)
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {secret_id(name)!r} is not a JSON object")
    return value


def _parameters_raw() -> dict[str, str]:
    path = parameter_path()

    def fetch() -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        values: dict[str, str] = {}
        try:
            pages = aws.client("ssm").get_paginator("get_parameters_by_path")
            for page in pages.paginate(Path=path, WithDecryption=True, Recursive=False):
                for parameter in page["Parameters"]:
                    values[parameter["Name"].removeprefix(path).lstrip("/")] = parameter["Value"]
        except (BotoCoreError, ClientError, KeyError):
            raise ConfigurationError(f"parameters under {path!r} cannot be read") from None
        return values

    return _cached(("parameters", path), fetch)


def _required(source: dict[str, Any], key: str, where: str) -> str:
    value = source.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where} has no {key!r}")
    return value


def stripe_secret_name() -> str:
    """The Stripe secret this function reads (``STRIPE_KEY_NAME``, default ``stripe``)."""
    return os.environ.get("STRIPE_KEY_NAME") or "stripe"


def stripe_secrets_get() -> StripeSecrets:
    """This function's Stripe API key and, where it has one, the webhook signing secret (empty
    in the back office's secret, whose function serves no webhook): one secret, read only by
    the requests that talk to Stripe, from the cache or Secrets Manager."""
    name = stripe_secret_name()
    stripe = _secret_json(name)
    webhook_secret = stripe.get("webhook_secret", "")
    if not isinstance(webhook_secret, str):
        raise ConfigurationError(f"{secret_id(name)} has a malformed 'webhook_secret'")
    result = StripeSecrets(
        api_key=_required(stripe, "api_key", secret_id(name)), webhook_secret=webhook_secret
    )
    redact_register(result.api_key, result.webhook_secret)
    return result


def app_secrets_get() -> AppSecrets:
    """Django's secret key and the vendor's API key: read only when a request signs something
    (the admin's sessions and CSRF tokens) or calls the vendor, from the cache or Secrets
    Manager."""
    app = _secret_json("app")
    result = AppSecrets(
        django_secret_key=_required(app, "django_secret_key", secret_id("app")),
        vendor_api_key=_required(app, "vendor_api_key", secret_id("app")),
    )
    redact_register(result.django_secret_key, result.vendor_api_key)
    return result


def secrets_get() -> Secrets:
    """All of the app's secrets (both secrets read). Request paths use the narrower
    ``stripe_secrets_get``/``app_secrets_get``, so that each reads only what it needs."""
    stripe, app = stripe_secrets_get(), app_secrets_get()
    return Secrets(
        stripe_api_key=stripe.api_key,
        stripe_webhook_secret=stripe.webhook_secret,
        django_secret_key=app.django_secret_key,
        vendor_api_key=app.vendor_api_key,
    )


def origin_verify_secret_get() -> str | None:
    """The value our CloudFront distributions send in ``X-Origin-Verify``, or ``None`` when
    the stage has none (then no request counts as coming through them)."""
    try:
        value = _secret_json("origin").get("origin_verify_secret")
    except ConfigurationError:
        return None
    if not isinstance(value, str) or len(value) < 16:
        return None
    redact_register(value)
    return value


def parameters_get() -> Parameters:
    """The app's parameters, from the container's cache or one GetParametersByPath call."""
    raw = _parameters_raw()
    try:
        flags = json.loads(raw.get("feature_flags") or "{}")
        if not isinstance(flags, dict):
            raise ValueError
        endpoint_rates = json.loads(raw.get("stripe_endpoint_rates") or "{}")
        if not isinstance(endpoint_rates, dict):
            raise ValueError
        return Parameters(
            vendor_endpoint=_required(raw, "vendor_endpoint", parameter_path()).rstrip("/"),
            order_expiry_minutes=int(raw.get("order_expiry_minutes", 30)),
            fulfillment_max_attempts=int(raw.get("fulfillment_max_attempts", 8)),
            vendor_connect_timeout=float(raw.get("vendor_connect_timeout", 3.0)),
            vendor_read_timeout=float(raw.get("vendor_read_timeout", 10.0)),
            orders_rate_limit_per_minute=int(raw.get("orders_rate_limit_per_minute", 30)),
            feature_flags={str(k): bool(v) for k, v in flags.items()},
            email_sender=raw.get("email_sender", "").strip(),
            email_configuration_set=raw.get("email_configuration_set", "").strip(),
            email_events_queue_url=raw.get("email_events_queue_url", "").strip(),
            stripe_account_rate=float(raw.get("stripe_account_rate", 100.0)),
            stripe_endpoint_rate=float(raw.get("stripe_endpoint_rate", 25.0)),
            stripe_endpoint_rates={str(k): float(v) for k, v in endpoint_rates.items()},
            stripe_burst_seconds=float(raw.get("stripe_burst_seconds", 0.5)),
            stripe_priority_reserve=float(raw.get("stripe_priority_reserve", 0.4)),
            stripe_wait_new_seconds=float(raw.get("stripe_wait_new_seconds", 3.0)),
            stripe_wait_moving_seconds=float(raw.get("stripe_wait_moving_seconds", 8.0)),
            retention_personal_data_months=max(
                0, int(raw.get("retention_personal_data_months", 24))
            ),
            retention_audit_years=max(1, int(raw.get("retention_audit_years", 10))),
        )
    except ValueError:
        raise ConfigurationError(f"a parameter under {parameter_path()!r} is malformed") from None


def config_cache_clear() -> None:
    """Drop cached values: the next read goes to AWS again."""
    with _cache_lock:
        _cache.clear()
