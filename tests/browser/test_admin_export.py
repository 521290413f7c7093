"""CSV export presets and "export this filtered view", as staff use them (issue 14,
feature 4): the file holds exactly the orders the preset or the list's filters name."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from core.dynamodb import iso_utc, new_id, utc_now
from orders.models import Order, OrderItem
from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


def _order(days_ago: int, status: str = "paid") -> str:
    created = iso_utc(utc_now() - timedelta(days=days_ago))
    order = Order(
        order_id=new_id("ord"),
        created_at=created,
        customer_id="cus_x",
        customer_email_masked="a***@example.com",
        status=status,
        currency="usd",
        total_amount=4900,
        items=[OrderItem(sku="ga", name="GA", quantity=1, unit_amount=4900, amount=4900)],
        updated_at=created,
    )
    order.save()
    return order.order_id


def _download(page: Page, selector: str) -> list[dict[str, str]]:
    with page.expect_download() as download_info:
        page.click(selector)
    download = download_info.value
    content = open(download.path(), encoding="utf-8").read()
    return list(csv.DictReader(io.StringIO(content)))


def test_presets_export_today_the_last_7_days_and_this_month(make_staff, new_page, artifacts):
    today = _order(0)
    five_days = _order(5)
    ten_days = _order(10)
    month_start = utc_now().date().replace(day=1)
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    page.goto("/admin/orders/order/")
    page.click("text=Export CSV")
    expect(page.locator("#export-presets")).to_be_visible()
    page.screenshot(path=str(artifacts / "export.png"), full_page=True)

    assert {r["order_id"] for r in _download(page, "#preset-today")} == {today}
    assert {r["order_id"] for r in _download(page, "#preset-last7")} == {today, five_days}
    this_month = {r["order_id"] for r in _download(page, "#preset-month")}
    days_into_month = (utc_now().date() - month_start).days
    expected = {today} | ({five_days} if days_into_month >= 5 else set())
    expected |= {ten_days} if days_into_month >= 10 else set()
    assert this_month == expected


def test_export_this_filtered_view_takes_the_lists_status_and_dates(make_staff, new_page):
    paid_recent = _order(1, "paid")
    _order(1, "canceled")
    _order(20, "paid")
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    low = (utc_now() - timedelta(days=3)).date().isoformat()
    page.goto(f"/admin/orders/order/?status=paid&created__gte={low}")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)

    page.click("text=Export CSV")
    expect(page.locator("#export-form")).to_contain_text("Paid orders")
    expect(page.locator("#id_from")).to_have_value(low)
    rows = _download(page, "#export-form input[type=submit]")

    assert [(r["order_id"], r["status"]) for r in rows] == [(paid_recent, "paid")]
