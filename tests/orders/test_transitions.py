"""Order transitions outside webhooks: expiry (and its race with a late payment) and staff
cancellation. Webhook-driven transitions are covered through HTTP in test_webhooks.py."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command

from core.audit import audit_entries_of
from orders import jobs
from orders.actions import (
    OrderBeingPaid,
    OrderNotCancelable,
    order_cancel,
    orders_expire,
)
from orders.models import Order, OrderStatus
from tests.factories import (
    PAID_OR_LATER,
    event_build,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    seats_available,
    stripe_object,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True, params=[1, 4], ids=["one-item", "4-shards"])
def ticket_type(aws, request):
    """Every transition runs against both seat layouts (``orders.services.seats``)."""
    return ticket_type_create(sku="ga", available=10, seat_shards=request.param)


def test_the_scheduled_job_expires_old_unpaid_orders_and_releases_their_seats(aws):
    old = order_create(items=[("ga", 2)], age_minutes=31)
    fresh = order_create(items=[("ga", 3)], age_minutes=5)

    summary = jobs.orders_expire({"source": "aws.events"}, None)

    assert summary == {"expired": 1, "paid": 0, "left_for_payment": 0, "failed": 0}
    assert order_get(old.order_id).status == OrderStatus.CANCELED
    assert order_get(fresh.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 7  # 10 - 3 still held by the fresh order
    intent = stripe_object(aws, f"/v1/payment_intents/{old.payment_intent_id}")
    assert intent["status"] == "canceled"
    assert payment_get(old.payment_intent_id).status == "canceled"


def test_the_scheduled_job_gives_seats_back_within_the_hold(aws):
    # Hold 30 minutes, a run every minute: a cart whose hold ends before the next run is
    # expired now (its seats are back within the hold); one with more left is not.
    ends_before_next_run = order_create(items=[("ga", 2)], age_minutes=29.5)
    ends_after_it = order_create(items=[("ga", 3)], age_minutes=28.5)

    jobs.orders_expire({"source": "aws.events"}, None)

    assert order_get(ends_before_next_run.order_id).status == OrderStatus.CANCELED
    assert order_get(ends_after_it.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 7


def test_the_expiry_time_comes_from_ssm(aws):
    aws.provision_config({"order_expiry_minutes": "10"})
    order = order_create(age_minutes=15)

    jobs.orders_expire()

    assert order_get(order.order_id).status == OrderStatus.CANCELED


def test_expiring_twice_changes_nothing_more(aws):
    order = order_create(age_minutes=60)
    orders_expire()

    report = orders_expire()

    assert report.expired == []
    assert order_get(order.order_id).status == OrderStatus.CANCELED
    assert seats_available("ga") == 10


def test_the_management_command_expires_orders(aws):
    order = order_create(age_minutes=45)
    out = io.StringIO()

    call_command("expire_orders", stdout=out)

    assert "expired 1" in out.getvalue()
    assert order_get(order.order_id).status == OrderStatus.CANCELED


def test_a_payment_that_lands_before_the_expiry_wins_and_the_expiry_applies_it(aws, client):
    order = order_create(age_minutes=60)
    intent = intent_pay(aws, order.payment_intent_id)  # paid; its webhook not yet delivered

    report = orders_expire()
    response = webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    assert report.paid == [order.order_id] and report.expired == []
    assert response.json()["outcome"] == "unchanged"  # the late webhook finds it done
    assert order_get(order.order_id).status in PAID_OR_LATER
    assert seats_available("ga") == 8


def test_expiry_and_a_late_payment_racing_end_with_the_order_paid(aws, client):
    orders = [order_create(age_minutes=60) for _ in range(3)]
    intents = [intent_pay(aws, o.payment_intent_id) for o in orders]
    barrier = threading.Barrier(2)

    def expire():
        barrier.wait()
        orders_expire()

    def deliver():
        barrier.wait()
        for intent in intents:
            webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    threads = [threading.Thread(target=expire), threading.Thread(target=deliver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(order_get(o.order_id).status in PAID_OR_LATER for o in orders)
    assert seats_available("ga") == 10 - 6


def test_staff_cancel_an_unpaid_order_and_it_is_audited(aws):
    order = order_create(items=[("ga", 4)])

    outcome = order_cancel(order_id=order.order_id, staff="grace", reason="customer asked")

    assert outcome.changed and outcome.order.status == OrderStatus.CANCELED
    assert seats_available("ga") == 10
    (entry,) = audit_entries_of(object_type="orders.order", object_id=order.order_id)
    assert (entry.staff, entry.action, entry.reason) == ("grace", "cancel", "customer asked")
    assert (entry.before["status"], entry.after["status"]) == ("pending_payment", "canceled")
    again = order_cancel(order_id=order.order_id, staff="grace", reason="again")
    assert not again.changed and seats_available("ga") == 10


def test_staff_cannot_cancel_an_order_whose_payment_went_through(aws):
    order = order_create()
    intent_pay(aws, order.payment_intent_id)  # paid in Stripe, webhook still on its way

    with pytest.raises(OrderBeingPaid):
        order_cancel(order_id=order.order_id, staff="grace", reason="too late")

    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 8


def test_a_paid_order_cannot_be_canceled(aws, client):
    order = order_create()
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    with pytest.raises(OrderNotCancelable):
        order_cancel(order_id=order.order_id, staff="grace", reason="no")

    assert order_get(order.order_id).status in PAID_OR_LATER


def test_an_order_whose_payment_intent_stripe_does_not_know_expires(aws):
    # Like the demo data: nothing can ever be paid on an intent that is not in the account.
    order = order_create(age_minutes=60)
    order.update(actions=[Order.payment_intent_id.set("pi_not_in_this_account")])

    report = orders_expire()

    assert report.expired == [order.order_id]
    assert seats_available("ga") == 10


def test_an_on_sales_own_hold_applies_to_the_carts_holding_its_ticket_type(aws):
    from datetime import UTC, datetime

    from orders.services.line import onsale_open

    ticket_type_create(sku="other", available=10)
    onsale_open(sku="ga", start=datetime.now(UTC), hold_minutes=5, admit_per_second=10)
    on_sale_cart = order_create(items=[("ga", 2)], age_minutes=5.5)
    both_types = order_create(items=[("ga", 1), ("other", 1)], age_minutes=5.5)
    fresh_on_sale_cart = order_create(items=[("ga", 3)], age_minutes=3)
    other_cart = order_create(items=[("other", 2)], age_minutes=5.5)  # 30 minutes' hold
    other_old_cart = order_create(items=[("other", 3)], age_minutes=31)

    report = jobs.orders_expire({"source": "aws.events"}, None)

    assert report["expired"] == 3
    assert order_get(on_sale_cart.order_id).status == OrderStatus.CANCELED
    assert order_get(both_types.order_id).status == OrderStatus.CANCELED  # the shorter hold
    assert order_get(other_old_cart.order_id).status == OrderStatus.CANCELED
    assert order_get(fresh_on_sale_cart.order_id).status == OrderStatus.PENDING_PAYMENT
    assert order_get(other_cart.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 7 and seats_available("other") == 8
