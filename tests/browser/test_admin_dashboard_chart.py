"""The dashboard's charts read without hovering (issue 14, feature 5): a scale on the left,
each day's value over its bar, the days under them, and the numbers as a table on request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.formatting import today
from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


def test_the_charts_have_a_scale_and_show_each_days_value(make_staff, new_page, artifacts):
    from orders.daily_totals import daily_totals_set

    now = today()
    for days_ago, orders in [(0, 12), (1, 3), (2, 7), (9, 18), (20, 5)]:
        day = (now - timedelta(days=days_ago)).isoformat()
        daily_totals_set(day=day, orders=orders, revenue=orders * 4900)
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "vic")
    page.click("#dashboard-link a.section")

    orders_chart = page.locator("#orders-chart svg")
    # A scale: round gridline values from 0 up to at least the tallest day (18 -> 0..20).
    ticks = orders_chart.locator(".y-axis text.tick").all_text_contents()
    assert ticks[0] == "0" and float(ticks[-1]) >= 18, ticks
    assert len(ticks) == 5
    # Every day with orders has its value written over its bar, visible without hovering.
    values = orders_chart.locator("text.value")
    expect(values).to_have_count(5)
    assert sorted(int(v) for v in values.all_text_contents()) == [3, 5, 7, 12, 18]
    expect(values.first).to_be_visible()
    # Days under the bars: 30 of them, the month named where the chart starts.
    expect(orders_chart.locator("text.day-label")).to_have_count(30)
    months = orders_chart.locator("text.month-label").all_text_contents()
    assert months[0] == (now - timedelta(days=29)).strftime("%b")

    revenue_chart = page.locator("#revenue-chart svg")
    expect(revenue_chart.locator("text.unit")).to_have_text("USD")
    # In major units, exact, with the currency: 18 orders x 49.00 on the tallest day.
    assert "USD 882.00" in revenue_chart.locator("text.value").all_text_contents()

    page.click("#per-day summary")
    today_row = page.locator("#per-day tbody tr").first
    expect(today_row).to_contain_text(now.isoformat())
    expect(today_row).to_contain_text("USD 588.00")
    page.screenshot(path=str(artifacts / "dashboard-chart.png"), full_page=True)
