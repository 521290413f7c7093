"""Staff on the order page, in a real browser: resend the tickets, then correct a mistyped
e-mail (a malformed one first), and the confirmation reaches the new address."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orders.selectors import order_get
from tests.browser.test_admin_browser import sign_in
from tests.factories import (
    customer_create,
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


def test_staff_resend_tickets_and_correct_the_buyers_address(
    aws, client, make_staff, new_page, artifacts
):
    customer_create(email="ada@exmaple.com", name="Ada Lovelace")  # the buyer mistyped it
    ticket_type_create(sku="ga", unit_amount=4900, available=10)
    order = order_create(items=[("ga", 2)])
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    assert order_get(order_id=order.order_id).status == "fulfilled"
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")
    page.goto(f"/admin/orders/order/{order.order_id}/change/")

    page.click("#action-resend_tickets input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Tickets e-mail of order")
    expect(page.get_by_role("cell", name="Tickets (resent by sam)")).to_be_visible()

    page.click("#action-change_contact input[type=submit]")
    expect(page.locator("h1")).to_contain_text("Are you sure?")
    expect(page.locator("#id_email")).to_have_value("ada@exmaple.com")
    page.fill("#id_email", "ada@example")
    page.click("#action-confirm input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("Enter a valid email address.")

    page.fill("#id_email", "ada@example.com")
    page.fill("#id_reason", "Buyer called: typo in the domain")
    page.click("#action-confirm input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "the confirmation goes to the new address"
    )
    expect(page.locator("body")).to_contain_text("Ada Lovelace <ada@example.com>")
    expect(page.get_by_role("cell", name="Order confirmation (resent by sam)")).to_be_visible()
    page.screenshot(path=str(artifacts / "admin-buyer-contact.png"), full_page=True)

    to_new = [m["subject"] for m in aws.sent_emails() if m["to"] == ["ada@example.com"]]
    assert to_new == [f"Your order {order.order_id} is confirmed"]
    to_old = [m["subject"] for m in aws.sent_emails() if m["to"] == ["ada@exmaple.com"]]
    assert len(to_old) == 3  # confirmation, tickets, the resent tickets
