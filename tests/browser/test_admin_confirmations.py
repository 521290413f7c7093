"""Refund and cancel go through a confirmation page that states the amount and its effect and
asks for a reason (issue 14): one click no longer refunds a whole order."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import ORDERS_BY_STATUS, Order
from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def demo(aws):
    call_command("seed_demo")


@pytest.fixture
def paid_order(aws, demo):
    """A USD 49.00 order paid through a real PaymentIntent in localstripe."""
    from integrations.stripe_client import payment_intent_retrieve
    from orders.services.transitions import order_mark_paid
    from payments.services.records import payment_record_success
    from tests.factories import intent_pay, order_create

    order = order_create(items=[("ga-2027", 1)])
    intent_pay(aws, order.payment_intent_id)
    charge = payment_intent_retrieve(payment_intent_id=order.payment_intent_id).latest_charge
    payment_record_success(payment_intent_id=order.payment_intent_id, charge_id=charge)
    order_mark_paid(order_id=order.order_id)
    return order


def _stored(order: Order) -> Order:
    return Order.get(order.order_id, order.created_at, consistent_read=True)


def test_an_empty_amount_asks_to_confirm_a_full_refund_with_a_reason(
    aws, paid_order, make_staff, new_page, artifacts
):
    from payments.models import Payment
    from tests.factories import stripe_object

    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    page.goto(f"/admin/orders/order/{paid_order.order_id}/change/")

    page.click("#action-refund input[type=submit]")  # the amount left empty

    expect(page.locator("h1")).to_contain_text("Are you sure?")
    expect(page.locator("#action-effects")).to_contain_text("Full refund of USD 49.00")
    expect(page.locator("#action-effects")).to_contain_text("The order becomes Refunded")
    expect(page.locator(".breadcrumbs")).to_contain_text(paid_order.order_id)
    page.screenshot(path=str(artifacts / "refund-confirmation.png"), full_page=True)
    assert _stored(paid_order).status == "paid"  # nothing happened yet

    # "Yes" without a reason: the page asks for it, nothing is refunded.
    page.click("#action-confirm input[type=submit]")
    expect(page.locator("#id_reason:invalid")).to_have_count(1)
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    assert _stored(paid_order).status == "paid"

    page.select_option("#id_reason", "requested_by_customer")
    page.fill("#id_note", "Cannot travel, asked by e-mail")
    page.click("#action-confirm input[type=submit]")

    expect(page.locator(".messagelist .success")).to_contain_text("Refund of USD 49.00 requested")
    assert _stored(paid_order).status == "refunded"
    payment = next(iter(Payment.query(paid_order.payment_intent_id, consistent_read=True)))
    (refund,) = payment.refunds
    assert (refund.amount, refund.reason, refund.note, refund.requested_by) == (
        4900,
        "requested_by_customer",
        "Cannot travel, asked by e-mail",
        "fin",
    )
    in_stripe = stripe_object(aws, f"/v1/refunds/{refund.refund_id}")
    assert in_stripe["reason"] == "requested_by_customer"
    # The key is the confirmation's one submit (dynamo_admin.once): refund:{order}:{submit}.
    assert in_stripe["metadata"] == {
        "order_id": paid_order.order_id,
        "requested_by": "fin",
        "idempotency_key": refund.idempotency_key,
    }
    assert refund.idempotency_key.startswith(f"refund:{paid_order.order_id}:")

    # The reason is on the payment's page, beside the refund.
    page.goto(f"/admin/payments/payment/{paid_order.payment_intent_id}/change/")
    refunds = page.locator(".related-list", has=page.locator("h2", has_text="Refunds"))
    expect(refunds).to_contain_text("Requested by the customer: Cannot travel, asked by e-mail")
    expect(refunds).to_contain_text("fin")
    page.go_back()

    # The reason is in the order's history, with who gave it.
    page.click(".object-tools a.historylink")
    history = page.locator("#change-history")
    expect(history).to_contain_text("Requested by the customer: Cannot travel, asked by e-mail")
    expect(history).to_contain_text("fin")
    expect(history).to_contain_text("Refund of USD 49.00")


def test_a_partial_refund_states_its_amount_and_refuses_more_than_is_left(
    aws, paid_order, make_staff, new_page
):
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    page.goto(f"/admin/orders/order/{paid_order.order_id}/change/")

    page.fill("#action-refund input[name=amount]", "49.01")
    page.click("#action-refund input[type=submit]")
    expect(page.locator(".messagelist .error")).to_contain_text("At most USD 49.00")
    expect(page.locator(".messagelist .error")).not_to_contain_text("4900")

    page.fill("#action-refund input[name=amount]", "12.505")
    page.click("#action-refund input[type=submit]")
    expect(page.locator(".messagelist .error")).to_contain_text("at most 2 decimals")

    page.fill("#action-refund input[name=amount]", "12.50")
    page.click("#action-refund input[type=submit]")
    expect(page.locator("#action-effects")).to_contain_text(
        "Partial refund of USD 12.50 of USD 49.00"
    )
    page.select_option("#id_reason", "duplicate")
    page.fill("#id_note", "Charged twice")
    page.click("#action-confirm input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Refund of USD 12.50 requested")
    assert _stored(paid_order).refunded_amount == 1250

    # "No, take me back" changes nothing.
    page.fill("#action-refund input[name=amount]", "1.00")
    page.click("#action-refund input[type=submit]")
    page.click("text=No, take me back")
    expect(page.locator("#action-refund")).to_be_visible()
    assert _stored(paid_order).refunded_amount == 1250


def test_cancel_asks_to_confirm_with_a_reason_kept_in_history(demo, make_staff, new_page):
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    order = next(iter(ORDERS_BY_STATUS.query("pending_payment", limit=1)))
    page.goto(f"/admin/orders/order/{order.order_id}/change/")

    page.click("#action-cancel input[type=submit]")
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    expect(page.locator("#action-effects")).to_contain_text("seats go back on sale")
    expect(page.locator("#action-effects")).to_contain_text("USD 98.00")
    assert _stored(order).status == "pending_payment"

    page.select_option("#id_reason", "duplicate")
    page.fill("#id_note", "Placed twice by mistake")
    page.click("#action-confirm input[type=submit]")

    expect(page.locator(".messagelist .success")).to_contain_text("was canceled")
    assert _stored(order).status == "canceled"
    page.click(".object-tools a.historylink")
    expect(page.locator("#change-history")).to_contain_text(
        "Duplicate order: Placed twice by mistake"
    )
