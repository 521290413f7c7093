"""The admin in a real browser: what staff do all day, against the real stack."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from orders.models import ORDERS_BY_STATUS, Customer, Order
from tests.conftest import STAFF_PASSWORD, staff_totp_code


@pytest.fixture
def demo(aws):
    call_command("seed_demo")


def sign_in(page: Page, username: str) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    # A role with a second factor (finance, admin) is asked for its app's code next.
    page.wait_for_url(lambda url: "/admin/login/" not in url or "/login/factor/" in url)
    if "/admin/login/factor/" in page.url:
        page.fill("#id_code", staff_totp_code(username))
        page.click("#factor-form input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("TicketsToHeaven back office")
    expect(page.locator("#user-tools")).to_be_visible()


def refund_confirmation_fill(page: Page, order_id: str, amount: str, note: str) -> None:
    """Staff on the order page: Refund with ``amount``, then the confirmation's reason and
    words filled in (not yet confirmed)."""
    page.goto(f"/admin/orders/order/{order_id}/change/")
    page.fill("#action-refund input[name=amount]", amount)
    page.click("#action-refund input[type=submit]")
    page.select_option("#id_reason", "requested_by_customer")
    page.fill("#id_note", note)


def _order(status: str) -> Order:
    return next(iter(ORDERS_BY_STATUS.query(status, limit=1)))


def test_sign_in_filter_search_and_open_an_order(demo, make_staff, new_page, artifacts):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    page.click('#content-main a[href="/admin/orders/order/"]')
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    page.screenshot(path=str(artifacts / "order-list.png"), full_page=True)

    page.click("#changelist-filter >> text=fulfillment failed")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Fulfillment failed")

    page.fill("#searchbar", "grace@example.com")
    page.press("#searchbar", "Enter")
    # The search keeps the status filter (none of Grace's orders failed), and dropping the
    # filter keeps the search.
    expect(page.locator("#changelist")).to_contain_text("0 results")
    page.locator("#changelist-filter a", has_text="All").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)

    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator("h2", has_text="Items")).to_be_visible()
    expect(page.locator("h2", has_text="Payments")).to_be_visible()
    expect(page.locator("h2", has_text="Fulfillment attempts")).to_be_visible()
    expect(page.locator("body")).to_contain_text("grace@example.com")
    expect(page.locator(".breadcrumbs")).to_contain_text("Orders")
    page.screenshot(path=str(artifacts / "order-page.png"), full_page=True)


def test_a_viewer_is_not_offered_a_refund(demo, make_staff, new_page):
    make_staff("viewer", "vic")
    order = _order("paid")
    page = new_page()
    sign_in(page, "vic")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    expect(page.locator("h2", has_text="Items")).to_be_visible()
    expect(page.locator("#action-refund")).to_have_count(0)

    # Even typed by hand, the action's URL refuses and changes nothing.
    page.goto(f"/admin/orders/order/{order.order_id}/action/refund/?amount=10.00")
    expect(page.locator(".messagelist .error")).to_contain_text("You are not allowed to refund")
    assert Order.get(order.order_id, order.created_at).version == order.version


def test_finance_refunds_part_of_a_paid_order_through_stripe(aws, demo, make_staff, new_page):
    from integrations.stripe_client import payment_intent_retrieve
    from orders.services.transitions import order_mark_paid
    from payments.models import Payment
    from payments.services.records import payment_record_success
    from tests.factories import intent_pay, order_create

    order = order_create(items=[("ga-2027", 2)])  # a real PaymentIntent in localstripe
    intent_pay(aws, order.payment_intent_id)
    charge = payment_intent_retrieve(payment_intent_id=order.payment_intent_id).latest_charge
    # What the payment_intent.succeeded webhook does: the payment, then the order.
    payment_record_success(payment_intent_id=order.payment_intent_id, charge_id=charge)
    order_mark_paid(order_id=order.order_id)
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")

    refund_confirmation_fill(page, order.order_id, "10.00", "one ticket returned")
    page.click("#action-confirm input[type=submit]")

    expect(page.locator(".messagelist")).to_contain_text("Refund of USD 10.00 requested")
    payment = next(iter(Payment.query(order.payment_intent_id, consistent_read=True)))
    assert [(r.amount, r.status) for r in payment.refunds][-1][0] == 1000


def test_a_change_made_by_someone_else_first_is_reported_not_overwritten(
    demo, make_staff, new_page, artifacts
):
    make_staff("support", "sam")
    customer = next(iter(Customer.email_index.query("alan@example.com")))
    page = new_page()
    sign_in(page, "sam")
    page.goto(f"/admin/orders/customer/{customer.customer_id}/change/")
    page.fill("#id_name", "Alan M. Turing")

    # Meanwhile, another staff member's session changes the phone number.
    other = new_page()
    sign_in_as = "sue"
    make_staff("support", sign_in_as)
    sign_in(other, sign_in_as)
    other.goto(f"/admin/orders/customer/{customer.customer_id}/change/")
    other.fill("#id_phone", "+44 1234 567890")
    other.click("input[name=_save]")
    expect(other.locator(".messagelist .success")).to_contain_text("was changed successfully")

    page.click("input[name=_save]")

    expect(page.locator(".messagelist .error")).to_contain_text("changed by someone else")
    page.screenshot(path=str(artifacts / "conflict.png"))
    stored = Customer.get(customer.customer_id)
    assert stored.name == "Alan Turing"
    assert stored.phone == "+441234567890"  # kept in E.164
    expect(page.locator("#id_phone")).to_have_value("+441234567890")


def test_csv_export_of_a_date_range(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    page.goto("/admin/orders/order/")
    page.click("text=Export CSV")

    with page.expect_download() as download_info:
        page.click("#export-form input[type=submit]")
    content = open(download_info.value.path(), encoding="utf-8").read()

    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 7
    assert {r["status"] for r in rows} >= {"paid", "fulfilled", "pending_payment"}
    assert all(
        "@" in r["customer_email_masked"] and "***" in r["customer_email_masked"] for r in rows
    )


def test_the_dashboard_draws_the_chart_and_links_problems(demo, make_staff, new_page, artifacts):
    call_command("daily_totals_rebuild")
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "vic")

    page.click("#dashboard-link a.section")
    expect(page.locator("#orders-chart svg rect.bar")).to_have_count(30)
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    page.locator("#problems-1 a").first.click()

    expect(page.locator("body")).to_contain_text("Fulfillment failed")


def test_yes_refund_clicked_twice_quickly_refunds_once(aws, demo, client, make_staff, new_page):
    """A double click on "Yes, refund" (a slow connection, an impatient finger): Chromium sends
    the confirmation twice; Stripe gets one refund and the pages say the second did nothing."""
    from tests.factories import order_paid_in_stripe, stripe_object

    order = order_paid_in_stripe(aws, client, items=[("ga-2027", 2)])
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    refund_confirmation_fill(page, order.order_id, "10.00", "one ticket returned")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    box = page.locator("#action-confirm input[type=submit]").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)  # the mouse itself: Playwright does not wait for the page between
    page.wait_for_timeout(40)  # the first is on its way when the finger comes down again
    page.mouse.click(x, y)
    expect(page.locator(".messagelist")).to_be_visible()
    seen = page.locator(".messagelist li").all_inner_texts()
    page.goto(f"/admin/orders/order/{order.order_id}/change/")  # a message left in the session
    seen += page.locator(".messagelist li").all_inner_texts()

    refunds = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert [r["amount"] for r in refunds["data"]] == [1000]
    assert len(sent) == 2, sent  # the browser did send it twice
    # The page the browser shows is the second submit's answer, saying what the first did. (The
    # first's own message is kept too, for whichever page comes next: tests/staff/test_messages.)
    (told,) = [m for m in seen if "This second submit did nothing" in m]
    assert "Refund of USD 10.00 requested" in told and "by fin, " in told, seen
