"""Customers and fulfilled orders written before the admin's search indexes existed are found
by the search after ``admin_indexes_backfill``."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.management import call_command

from orders import selectors
from orders.models import Customer

pytestmark = pytest.mark.usefixtures("aws")


def test_old_customers_and_ticket_codes_are_searchable_after_the_backfill(aws):
    client = boto3.client("dynamodb", endpoint_url=aws.aws_url)
    # Written by an older version of the code: no search keys, no ticket-code lookup.
    client.put_item(
        TableName="ticketstoheaven-local-customers",
        Item={
            "customer_id": {"S": "cus_old"},
            "email": {"S": "zoe@example.com"},
            "name": {"S": "Zoë O'Neil"},
            "created_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "updated_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "version": {"N": "4"},
        },
    )
    client.put_item(
        TableName="ticketstoheaven-local-orders",
        Item={
            "order_id": {"S": "ord_oldfulfilled0000001"},
            "created_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "customer_id": {"S": "cus_old"},
            "customer_email_masked": {"S": "z***@example.com"},
            "status": {"S": "fulfilled"},
            "currency": {"S": "usd"},
            "total_amount": {"N": "4900"},
            "items": {"L": []},
            "tickets": {
                "L": [
                    {
                        "M": {
                            "ticket_id": {"S": "tkt_1"},
                            "sku": {"S": "ga"},
                            "code": {"S": "OLD12345"},
                        }
                    }
                ]
            },
            "updated_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "version": {"N": "2"},
        },
    )
    assert selectors.customers_by_name(term="zoe") == []
    assert selectors.order_by_ticket_code(code="OLD12345") is None
    out = io.StringIO()

    call_command("admin_indexes_backfill", stdout=out)
    call_command("admin_indexes_backfill", stdout=io.StringIO())  # safe to repeat

    assert [c.customer_id for c in selectors.customers_by_name(term="zoe")] == ["cus_old"]
    assert [c.customer_id for c in selectors.customers_by_name(term="o'ne")] == ["cus_old"]
    assert [c.customer_id for c in selectors.customers_by_email_prefix(term="ZOE@ex")] == [
        "cus_old"
    ]
    order = selectors.order_by_ticket_code(code="old12345")
    assert order is not None and order.order_id == "ord_oldfulfilled0000001"
    assert Customer.get("cus_old").version == 4  # no editor sees a false conflict
    assert "1 customer searches" in out.getvalue() and "1 ticket codes" in out.getvalue()


def test_a_renamed_customer_is_found_by_the_new_name_only(aws):
    from core.dynamodb import utc_now_iso
    from orders.services.customers import customer_update

    now = utc_now_iso()
    Customer(
        customer_id="cus_rename", email="ann@example.com", name="Ann Smith", created_at=now,
        updated_at=now,
    ).save()  # fmt: skip

    customer_update(customer_id="cus_rename", version=1, changes={"name": "Ann Jones"})

    assert [c.customer_id for c in selectors.customers_by_name(term="jones")] == ["cus_rename"]
    assert selectors.customers_by_name(term="smith") == []
    assert [c.customer_id for c in selectors.customers_by_name(term="ann j")] == ["cus_rename"]
