"""Defects staff found in the admin (issue 14), each as a staff member meets it in a real
browser against the real stack."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import ORDERS_BY_STATUS, Customer, Order
from tests.browser.test_admin_browser import sign_in


@pytest.fixture
def demo(aws):
    call_command("seed_demo")


def _order(status: str) -> Order:
    return next(iter(ORDERS_BY_STATUS.query(status, limit=1)))


def test_history_opens_for_orders_customers_and_payments(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    order = _order("pending_payment")

    # A staff action recorded with its reason: History shows who, what and why.
    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.click("#action-cancel input[type=submit]")
    page.select_option("#id_reason", "requested_by_customer")
    page.fill("#id_note", "canceled by staff")
    page.click("#action-confirm input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("was canceled")
    page.click(".object-tools a.historylink")
    expect(page).to_have_url(re.compile(rf"/admin/orders/order/{order.order_id}/history/$"))
    expect(page.locator("h1")).to_contain_text("Change history")
    expect(page.locator("#change-history")).to_contain_text("sam")
    expect(page.locator("#change-history")).to_contain_text("canceled by staff")

    customer = next(iter(Customer.email_index.query("alan@example.com")))
    page.goto(f"/admin/orders/customer/{customer.customer_id}/change/")
    page.fill("#id_name", "Alan M. Turing")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    page.click(".object-tools a.historylink")
    expect(page.locator("h1")).to_contain_text("Change history")
    expect(page.locator("#change-history")).to_contain_text("Alan M. Turing")
    expect(page).to_have_url(
        re.compile(rf"/admin/orders/customer/{customer.customer_id}/history/$")
    )

    payment_id = _order("paid").payment_intent_id
    page.goto(f"/admin/payments/payment/{payment_id}/change/")
    page.click(".object-tools a.historylink")
    expect(page.locator("h1")).to_contain_text("Change history")
    expect(page).to_have_url(re.compile(rf"/admin/payments/payment/{payment_id}/history/$"))


def test_a_failed_action_says_what_happened_not_someone_else(aws, demo, make_staff, new_page):
    from tests.factories import intent_pay, order_create

    make_staff("admin", "ada")
    page = new_page()
    sign_in(page, "ada")

    # The customer paid in Stripe; the webhook has not arrived: the order cannot be canceled.
    being_paid = order_create(items=[("ga-2027", 1)])
    intent_pay(aws, being_paid.payment_intent_id)
    page.goto(f"/admin/orders/order/{being_paid.order_id}/change/")
    page.click("#action-cancel input[type=submit]")
    page.select_option("#id_reason", "abandoned")
    page.fill("#id_note", "buyer gave up")
    page.click("#action-confirm input[type=submit]")
    error = page.locator(".messagelist .error")
    expect(error).to_contain_text("payment went through (or is in progress)")
    expect(error).not_to_contain_text("someone else")
    assert Order.get(being_paid.order_id, being_paid.created_at).status == "pending_payment"

    # A paid order whose payment is not on record as succeeded: the refund is refused.
    order = _order("paid")
    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    page.fill("#action-refund input[name=amount]", "1.00")
    page.click("#action-refund input[type=submit]")
    page.select_option("#id_reason", "requested_by_customer")
    page.fill("#id_note", "asked")
    page.click("#action-confirm input[type=submit]")
    error = page.locator(".messagelist .error")
    expect(error).to_contain_text("Refund failed")
    expect(error).not_to_contain_text("someone else")


@pytest.mark.parametrize("model", ["order", "customer"])
def test_bad_filter_input_gets_a_message_never_a_500(demo, make_staff, new_page, model):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    response = page.goto(f"/admin/orders/{model}/?created__gte=0001-01-01")
    assert response.status == 200
    expect(page.locator(".messagelist .error")).to_contain_text("0001-01-01 is too far back")

    response = page.goto(f"/admin/orders/{model}/?created__gte=2026-13-45")
    assert response.status == 200
    expect(page.locator(".messagelist .error")).to_contain_text("2026-13-45")

    response = page.goto(f"/admin/orders/{model}/?created__gte=2026-03-10&created__lte=2026-03-01")
    expect(page.locator(".messagelist .error")).to_contain_text("is after the end")

    if model == "order":
        page.goto("/admin/orders/order/?status=bogus")
        expect(page.locator(".messagelist .error")).to_contain_text("bogus")
        expect(page.locator("#result_list tbody tr")).to_have_count(0)


def test_next_is_offered_only_while_orders_can_exist(demo, make_staff, new_page):
    """The seven demo orders are hours old: one page holds them all, with no Next to a run of
    empty pages reaching back to the list's horizon."""
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    page.goto("/admin/orders/order/")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    expect(page.locator(".paginator a.next")).to_have_count(0)
    expect(page.locator(".paginator")).not_to_contain_text("stopped at its limit")

    page.goto("/admin/orders/order/?created__gte=2020-01-01")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    expect(page.locator(".paginator a.next")).to_have_count(0)


def test_an_unknown_admin_url_answers_the_admin_404_page(aws, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    response = page.goto("/admin/no/such/page/")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#site-name")).to_contain_text("TicketsToHeaven back office")
    expect(page.locator("h1")).to_contain_text("Page not found")
    page.click(".breadcrumbs a")
    expect(page.locator("h1")).to_contain_text("Back office")


def test_staff_read_states_in_words_and_no_internal_version(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    order = _order("pending_payment")

    page.goto("/admin/orders/order/")
    expect(page.locator("#result_list")).to_contain_text("Pending payment")
    expect(page.locator("#result_list")).not_to_contain_text("pending_payment")
    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    details = page.locator("#content")
    expect(details).to_contain_text("Pending payment")
    expect(details).to_contain_text("Not started")
    expect(details).not_to_contain_text("pending_payment")
    expect(details).not_to_contain_text("Version")

    page.click("#action-cancel input[type=submit]")
    page.select_option("#id_reason", "requested_by_customer")
    page.fill("#id_note", "canceled by staff")
    page.click("#action-confirm input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("was canceled")
    page.click(".object-tools a.historylink")
    expect(page.locator("#change-history")).to_contain_text("sam")
    expect(page.locator("#change-history")).not_to_contain_text("version")
