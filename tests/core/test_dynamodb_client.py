"""Every model sends through one DynamoDB client (core.dynamodb.Model): one botocore session
and client per process instead of one per model class, with each model's own indexes."""

from __future__ import annotations

import pytest
from django.apps import apps
from pynamodb.models import Model as PynamoModel

from core import dynamodb

pytestmark = pytest.mark.usefixtures("aws")

PROJECT_APPS = ("core", "tickets", "orders", "payments", "staff")


def _project_models() -> list[type[PynamoModel]]:
    apps.check_models_ready()
    found, todo = [], [PynamoModel]
    while todo:
        model = todo.pop()
        todo += model.__subclasses__()
        if model.__module__.split(".")[0] in PROJECT_APPS and model is not dynamodb.Model:
            found.append(model)
    return found


def test_every_project_model_derives_from_the_shared_client_model():
    models = _project_models()

    assert models, "no model found"
    assert [m.__name__ for m in models if not issubclass(m, dynamodb.Model)] == []


def test_models_on_different_tables_send_through_one_client():
    from core.models import BackOfficeRecord
    from orders.models import CATALOG_ACTIVE, TicketType

    list(TicketType.catalog_index.query(CATALOG_ACTIVE))
    BackOfficeRecord.count("nobody")

    shared = dynamodb._connection().client
    assert TicketType._get_connection().connection.client is shared
    assert BackOfficeRecord._get_connection().connection.client is shared


def test_after_a_reset_models_use_the_new_client():
    from orders.models import TicketType

    before = TicketType._get_connection().connection.client

    dynamodb.connections_reset()

    after = TicketType._get_connection().connection.client
    assert after is not before and after is dynamodb._connection().client
