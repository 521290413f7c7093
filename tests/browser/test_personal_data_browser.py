"""A customer's personal data in a real browser: finance downloads the export from the
customer page, then erases it through the confirmation (a reason chosen, the one-time form
sent once however it is clicked), and the admin finds nothing of the person afterwards."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from orders.models import Customer
from tests.browser.test_admin_browser import sign_in
from tests.personal_data import EMAIL, NAME, PHONE, buyer_with_history, table_leaks

pytestmark = pytest.mark.usefixtures("aws")


def test_finance_exports_a_customers_data_then_erases_it_after_confirming(
    aws, client, staff_client, make_staff, new_page, artifacts
):
    buyer = buyer_with_history(aws, client, staff_client)
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    page.goto(f"/admin/orders/customer/{buyer.customer_id}/change/")

    with page.expect_download() as download:
        page.click("text=Export personal data")
    document = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert download.value.suggested_filename == f"personal-data-{buyer.customer_id}.json"
    assert (document["customer"][0]["name"], document["customer"][0]["phone"]) == (NAME, PHONE)
    assert {o["order_id"] for o in document["orders"]} == set(buyer.orders)

    page.click("#action-erase input[type=submit]")
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    expect(page.locator("#action-effects")).to_contain_text("3 orders")
    expect(page.locator("#action-effects")).to_contain_text("This cannot be undone")
    page.screenshot(path=str(artifacts / "erase-confirmation.png"), full_page=True)
    page.click("#action-confirm input[type=submit]")  # no reason chosen: asked again
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    assert Customer.get(buyer.customer_id).erased_at is None

    page.select_option("#id_reason", "requested_by_customer")
    page.dblclick("#action-confirm input[type=submit]")  # a double click: erased once

    expect(page.locator(".messagelist")).to_contain_text("Personal data erased")
    expect(page.locator("#content")).not_to_contain_text(NAME)
    expect(page.locator("#content")).not_to_contain_text(EMAIL)
    expect(page.locator("#action-erase")).to_have_count(0)
    page.screenshot(path=str(artifacts / "customer-erased.png"), full_page=True)
    customer = Customer.get(buyer.customer_id)
    assert customer.erased_at and customer.name.startswith("Erased ")
    assert table_leaks(aws) == {}
    page.goto("/admin/orders/customer/?q=Lovelace")
    expect(page.locator("#result_list tbody tr")).to_have_count(0)
