"""The database engine: atomic blocks work, any ORM query fails loudly."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.db import transaction

from staff.models import Staff
from tickets.db_backend.base import NoRelationalDatabase


def test_an_atomic_block_enters_and_leaves_without_a_database():
    ran = []
    with transaction.atomic():
        transaction.on_commit(lambda: ran.append("committed"))
        ran.append("inside")

    assert ran == ["inside", "committed"]


@pytest.mark.parametrize(
    "query",
    [
        lambda: list(LogEntry.objects.all()),
        lambda: LogEntry.objects.count(),
        lambda: Staff.objects.filter(username="ada").exists(),
    ],
)
def test_an_orm_query_raises(query):
    with pytest.raises(NoRelationalDatabase):
        query()


def test_an_orm_query_inside_an_atomic_block_raises_too():
    with pytest.raises(NoRelationalDatabase), transaction.atomic():
        list(LogEntry.objects.all())


def test_the_storefront_api_pays_nothing_for_the_admins_sessions(aws, client):
    from core.dynamodb_requests import dynamodb_requests

    with dynamodb_requests() as calls:
        response = client.get("/health")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert sum(calls.values()) == 0
