"""An order's timeline and staff notes, as staff use them in a real browser (issue 14,
features 1 and 2): one story per order, oldest first, each line saying who or what did it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


def _order_paid_fulfilled_and_refunded(aws) -> str:
    """A real order: placed through POST /orders (its PaymentIntent in localstripe), paid,
    fulfilled by the stand-in vendor, then partly refunded by a finance member through Stripe.
    """
    from django.test import Client

    from integrations.stripe_client import payment_intent_retrieve
    from orders.services.fulfillment import fulfillment_start
    from orders.services.transitions import order_mark_paid
    from payments.services.records import payment_record_success
    from payments.services.refunds import refund_create
    from tests.factories import intent_pay, order_body, ticket_type_create

    ticket_type_create(sku="ga-2027", name="General admission 2027", unit_amount=4900)
    response = Client().post(
        "/orders",
        order_body("ada@example.com", [{"sku": "ga-2027", "quantity": 2}], name="Ada Lovelace"),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    order_id = response.json()["order_id"]
    intent_id = response.json()["payment"]["payment_intent_id"]
    intent_pay(aws, intent_id)
    charge = payment_intent_retrieve(payment_intent_id=intent_id).latest_charge
    # What the payment_intent.succeeded webhook does: the payment, the order, then
    # fulfillment (inline here: the stand-in vendor answers at once).
    payment_record_success(payment_intent_id=intent_id, charge_id=charge)
    order_mark_paid(order_id=order_id)
    fulfillment_start(order_id=order_id)
    refund_create(order_id=order_id, amount=1000, staff="fin")
    return order_id


def test_the_order_page_tells_the_order_story_and_takes_notes(aws, make_staff, new_page, artifacts):
    order_id = _order_paid_fulfilled_and_refunded(aws)
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    page.goto(f"/admin/orders/order/{order_id}/change/")
    timeline = page.locator("table.timeline")
    expect(timeline).to_be_visible()
    titles = timeline.locator(".tl-title").all_inner_texts()
    # Oldest first, each step of the order's life once.
    assert titles[0] == "Order placed"
    for expected in ["Payment opened in Stripe", "Payment succeeded", "Paid", "tickets issued"]:
        assert any(expected in t for t in titles), (expected, titles)
    assert any(t.startswith("Fulfillment attempt 1") for t in titles), titles
    refund_rows = timeline.locator("tr.tl-row-refund")
    expect(refund_rows.first).to_contain_text("USD 10.00")
    expect(refund_rows.first.locator(".tl-who")).to_have_text("fin")
    expect(refund_rows.last).to_contain_text("Refunded USD 10.00 of USD 98.00")
    expect(timeline).not_to_contain_text("minor units")  # staff read money in major units
    whens = timeline.locator(".tl-when").all_inner_texts()
    assert whens == sorted(whens) and all(w.endswith(" UTC") for w in whens)
    expect(timeline.locator("tr.tl-row-paid .tl-who")).to_contain_text("(system)")

    # A support member adds a note; it lands at the end of the timeline, with who wrote it.
    page.fill("#action-add_note textarea[name=text]", "Customer called: wants seats together.")
    page.click("#action-add_note input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Note added")
    last = page.locator("table.timeline tr.tl-row").last
    expect(last).to_contain_text("Customer called: wants seats together.")
    expect(last.locator(".tl-who")).to_have_text("sam")
    page.locator("table.timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "order-page-timeline.png"), full_page=True)
    page.locator("#related-6, .related-list:has(table.timeline)").last.screenshot(
        path=str(artifacts / "timeline.png")
    )

    # The note is in the order's History too: audited like any staff action.
    page.click(".object-tools a.historylink")
    expect(page.locator("#change-history")).to_contain_text("Note: Customer called")

    # An empty note is refused with a message; nothing is added.
    page.goto(f"/admin/orders/order/{order_id}/change/")
    count = page.locator("table.timeline tr.tl-row-note").count()
    page.fill("#action-add_note textarea[name=text]", "   ")
    page.click("#action-add_note input[type=submit]")
    expect(page.locator(".messagelist .error")).to_be_visible()
    expect(page.locator("table.timeline tr.tl-row-note")).to_have_count(count)


def test_customer_notes_show_on_the_customer_and_the_orders_timeline_viewers_cannot_add(
    aws, make_staff, new_page
):
    from tests.factories import paid_order_create

    order = paid_order_create(email="ada@example.com")
    make_staff("support", "sam")
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "sam")

    page.goto(f"/admin/orders/customer/{order.customer_id}/change/")
    page.fill("#action-add_note textarea[name=text]", "Prefers e-mail, never phone.")
    page.click("#action-add_note input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Note added")
    expect(page.locator("table.timeline")).to_contain_text("Prefers e-mail, never phone.")
    expect(page.locator("table.timeline tr.tl-row-note .tl-who")).to_have_text("sam")

    page.goto(f"/admin/orders/order/{order.order_id}/change/")
    note = page.locator("table.timeline tr.tl-row-note")
    expect(note).to_contain_text("Note on the customer")
    expect(note).to_contain_text("Prefers e-mail, never phone.")

    viewer = new_page()
    sign_in(viewer, "vic")
    viewer.goto(f"/admin/orders/order/{order.order_id}/change/")
    expect(viewer.locator("table.timeline")).to_contain_text("Prefers e-mail, never phone.")
    expect(viewer.locator("#action-add_note")).to_have_count(0)  # a viewer may read, not add
