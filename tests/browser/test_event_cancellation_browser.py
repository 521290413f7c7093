"""Finance cancel an event in a real browser: the ticket type's "Cancel the event", its dry run
on the confirmation, the job's progress on the page while Stripe is down, then done once the
every-minute job has refunded every order; the buyers' e-mails read back from SES."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orders.selectors import order_get
from payments.services.event_cancellation import event_cancellations_continue
from tests.browser.test_admin_browser import sign_in
from tests.factories import (
    customer_create,
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)
from tests.payments.stripe_down import stripe_unreachable

pytestmark = pytest.mark.usefixtures("aws")


def test_finance_cancel_an_event_and_follow_its_refunds(
    aws, client, make_staff, new_page, artifacts, monkeypatch
):
    customer_create(email="ada@example.com", name="Ada Lovelace")
    ticket_type_create(sku="ga", name="Concert", unit_amount=5000, available=10)
    orders = []
    for quantity in (2, 1):
        order = order_create(items=[("ga", quantity)])
        intent = intent_pay(aws, order.payment_intent_id)
        webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
        orders.append(order.order_id)
    make_staff("finance", "fin")
    page = new_page()
    sign_in(page, "fin")
    page.goto("/admin/orders/tickettype/ga/change/")

    page.click("#action-cancel_event input[type=submit]")
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    expect(page.locator("body")).to_contain_text("Refunded: 2 paid order(s), USD 150.00 in all")
    page.screenshot(path=str(artifacts / "admin-event-cancel-confirm.png"), full_page=True)
    page.fill("#id_note", "The artist is ill")
    with stripe_unreachable(monkeypatch):
        page.click("#action-confirm input[type=submit]")
        expect(page.locator(".messagelist .success")).to_contain_text("sales stopped")
    expect(page.locator("body")).to_contain_text("Stripe could not be reached")
    page.screenshot(path=str(artifacts / "admin-event-cancel-running.png"), full_page=True)

    event_cancellations_continue()  # the next minute's run, Stripe back
    page.reload()

    expect(page.get_by_role("cell", name="2 order(s), USD 150.00")).to_be_visible()
    expect(page.locator("body")).to_contain_text("done")
    expect(page.locator("#action-cancel_event")).to_have_count(0)
    page.screenshot(path=str(artifacts / "admin-event-cancel-done.png"), full_page=True)
    assert {order_get(order_id=o).status for o in orders} == {"refunded"}
    told = [m for m in aws.sent_emails() if m["subject"].startswith("Canceled: Concert")]
    assert len(told) == 2 and all(m["to"] == ["ada@example.com"] for m in told)
