"""Lambda SnapStart hooks (tickets/snapstart.py): registered through the runtime's hook API
when it exists, and after a restore nothing that must differ per environment is shared with
the snapshot: random state, cached secrets, AWS/Stripe/vendor clients and connections.

The runtime's ``snapshot_restore_py`` only exists inside Lambda; here a stand-in module with
its two functions plays it, and the tests call the hooks it was given, as Lambda would."""

from __future__ import annotations

import json
import random
import sys
import types

import boto3
import pytest

from core import aws as tickets_aws
from core import config, dynamodb
from tickets import snapstart

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def runtime_hooks(monkeypatch):
    """A stand-in for Lambda's ``snapshot_restore_py``: records what is registered."""
    registered: dict[str, list] = {"before_snapshot": [], "after_restore": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before_snapshot"].append
    module.register_after_restore = registered["after_restore"].append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registered


def test_without_lambdas_runtime_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails

    assert snapstart.hooks_register() is False


def test_the_hooks_are_registered_through_the_runtime_api(runtime_hooks):
    assert snapstart.hooks_register() is True

    assert runtime_hooks["before_snapshot"] == [snapstart.before_snapshot]
    assert runtime_hooks["after_restore"] == [snapstart.after_restore]


def test_after_a_restore_random_numbers_differ_from_the_snapshots(runtime_hooks):
    snapstart.hooks_register()
    random.seed(20261125)  # the state every copy of one snapshot would share
    from_snapshot = [random.random() for _ in range(4)]
    random.seed(20261125)

    for hook in runtime_hooks["after_restore"]:
        hook()

    assert [random.random() for _ in range(4)] != from_snapshot


def test_after_a_restore_secrets_are_read_again(runtime_hooks, aws):
    snapstart.hooks_register()
    assert config.stripe_secrets_get().api_key == aws.secrets.stripe_api_key  # now cached
    boto3.client("secretsmanager", endpoint_url=aws.aws_url).put_secret_value(
        SecretId="ticketstoheaven/local/stripe",
        SecretString=json.dumps({"api_key": "sk_test_after", "webhook_secret": "whsec_after"}),
    )
    assert config.stripe_secrets_get().api_key == aws.secrets.stripe_api_key  # still cached

    for hook in runtime_hooks["after_restore"]:
        hook()

    assert config.stripe_secrets_get().api_key == "sk_test_after"


def test_after_a_restore_every_client_and_connection_is_new(runtime_hooks):
    from integrations import stripe_client, vendor_client

    snapstart.hooks_register()
    before = (
        tickets_aws.client("ssm"),
        dynamodb._connection(),
        stripe_client._stripe_client(),
        vendor_client._session(),
    )

    for hook in runtime_hooks["after_restore"]:
        hook()

    after = (
        tickets_aws.client("ssm"),
        dynamodb._connection(),
        stripe_client._stripe_client(),
        vendor_client._session(),
    )
    assert all(new is not old for new, old in zip(after, before, strict=True))


def test_before_the_snapshot_no_client_is_kept_and_the_storefront_still_answers(
    runtime_hooks, client
):
    from integrations import stripe_client

    snapstart.hooks_register()
    tickets_aws.client("ssm")
    stripe_client._stripe_client()

    for hook in runtime_hooks["before_snapshot"]:
        hook()

    assert tickets_aws.client.cache_info().currsize == 0
    assert stripe_client._client is None
    assert client.get("/catalog").status_code == 200  # clients are made again on use
