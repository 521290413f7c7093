"""Secrets from Secrets Manager and parameters from SSM, through the emulator, and their cache."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from core import config

pytestmark = pytest.mark.usefixtures("aws")


def _secrets_manager(stack):
    return boto3.client("secretsmanager", endpoint_url=stack.aws_url)


def _ssm(stack):
    return boto3.client("ssm", endpoint_url=stack.aws_url)


def test_secrets_are_read_from_secrets_manager(aws):
    secrets = config.secrets_get()

    assert secrets.stripe_api_key == aws.secrets.stripe_api_key
    assert secrets.stripe_webhook_secret == aws.secrets.stripe_webhook_secret
    assert secrets.django_secret_key == aws.secrets.django_secret_key
    assert secrets.vendor_api_key == aws.secrets.vendor_api_key


def test_secrets_never_show_in_their_repr(aws):
    assert aws.secrets.stripe_api_key not in repr(config.secrets_get())


def test_parameters_are_read_from_ssm_with_their_types(aws):
    _ssm(aws).put_parameter(
        Name="/ticketstoheaven/local/feature_flags",
        Value=json.dumps({"new_checkout": True}),
        Type="String",
        Overwrite=True,
    )

    parameters = config.parameters_get()

    assert parameters.vendor_endpoint == aws.vendor_url
    assert parameters.order_expiry_minutes == 30
    assert parameters.fulfillment_max_attempts == 5
    assert parameters.vendor_read_timeout == 2.0
    assert parameters.flag("new_checkout") is True
    assert parameters.flag("unknown") is False


def test_a_warm_container_keeps_serving_cached_secrets_without_aws(aws):
    first = config.secrets_get()
    # Gone from AWS: a cached read must not need it.
    client = _secrets_manager(aws)
    for name in ("stripe", "app"):
        client.delete_secret(
            SecretId=f"ticketstoheaven/local/{name}", ForceDeleteWithoutRecovery=True
        )

    assert config.secrets_get() == first


def test_a_rotated_secret_is_picked_up_after_the_refresh_interval(aws, monkeypatch):
    monkeypatch.setenv("CONFIG_CACHE_SECONDS", "1")
    config.secrets_get()
    _secrets_manager(aws).put_secret_value(
        SecretId="ticketstoheaven/local/stripe",
        SecretString=json.dumps({"api_key": "sk_test_rotated", "webhook_secret": "whsec_rotated"}),
    )
    assert config.secrets_get().stripe_api_key == aws.secrets.stripe_api_key  # still cached

    time.sleep(1.1)

    assert config.secrets_get().stripe_api_key == "sk_test_rotated"


def test_parameters_are_cached_until_the_refresh_interval(aws, monkeypatch):
    monkeypatch.setenv("CONFIG_CACHE_SECONDS", "1")
    assert config.parameters_get().order_expiry_minutes == 30
    _ssm(aws).put_parameter(
        Name="/ticketstoheaven/local/order_expiry_minutes",
        Value="45",
        Type="String",
        Overwrite=True,
    )
    assert config.parameters_get().order_expiry_minutes == 30

    time.sleep(1.1)

    assert config.parameters_get().order_expiry_minutes == 45


def test_a_missing_secret_names_the_secret(aws):
    _secrets_manager(aws).delete_secret(
        SecretId="ticketstoheaven/local/app", ForceDeleteWithoutRecovery=True
    )

    with pytest.raises(config.ConfigurationError, match="ticketstoheaven/local/app"):
        config.secrets_get()


def test_a_secret_missing_a_key_names_the_key_not_the_values(aws):
    _secrets_manager(aws).put_secret_value(
        SecretId="ticketstoheaven/local/app",
        SecretString=json.dumps({"django_secret_key": "django-test-only-value"}),
    )

    with pytest.raises(config.ConfigurationError, match="vendor_api_key") as error:
        config.secrets_get()
    assert "django-test-only-value" not in str(error.value)


def test_each_function_reads_its_own_stripe_secret(aws, monkeypatch):
    """The back office's secret holds the key that may refund and no webhook secret; a
    function told to read it (STRIPE_KEY_NAME) gets that key, and accepts no webhook."""
    from integrations import stripe_client

    _secrets_manager(aws).create_secret(
        Name="ticketstoheaven/local/stripe-backoffice",
        SecretString=json.dumps({"api_key": "sk_test_backoffice_only"}),
    )
    assert config.stripe_secrets_get().api_key == aws.secrets.stripe_api_key

    monkeypatch.setenv("STRIPE_KEY_NAME", "stripe-backoffice")
    config.config_cache_clear()

    assert config.stripe_secrets_get().api_key == "sk_test_backoffice_only"
    assert config.stripe_secrets_get().webhook_secret == ""
    with pytest.raises(ValueError, match="no signing secret"):
        stripe_client.webhook_event_verify(payload=b"{}", signature_header="t=1,v1=00")


def test_a_malformed_parameter_is_a_configuration_error(aws):
    _ssm(aws).put_parameter(
        Name="/ticketstoheaven/local/fulfillment_max_attempts",
        Value="many",
        Type="String",
        Overwrite=True,
    )

    with pytest.raises(config.ConfigurationError, match="malformed"):
        config.parameters_get()


def test_a_missing_vendor_endpoint_is_a_configuration_error(aws):
    _ssm(aws).delete_parameter(Name="/ticketstoheaven/local/vendor_endpoint")

    with pytest.raises(config.ConfigurationError, match="vendor_endpoint"):
        config.parameters_get()


def test_a_zero_refresh_interval_reads_aws_every_time(aws, monkeypatch):
    monkeypatch.setenv("CONFIG_CACHE_SECONDS", "0")
    assert config.parameters_get().order_expiry_minutes == 30
    _ssm(aws).put_parameter(
        Name="/ticketstoheaven/local/order_expiry_minutes",
        Value="15",
        Type="String",
        Overwrite=True,
    )

    assert config.parameters_get().order_expiry_minutes == 15
