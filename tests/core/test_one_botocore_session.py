"""DynamoDB's client (PynamoDB) and the boto3 clients (SSM, Secrets Manager) share one botocore
session: botocore's endpoint rules and credential chain are loaded once per cold start."""

from __future__ import annotations

import pytest

from core import aws, dynamodb

pytestmark = pytest.mark.usefixtures("aws")


def test_dynamodb_and_secrets_clients_are_built_on_one_session():
    from orders.models import CATALOG_ACTIVE, TicketType

    list(TicketType.catalog_index.query(CATALOG_ACTIVE))
    secrets = aws.client("secretsmanager")

    session = aws.botocore_session()
    assert dynamodb._connection().session is session
    assert secrets._loader is session.get_component("data_loader")
    assert dynamodb._connection().client._loader is secrets._loader  # files parsed once


def test_after_a_reset_the_dynamodb_client_uses_the_new_session():
    before = aws.botocore_session()
    dynamodb._connection().client  # noqa: B018 (build it)

    dynamodb.connections_reset()

    assert aws.botocore_session() is not before
    assert dynamodb._connection().session is aws.botocore_session()
    assert dynamodb._connection().client is not None
