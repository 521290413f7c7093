"""The admin reads one way and shows each role only what it can do (issue 14): money in major
units with its currency, one time format with its timezone, actions a role cannot use not
shown, the order list fitting a laptop, "View site" going somewhere useful."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from playwright.sync_api import expect

from orders.models import ORDERS_BY_STATUS, Order, TicketType
from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")

# The one time format: 2026-11-25 12:44:05 UTC.
ONE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
# What a time looks like in any other shape staff met before: raw ISO, or without a timezone.
OTHER_FORMATS = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?!:\d{2} UTC)"
)


@pytest.fixture
def demo(aws):
    call_command("seed_demo")


def _order(status: str) -> Order:
    return next(iter(ORDERS_BY_STATUS.query(status, limit=1)))


def test_prices_are_typed_in_major_units_of_a_real_currency(demo, make_staff, new_page):
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")

    page.goto("/admin/orders/tickettype/add/")
    page.fill("#id_sku", "day-pass")
    page.fill("#id_name", "Day pass")
    page.fill("#id_currency", "usx")
    page.fill("#id_unit_amount", "49.00")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("Not an ISO 4217 currency code")

    page.fill("#id_currency", "jpy")
    page.fill("#id_unit_amount", "1500.5")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("JPY prices are whole numbers")

    page.fill("#id_currency", "usd")
    page.fill("#id_unit_amount", "49.001")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("USD prices have at most 2 decimals")

    page.fill("#id_unit_amount", "49.00")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    assert TicketType.get("day-pass").unit_amount == 4900  # not 49 cents

    # Read back as typed, and changed in the same unit.
    expect(page.locator("#id_unit_amount")).to_have_value("49.00")
    page.fill("#id_unit_amount", "10.00")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert TicketType.get("day-pass").unit_amount == 1000
    page.goto("/admin/orders/tickettype/")
    expect(page.locator("#result_list")).to_contain_text("USD 10.00")


def test_a_viewer_sees_no_action_it_cannot_use(demo, make_staff, new_page):
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "vic")

    page.goto("/admin/orders/order/")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    expect(page.locator(".object-tools")).not_to_contain_text("Export CSV")
    expect(page.locator(".actions select[name=action]")).to_have_count(0)

    for status in ("paid", "pending_payment", "fulfillment_failed"):
        page.goto(f"/admin/orders/order/{_order(status).order_id}/change/")
        expect(page.locator("h2", has_text="Items")).to_be_visible()
        expect(page.locator("#object-actions")).to_have_count(0)
        expect(page.locator("body")).not_to_contain_text("Your role does not include")

    # Support can use cancel, sync and export: shown to them.
    make_staff("support", "sam")
    support = new_page()
    sign_in(support, "sam")
    support.goto(f"/admin/orders/order/{_order('pending_payment').order_id}/change/")
    expect(support.locator("#action-cancel")).to_be_visible()
    expect(support.locator("#action-refund")).to_have_count(0)
    support.goto("/admin/orders/order/")
    expect(support.locator(".object-tools")).to_contain_text("Export CSV")


def test_every_time_reads_one_way_with_its_timezone(demo, make_staff, new_page):
    make_staff("admin", "ada")
    page = new_page()
    sign_in(page, "ada")
    order = _order("partially_refunded")

    page.goto("/admin/orders/order/")
    created = page.locator("#result_list tbody td.col-created").all_inner_texts()
    assert created and all(ONE_FORMAT.match(t.replace("\n", " ")) for t in created), created

    for url in (
        f"/admin/orders/order/{order.order_id}/change/",
        f"/admin/payments/payment/{order.payment_intent_id}/change/",
        "/admin/orders/tickettype/ga-2027/change/",
        "/admin/staff/staff/ada/change/",
        "/admin/orders/customer/",
        "/admin/payments/payment/",
    ):
        page.goto(url)
        text = page.locator("#content").inner_text()
        assert not OTHER_FORMATS.search(text), (url, OTHER_FORMATS.search(text))
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", text), url

    page.goto(f"/admin/orders/customer/{order.customer_id}/change/")
    page.fill("#id_name", "Alan M. Turing")
    page.click("input[name=_continue]")
    page.click(".object-tools a.historylink")
    first = page.locator("#change-history tbody th").first.inner_text()
    assert ONE_FORMAT.match(first), first


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_order_list_fits_a_laptop(demo, make_staff, new_page, artifacts, width):
    make_staff("support", "sam")
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "sam")
    page.goto("/admin/orders/order/")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    page.screenshot(path=str(artifacts / f"order-list-{width}.png"), full_page=True)

    layout = page.evaluate(
        """() => {
          const box = e => e.getBoundingClientRect();
          return {
            page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
            results: [document.querySelector('.results').scrollWidth,
                      document.querySelector('.results').clientWidth],
            headers: Object.fromEntries([...document.querySelectorAll('#result_list thead th')]
              .map(th => [th.innerText.trim().toLowerCase(), [box(th).left, box(th).right]])),
          };
        }"""
    )
    assert layout["page"][0] <= layout["page"][1], layout  # no horizontal scroll of the page
    assert layout["results"][0] <= layout["results"][1], layout  # nor of the list
    for key in ("order", "created", "status", "total", "customer"):
        left, right = layout["headers"][key]
        assert 0 <= left and right <= width, (key, layout)
    # Usable: the filters and the search are in view and work.
    page.click("#changelist-filter >> text=Paid")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#searchbar")).to_be_in_viewport()


def test_view_site_goes_to_the_storefront_or_is_not_shown(aws, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    expect(page.locator("#user-tools")).not_to_contain_text("View site")

    with override_settings(STOREFRONT_URL="https://shop.example.com/"):
        page.goto("/admin/")
        link = page.locator("#user-tools a", has_text="View site")
        expect(link).to_have_attribute("href", "https://shop.example.com/")


def test_the_csv_export_has_money_in_major_units(demo, make_staff, new_page):
    import csv
    import io

    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    page.goto("/admin/orders/order/")
    page.click("text=Export CSV")
    with page.expect_download() as download_info:
        page.click("#export-form input[type=submit]")
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))

    by_status = {row["status"]: row for row in rows}
    # Demo orders: 2 x General admission (USD 49.00) pending; 1 x VIP (USD 149.00) paid.
    assert (by_status["pending_payment"]["total"], by_status["pending_payment"]["currency"]) == (
        "98.00",
        "usd",
    )
    assert by_status["paid"]["total"] == "149.00"
    assert by_status["partially_refunded"]["refunded"] == "49.00"
