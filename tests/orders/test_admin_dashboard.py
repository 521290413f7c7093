"""The dashboard: daily counters, the chart, and the open problems with links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from core.dynamodb_requests import dynamodb_requests
from orders.daily_totals import daily_totals_list, daily_totals_record
from orders.models import (
    DAILY_TOTAL_SHARDS,
    ORDERS_BY_STATUS,
    AttentionReason,
    Order,
    order_status_shards,
)
from tests.orders.test_admin import make_order

pytestmark = pytest.mark.usefixtures("aws")


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def test_daily_totals_add_up_and_are_read_back_in_one_query(aws):
    daily_totals_record(day=_day(1), orders=1, revenue=0)
    daily_totals_record(day=_day(1), orders=0, revenue=4900)
    daily_totals_record(day=_day(1), orders=0, revenue=-900)
    daily_totals_record(day=_day(3), orders=2, revenue=1000, currency="eur")
    first = datetime.now(UTC).date() - timedelta(days=29)

    with dynamodb_requests() as calls:
        totals = daily_totals_list(first=first, last=datetime.now(UTC).date())

    assert calls == {"Query": DAILY_TOTAL_SHARDS}  # one per shard of the counters
    assert {(t.day, t.currency, t.orders, t.revenue) for t in totals} == {
        (_day(1), "usd", 1, 4000),
        (_day(3), "eur", 2, 1000),
    }


def test_the_dashboard_charts_the_days_and_lists_open_problems(staff_client):
    call_command("seed_demo")
    call_command("daily_totals_rebuild", "--days", "30")
    disputed = next(iter(Order.dispute_index.query("open")))
    failed = next(iter(ORDERS_BY_STATUS.query("fulfillment_failed")))
    overdue = make_order(hours_ago=2, status="pending_payment")  # expiry is 30 minutes
    browser = staff_client("viewer")

    with dynamodb_requests() as calls:
        page = browser.get("/admin/dashboard/")
    html = page.content.decode()

    assert page.status_code == 200
    assert html.count('<rect class="bar"') == 60  # 30 days, two charts
    assert "Orders per day" in html and "Revenue per day (USD)" in html
    assert f"/admin/orders/order/{failed.order_id}/change/" in html
    assert f"/admin/orders/order/{disputed.order_id}/change/" in html
    assert f"/admin/orders/order/{overdue.order_id}/change/" in html
    # The charts (one per shard of the counters), the problems (overdue carts: one per shard
    # of pending_payment), one per needs-attention reason, one for the on-sales' lines (none
    # here: nothing more), and the staff member's session with its messages.
    charts_and_problems = DAILY_TOTAL_SHARDS + order_status_shards("pending_payment") + 3 + 1
    assert calls["Scan"] == 0
    assert calls["Query"] <= charts_and_problems + len(AttentionReason) + 1


def test_the_index_links_the_dashboard(staff_client):
    assert "/admin/dashboard/" in staff_client("viewer").get("/admin/").content.decode()
