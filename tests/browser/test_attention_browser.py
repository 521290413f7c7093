"""The needs-attention queue as a finance staff member meets it in a real browser: from the
dashboard's count to the queue, one action on one order, a bulk retry on several."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.audit import SYSTEM_SCHEDULER
from orders.models import OrderStatus
from orders.services.transitions import order_mark_canceled
from payments.services.sync import payment_sync
from tests.browser.test_admin_browser import sign_in
from tests.factories import intent_pay, order_create, order_get, ticket_type_create
from tests.vendor import vendor_behave

pytestmark = pytest.mark.usefixtures("aws")


def _paid(aws):
    order = order_create(items=[("ga", 1)], age_minutes=60)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    return order


def test_from_the_dashboard_count_to_resolving_each_order(aws, make_staff, new_page):
    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    canceled = order_create(items=[("ga", 2)], age_minutes=60)
    order_mark_canceled(order_id=canceled.order_id, reason="expired", actor=SYSTEM_SCHEDULER)
    intent_pay(aws, canceled.payment_intent_id)
    payment_sync(payment_intent_id=canceled.payment_intent_id, actor=SYSTEM_SCHEDULER)
    vendor_behave(aws, "reject", times=2)
    failed = [_paid(aws), _paid(aws)]
    make_staff("finance", "fran")
    page = new_page()
    sign_in(page, "fran")

    page.goto("/admin/dashboard/")
    expect(page.locator('#needs-attention td[data-reason="paid_canceled"]')).to_have_text("1")
    expect(page.locator('#needs-attention td[data-reason="fulfillment_failed"]')).to_have_text("2")
    page.click("#needs-attention a:has-text('Paid after it was canceled')")
    expect(page).to_have_url(re.compile(r"/admin/attention/#paid_canceled$"))

    section = page.locator("#paid_canceled")
    expect(section.locator(f'tr[data-order="{canceled.order_id}"]')).to_be_visible()
    section.locator("button", has_text="Reinstate (seats free) or refund").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was reinstated")
    expect(page.locator("#paid_canceled")).to_contain_text("None.")

    retry = page.locator("#fulfillment_failed")
    for order in failed:
        retry.locator(f'input[type=checkbox][value="{order.order_id}"]').check()
    retry.locator("input[type=submit]").click()
    expect(page.locator(".messagelist .success")).to_have_count(2)
    expect(page.locator("#fulfillment_failed")).to_contain_text("None.")

    assert order_get(canceled.order_id).status == OrderStatus.FULFILLED
    assert {order_get(o.order_id).status for o in failed} == {OrderStatus.FULFILLED}
