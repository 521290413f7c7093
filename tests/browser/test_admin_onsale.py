"""Staff open an on-sale from the ticket type's page, in Chromium: the form, the message, the
page and the dashboard then show the line (issue 26)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orders.services.line import line_get
from tests.browser.test_admin_browser import sign_in
from tests.factories import ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def test_finance_staff_open_an_on_sale_and_see_its_line(aws, make_staff, new_page, artifacts):
    ticket_type_create("ga", available=100)
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    page.goto("/admin/orders/tickettype/ga/change/")
    form = page.locator("#action-open_onsale")

    form.locator("input[name=hold_minutes]").fill("12")
    form.locator("input[name=admit_per_second]").fill("40")
    form.locator("input[type=submit]").click()  # "opens at" empty: now

    expect(page.locator(".messagelist .success")).to_contain_text("The on-sale of ga opens")
    page.goto("/admin/orders/tickettype/ga/change/")
    expect(page.locator("body")).to_contain_text("40 admitted a second, hold 12 min")
    page.screenshot(path=str(artifacts / "onsale-opened.png"), full_page=True)
    line = line_get(sku="ga", consistent=True)
    assert (line.hold_minutes, line.admit_per_second, line.opened_by) == (12, 40, "fin")
    page.goto("/admin/dashboard/")
    expect(page.locator("#onsales")).to_contain_text("ga")
