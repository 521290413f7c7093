"""A staff day without a stumble (issue 30): each thing that stopped someone, as they met it in
Chromium on the demo data, and the screenshots of the pages it touched (``artifacts/``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import ORDERS_BY_STATUS, Customer, Order
from tests.browser.test_admin_browser import refund_confirmation_fill, sign_in


@pytest.fixture
def demo(aws):
    call_command("seed_demo")


def _order(status: str) -> Order:
    return next(iter(ORDERS_BY_STATUS.query(status, limit=1)))


def _with_underscore(status: str) -> Order:
    """An order whose id holds ``_`` (Django's links quote it as ``_5F``)."""
    for order in ORDERS_BY_STATUS.query(status):
        if "_" in order.order_id[4:]:
            return order
    order = _order(status)
    return order


def test_history_leads_back_to_the_order_by_its_breadcrumb(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    order = _with_underscore("paid")

    page.goto(f"/admin/orders/order/{order.order_id}/history/")
    page.locator(".breadcrumbs a").last.click()

    expect(page.locator("#content h2", has_text="Items")).to_be_visible()
    expect(page.locator(".messagelist")).to_have_count(0)  # no "does not exist"
    # Any link quoted the Django way opens the object.
    quoted = order.order_id.replace("_", "_5F")
    page.goto(f"/admin/orders/order/{quoted}/change/")
    expect(page.locator("#object-summary")).to_contain_text("Total")


def test_a_csv_export_reads_as_an_export_in_recent_actions(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    day = datetime.now(UTC).date().isoformat()
    with page.expect_download():
        page.evaluate(f"window.location = '/admin/orders/order/export/?from={day}&to={day}'")

    page.goto("/admin/")
    entry = page.locator("#recent-actions-module li", has_text="orders")
    expect(entry).to_contain_text("Orders")  # the list, not "Order"
    assert "changelink" not in (entry.first.get_attribute("class") or "")
    href = entry.first.locator("a").get_attribute("href")
    assert href == "/admin/orders/order/export/", href
    page.goto(href)
    expect(page.locator(".messagelist")).to_have_count(0)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=2026-12-09&to=2026-12-01", "is after"),
        ("from=2026-13-45&to=2026-12-01", "is not a date"),
    ],
)
def test_an_inverted_or_bogus_export_range_says_what_is_wrong(
    demo, make_staff, new_page, query, says
):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    page.goto(f"/admin/orders/order/export/?{query}")

    expect(page.locator(".messagelist .error")).to_contain_text(says)
    expect(page.locator("#export-form")).to_be_visible()


def test_a_phone_is_checked_kept_in_e164_and_shown_formatted(demo, make_staff, new_page):
    make_staff("support", "sam")
    customer = next(iter(Customer.email_index.query("alan@example.com")))
    page = new_page()
    sign_in(page, "sam")
    url = f"/admin/orders/customer/{customer.customer_id}/change/"

    page.goto(url)
    page.fill("#id_phone", "not a phone!!")
    page.click("input[name=_continue]")
    expect(page.locator(".errorlist")).to_contain_text("country code")
    assert Customer.get(customer.customer_id).phone is None

    page.fill("#id_phone", "+44 20 7946 0958")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert Customer.get(customer.customer_id).phone == "+442079460958"
    expect(page.locator("#content-main")).to_contain_text("+44 20 7946 0958")


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0", "above zero"),
        ("-5", "is not an amount"),
        ("abc", "is not an amount"),
    ],
)
def test_a_refund_amount_staff_mistype_says_how_to_type_it(demo, make_staff, new_page, typed, says):
    make_staff("finance", "fin")
    order = _order("paid")
    page = new_page()
    sign_in(page, "fin")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.fill("#action-refund input[name=amount]", typed)
    page.click("#action-refund input[type=submit]")

    expect(page.locator(".messagelist .error")).to_contain_text(says)
    expect(page.locator(".messagelist .error")).not_to_contain_text("0.001")


def test_a_refund_typed_with_a_decimal_comma_is_understood(demo, make_staff, new_page):
    make_staff("finance", "fin")
    order = _order("paid")
    page = new_page()
    sign_in(page, "fin")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.fill("#action-refund input[name=amount]", "1,50")
    page.click("#action-refund input[type=submit]")

    expect(page.locator("#action-effects")).to_contain_text("Partial refund of USD 1.50")


def test_a_refund_stripe_refuses_shows_stripes_words(aws, make_staff, new_page, client):
    from tests.factories import (
        order_paid_in_stripe,
        stripe_object,
        stripe_request,
        ticket_type_create,
    )

    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    order = order_paid_in_stripe(aws, client, items=[("ga", 2)])
    # localstripe's one refusal ("Cannot refund a failed payment."), put in place by updating
    # the charge there.
    charge = stripe_object(aws, f"/v1/payment_intents/{order.payment_intent_id}")["latest_charge"]
    charge_id = charge if isinstance(charge, str) else charge["id"]
    stripe_request(aws, "POST", f"/v1/charges/{charge_id}", {"status": "failed"})
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")

    refund_confirmation_fill(page, order.order_id, "10.00", "asked")
    page.click("#action-confirm input[type=submit]")

    error = page.locator(".messagelist .error")
    expect(error).to_contain_text("Stripe refused the refund: Cannot refund a failed payment.")
    expect(error).not_to_contain_text("InvalidRequestError")


def test_required_fields_on_a_confirmation_are_marked(demo, make_staff, new_page):
    make_staff("support", "sam")
    order = _order("pending_payment")
    page = new_page()
    sign_in(page, "sam")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.click("#action-cancel input[type=submit]")

    expect(page.locator("label[for=id_note] .required-mark")).to_have_text("*")
    expect(page.locator("label[for=id_reason] .required-mark")).to_have_text("*")
    expect(page.locator(".required-legend")).to_contain_text("are required")


def test_the_order_page_puts_status_amounts_customer_and_actions_first(
    demo, make_staff, new_page, artifacts
):
    make_staff("finance", "fin")
    order = _order("paid")
    customer = Customer.get(order.customer_id)
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "fin")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.screenshot(path=str(artifacts / "order-page-1280.png"), full_page=True)

    summary = page.locator("#object-summary")
    expect(summary).to_contain_text("Paid")
    expect(summary).to_contain_text(f"{customer.name} <{customer.email}>")  # one e-mail, whole
    expect(page.locator("#content")).not_to_contain_text(order.customer_email_masked)
    # Above the fold, in reading order: the facts, then the actions; nothing wider than the
    # window.
    refund = page.locator("#action-refund").bounding_box()
    assert refund is not None and refund["y"] < 500, refund
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # On a wide screen the timeline sits beside the details.
    page.set_viewport_size({"width": 1600, "height": 900})
    timeline = page.locator(".related-list", has_text="Timeline").bounding_box()
    items = page.locator(".related-list", has_text="Items").bounding_box()
    assert timeline is not None and items is not None
    assert timeline["x"] > items["x"] + 300 and abs(timeline["y"] - items["y"]) < 600
    page.screenshot(path=str(artifacts / "order-page-1600.png"), full_page=True)
    expect(page.locator("input[value=Close], a.closelink")).to_have_count(0)
    heading = page.locator(".related-list h2", has_text="Items").bounding_box()
    assert heading is not None and heading["height"] < 40, heading  # one line, not two


def test_the_order_list_keeps_amounts_and_times_on_one_line_at_1024(
    demo, make_staff, new_page, artifacts
):
    make_staff("support", "sam")
    page = new_page()
    page.set_viewport_size({"width": 1024, "height": 800})
    sign_in(page, "sam")

    page.goto("/admin/orders/order/")
    page.screenshot(path=str(artifacts / "order-list-1024.png"), full_page=True)

    lines = page.evaluate(
        """() => [...document.querySelectorAll('#result_list tbody tr:first-child td')]
               .filter(td => /USD|UTC/.test(td.textContent))
               .map(td => { const r = document.createRange(); r.selectNodeContents(td);
                            return [td.textContent.trim(), r.getClientRects().length]; })"""
    )
    assert len(lines) == 2 and all(n == 1 for _, n in lines), lines  # amount, time: one line
    expect(page.locator("#result_list thead")).to_contain_text("E-mail")
    expect(page.locator("#toolbar")).not_to_contain_text("on the right")
    expect(page.locator("#toolbar")).to_contain_text("The filters still apply")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(artifacts / "order-list-1280.png"), full_page=True)


def test_the_dashboard_and_the_queue_speak_in_money_and_words(
    aws, demo, client, make_staff, new_page, artifacts
):
    from tests.factories import event_build, intent_pay, order_create, order_get, webhook_post
    from tests.vendor import vendor_behave

    vendor_behave(aws, "reject", times=1)  # the vendor's own answer: 422 and a JSON body
    rejected = order_create(items=[("ga-2027", 1)])
    intent = intent_pay(aws, rejected.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    assert "{" in (order_get(rejected.order_id).fulfillment_failure_reason or "")
    call_command("daily_totals_rebuild")
    make_staff("admin", "ada")
    page = new_page()
    sign_in(page, "ada")

    page.goto("/admin/dashboard/")
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    labels = [t.strip() for t in page.locator("#revenue-chart text.value").all_text_contents()]
    assert labels and all(re.fullmatch(r"USD \d[\d,]*\.\d\d", t) for t in labels), labels
    headers = page.locator(".problems thead th").all_inner_texts()
    assert headers and all(h.strip() for h in headers), headers  # every column named
    expect(page.locator("#problems-2 thead")).to_contain_text("Amount")

    page.goto("/admin/attention/")
    page.screenshot(path=str(artifacts / "attention.png"), full_page=True)
    why = page.locator(f'#fulfillment_failed tr[data-order="{rejected.order_id}"]')
    expect(why).to_contain_text("The vendor refused (HTTP 422)")
    expect(why).not_to_contain_text("{")
