"""The Stripe event inbox in a real browser (issue 13, part 2): a webhook that failed while
Stripe was unreachable shows as a banner and as a failed event; support replays it from the
admin and it applies once, even from a second tab opened before the first click."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from core.audit import audit_entries_of
from orders.models import OrderStatus
from tests.browser.test_admin_browser import sign_in
from tests.factories import (
    PAID_OR_LATER,
    event_build,
    intent_pay,
    order_create,
    order_get,
    ticket_type_create,
    webhook_post,
)
from tests.payments.stripe_down import stripe_unreachable

pytestmark = pytest.mark.usefixtures("aws")


def test_a_failed_event_replayed_from_the_admin_applies_once(
    aws, make_staff, new_page, monkeypatch
):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 2)])
    event = event_build("payment_intent.succeeded", intent_pay(aws, order.payment_intent_id))
    with stripe_unreachable(monkeypatch):
        response = webhook_post(Client(raise_request_exception=False), aws, event)
    assert response.status_code == 503
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
    make_staff("support", "sam")
    page, second_tab = new_page(), new_page()
    sign_in(page, "sam")
    sign_in(second_tab, "sam")

    # The index says Stripe could not be reached; the inbox lists the failed event.
    expect(page.locator("#health-stripe-unreachable")).to_contain_text("Stripe cannot be reached")
    page.goto("/admin/payments/stripeevent/")
    page.locator("#changelist-filter").get_by_role("link", name="failed", exact=True).click()
    expect(page).to_have_url(re.compile(r"outcome=failed"))
    row = page.locator("#result_list tbody tr", has_text=event["id"])
    expect(row).to_contain_text("payment_intent.succeeded")
    expect(row).to_contain_text("PaymentProviderUnavailable")
    expect(row.locator(f'a[href="/admin/orders/order/{order.order_id}/change/"]')).to_be_visible()
    row.locator("a", has_text=event["id"]).click()
    second_tab.goto(f"/admin/payments/stripeevent/{event['id']}/change/")

    page.click("#action-replay input[type=submit]")

    expect(page.locator(".messagelist .success")).to_contain_text(
        "Replayed payment_intent.succeeded: applied"
    )
    expect(page.locator("#action-replay")).to_have_count(0)  # nothing left to replay
    assert order_get(order.order_id).status in PAID_OR_LATER

    # The tab read before the replay still shows the button: its click changes nothing.
    second_tab.click("#action-replay input[type=submit]")

    expect(second_tab.locator(".messagelist")).to_contain_text("changed by someone else")
    paid = [
        e
        for e in audit_entries_of(object_type="orders.order", object_id=order.order_id)
        if e.action == "paid"
    ]
    assert [e.actor for e in paid] == ["sam"]
    page.goto("/admin/")
    expect(page.locator("#health-stripe-unreachable")).to_have_count(0)  # Stripe answered since
    page.goto(f"/admin/orders/order/{order.order_id}/history/")
    expect(page.locator("#change-history")).to_contain_text("replayed by staff")
