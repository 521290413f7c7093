"""The customers' first day, the admin customer list's bound: only ever moved earlier, read
with one GetItem."""

from __future__ import annotations

from datetime import date

import pytest

from orders.selectors import customers_oldest_day
from orders.services.customers import customers_first_day_forget, customers_first_day_note

pytestmark = pytest.mark.usefixtures("aws")


def test_the_first_day_only_moves_earlier():
    assert customers_oldest_day() is None  # no customers yet

    customers_first_day_note(day="2026-03-10")
    assert customers_oldest_day() == date(2026, 3, 10)

    customers_first_day_note(day="2026-04-01")  # a later customer changes nothing
    customers_first_day_forget()  # (as another process, which knows nothing yet)
    customers_first_day_note(day="2026-05-01")
    assert customers_oldest_day() == date(2026, 3, 10)

    customers_first_day_forget()
    customers_first_day_note(day="2026-01-02")  # a backfill finds an older one
    assert customers_oldest_day() == date(2026, 1, 2)


def test_a_new_customer_from_an_order_sets_it(client):
    from tests.factories import order_body, ticket_type_create

    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    response = client.post("/orders", order_body(), content_type="application/json")

    assert response.status_code == 201, response.content
    assert customers_oldest_day() == date.fromisoformat(response.json()["created_at"][:10])


def test_the_backfill_sets_it_from_customers_older_than_it():
    from django.core.management import call_command

    from orders.models import Customer

    customers_first_day_note(day="2026-06-01")
    Customer(
        customer_id="cus_old",
        email="old@example.com",
        name="Old Timer",
        created_at="2025-12-24T10:00:00Z",
        updated_at="2025-12-24T10:00:00Z",
    ).save()

    call_command("admin_indexes_backfill")

    assert customers_oldest_day() == date(2025, 12, 24)
