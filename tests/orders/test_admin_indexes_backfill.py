"""Items written before the admin's indexes existed show up in its lists after the backfill."""

from __future__ import annotations

import io
from datetime import date

import boto3
import pytest
from django.core.management import call_command

from orders.models import ORDERS_BY_STATUS, Order
from orders.selectors import orders_of_day

pytestmark = pytest.mark.usefixtures("aws")


def test_old_orders_reach_the_day_and_dispute_indexes_after_the_backfill(aws):
    client = boto3.client("dynamodb", endpoint_url=aws.aws_url)
    # Written by an older version of the code: no created_day, no dispute_flag.
    client.put_item(
        TableName="ticketstoheaven-local-orders",
        Item={
            "order_id": {"S": "ord_old"},
            "created_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "customer_id": {"S": "cus_1"},
            "customer_email_masked": {"S": "a***@example.com"},
            "status": {"S": "paid"},
            "currency": {"S": "usd"},
            "total_amount": {"N": "4900"},
            "items": {"L": []},
            "disputed": {"BOOL": True},
            "updated_at": {"S": "2026-11-01T10:00:00.000000Z"},
            "version": {"N": "3"},
        },
    )
    out = io.StringIO()

    call_command("admin_indexes_backfill", stdout=out)
    call_command("admin_indexes_backfill", stdout=io.StringIO())  # safe to repeat

    assert [o.order_id for o in orders_of_day(day=date(2026, 11, 1), page_size=10)] == ["ord_old"]
    assert [o.order_id for o in ORDERS_BY_STATUS.query("paid")] == ["ord_old"]
    assert [o.order_id for o in Order.dispute_index.query("open")] == ["ord_old"]
    assert Order.get("ord_old", "2026-11-01T10:00:00.000000Z").version == 3
    assert "backfilled 1 orders, 1 disputes" in out.getvalue()
