"""Secrets (AWS Secrets Manager) and parameters (SSM Parameter Store), cached per container.

What lives where:
- secret ``{project}/{stage}/stripe``: JSON ``{"api_key", "webhook_secret"}``;
- secret ``{project}/{stage}/app``: JSON ``{"django_secret_key", "vendor_api_key"}``;
- secret ``{project}/{stage}/origin``: JSON ``{"origin_verify_secret"}``, the header value our
  CloudFront distributions add (Terraform writes both from one variable), which
  ``tickets.client_identity`` checks; read only when a request carries that header, and
  without it no CloudFront viewer address is believed;
- parameters under ``/{project}/{stage}/`` (one GetParametersByPath call): ``vendor_endpoint``,
  ``order_expiry_minutes``, ``fulfillment_max_attempts``, ``vendor_connect_timeout``,
  ``vendor_read_timeout``, ``orders_rate_limit_per_minute`` and ``feature_flags`` (JSON object).

Both are fetched on first use, never at import, through AWS Lambda Powertools' parameter
providers, and kept for ``CONFIG_CACHE_SECONDS`` (default 300; 0 turns the cache off): a warm container makes no AWS
call for them, and a rotated secret or changed parameter is picked up within that interval.
Every secret value loaded is registered with the log redactor, so it can never reach a log line.

This module must not log values, and must not import at module level anything slow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from tickets import aws
from tickets.logging import redact_register


class ConfigurationError(RuntimeError):
    """A secret or parameter is missing or malformed. The message names it, never its value."""


def _prefix() -> tuple[str, str]:
    return os.environ.get("PROJECT_NAME", "ticketstoheaven"), os.environ.get("STAGE", "dev")


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

    def flag(self, name: str, default: bool = False) -> bool:
        return bool(self.feature_flags.get(name, default))


_providers: dict[str, Any] = {}


def _provider(kind: str) -> Any:
    # Built lazily: the Powertools import pulls in boto3, which a cold start should pay only once
    # it needs AWS.
    if kind not in _providers:
        from aws_lambda_powertools.utilities import parameters

        cls = parameters.SecretsProvider if kind == "secrets" else parameters.SSMProvider
        _providers[kind] = cls(
            boto3_client=aws.client("secretsmanager" if kind == "secrets" else "ssm")
        )
    return _providers[kind]


def _secret_json(name: str) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )

    try:
        value = _provider("secrets").get(
            secret_id(name),
            max_age=cache_seconds(),
            force_fetch=cache_seconds() <= 0,
            transform="json",
        )
    except (GetParameterError, TransformParameterError):
        raise ConfigurationError(f"secret {secret_id(name)!r} cannot be read as JSON") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {secret_id(name)!r} is not a JSON object")
    return value


def _required(source: dict[str, Any], key: str, where: str) -> str:
    value = source.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where} has no {key!r}")
    return value


def stripe_secrets_get() -> StripeSecrets:
    """Stripe's API key and webhook signing secret: one secret, read only by the requests that
    talk to Stripe (creating an order, a webhook), from the cache or Secrets Manager."""
    stripe = _secret_json("stripe")
    result = StripeSecrets(
        api_key=_required(stripe, "api_key", secret_id("stripe")),
        webhook_secret=_required(stripe, "webhook_secret", secret_id("stripe")),
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
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw: dict[str, str] = _provider("ssm").get_multiple(
            parameter_path(),
            max_age=cache_seconds(),
            force_fetch=cache_seconds() <= 0,
            decrypt=True,
        )
    except GetParameterError:
        raise ConfigurationError(f"parameters under {parameter_path()!r} cannot be read") from None
    try:
        flags = json.loads(raw.get("feature_flags") or "{}")
        if not isinstance(flags, dict):
            raise ValueError
        return Parameters(
            vendor_endpoint=_required(raw, "vendor_endpoint", parameter_path()).rstrip("/"),
            order_expiry_minutes=int(raw.get("order_expiry_minutes", 30)),
            fulfillment_max_attempts=int(raw.get("fulfillment_max_attempts", 8)),
            vendor_connect_timeout=float(raw.get("vendor_connect_timeout", 3.0)),
            vendor_read_timeout=float(raw.get("vendor_read_timeout", 10.0)),
            orders_rate_limit_per_minute=int(raw.get("orders_rate_limit_per_minute", 30)),
            feature_flags={str(k): bool(v) for k, v in flags.items()},
        )
    except ValueError:
        raise ConfigurationError(f"a parameter under {parameter_path()!r} is malformed") from None


def config_cache_clear() -> None:
    """Drop cached values and providers: the next read goes to AWS again."""
    _providers.clear()
