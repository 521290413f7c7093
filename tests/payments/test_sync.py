"""Payments whose webhook never arrived: ``payment_sync`` (payments.services.sync) through each of
its callers, the expiry job, the reconciliation command and job, and the staff "Sync with
Stripe" action, against localstripe.

No webhook endpoint is registered with localstripe here, so the events it makes are delivered
nowhere: exactly the situation of a wrong signing secret or an endpoint turned away. The
buyer pays in localstripe as Stripe.js would (``intent_pay``); refunds made "in Stripe's
dashboard" are made in localstripe directly.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from core.audit import SYSTEM_SCHEDULER, audit_entries_of
from orders import jobs
from orders.models import Order, OrderStatus, order_status_shards
from payments import jobs as payment_jobs
from payments.services.sync import payment_sync
from tests.admin_forms import act, confirm
from tests.factories import (
    PAID_OR_LATER,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    seats_available,
    stripe_request,
    ticket_type_create,
)
from tests.vendor import vendor_requests

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def ticket_type(aws):
    return ticket_type_create(sku="ga", available=10)


def _actions(order_id: str) -> list[tuple[str, str]]:
    return [
        (e.actor, e.action)
        for e in audit_entries_of(object_type="orders.order", object_id=order_id)
    ]


def _reconcile(**options) -> str:
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out, **options)
    return out.getvalue()


# --- The expiry job --------------------------------------------------------------------------


def test_the_expiry_job_pays_an_order_paid_in_stripe_whose_webhook_never_came(aws):
    order = order_create(items=[("ga", 2)], age_minutes=60)
    intent_pay(aws, order.payment_intent_id)

    first = jobs.orders_expire({"source": "aws.events"}, None)
    paid = order_get(order.order_id)
    second = jobs.orders_expire({"source": "aws.events"}, None)

    assert first == {"expired": 0, "paid": 1, "left_for_payment": 0, "failed": 0}
    assert paid.status in PAID_OR_LATER and paid.seats_held is False
    assert seats_available("ga") == 8  # sold, not given back
    assert payment_get(order.payment_intent_id).status == "succeeded"
    assert [r["body"]["order_id"] for r in vendor_requests(aws)] == [order.order_id]
    assert (SYSTEM_SCHEDULER, "paid") in _actions(order.order_id)
    # Running it again changes nothing more.
    assert second == {"expired": 0, "paid": 0, "left_for_payment": 0, "failed": 0}
    assert order_get(order.order_id).version == paid.version
    assert len(vendor_requests(aws)) == 1


# --- The reconciliation command and job ------------------------------------------------------


def test_the_reconcile_command_pays_orders_paid_in_stripe_and_leaves_the_rest(aws):
    paid_in_stripe = order_create(items=[("ga", 2)], age_minutes=10)
    unpaid = order_create(items=[("ga", 1)], age_minutes=10)
    just_placed = order_create(items=[("ga", 3)], age_minutes=1)
    intent_pay(aws, paid_in_stripe.payment_intent_id)
    intent_pay(aws, just_placed.payment_intent_id)  # its webhook is likely on its way

    out = _reconcile()

    assert "[1] " in out and "[2] " in out and "[3] " not in out  # progress, one line each
    assert f"{paid_in_stripe.order_id}: Stripe says the payment succeeded" in out
    assert f"{unpaid.order_id}: Stripe says the payment is not made yet" in out
    assert "marked paid, its seats sold; fulfillment started" in out
    assert out.strip().splitlines()[-1] == (
        "checked 2 unpaid orders: 1 changed, 1 unchanged, 0 failed"
    )
    assert order_get(paid_in_stripe.order_id).status in PAID_OR_LATER
    assert order_get(unpaid.order_id).status == OrderStatus.PENDING_PAYMENT
    assert order_get(just_placed.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 4  # 2 sold, 1 + 3 still held
    assert (SYSTEM_SCHEDULER, "paid") in _actions(paid_in_stripe.order_id)


def test_reconciling_twice_changes_nothing_more(aws):
    order = order_create(age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    _reconcile()
    version = order_get(order.order_id).version

    out = _reconcile()

    assert out.strip().splitlines()[-1].startswith("checked 0 unpaid orders: 0 changed")
    assert order_get(order.order_id).version == version
    assert len(vendor_requests(aws)) == 1
    assert [a for a in _actions(order.order_id) if a[1] == "paid"] == [(SYSTEM_SCHEDULER, "paid")]


def test_the_scheduled_reconciliation_job_pays_the_order(aws):
    order = order_create(age_minutes=20)
    intent_pay(aws, order.payment_intent_id)

    summary = payment_jobs.payments_reconcile({"source": "aws.events"}, None)
    again = payment_jobs.payments_reconcile({"source": "aws.events"}, None)

    # (The orphan sweep's counts depend on what earlier tests left in localstripe.)
    assert {k: v for k, v in summary.items() if not k.startswith("orphans_")} == {
        "checked": 1,
        "changed": 1,
        "unchanged": 0,
        "failed": 0,
        "refunds_checked": 0,
        "refunds_changed": 0,
        "disputes_checked": 0,
        "disputes_changed": 0,
        "stopped_early": False,
    }
    assert again["checked"] == 0
    assert order_get(order.order_id).status in PAID_OR_LATER


def test_a_canceled_intent_cancels_the_order_and_releases_its_seats(aws):
    order = order_create(items=[("ga", 4)], age_minutes=10)
    canceled = stripe_request(aws, "POST", f"/v1/payment_intents/{order.payment_intent_id}/cancel")
    assert canceled["status"] == "canceled"

    out = _reconcile()
    again = payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)

    assert "canceled, its seats released" in out
    assert order_get(order.order_id).status == OrderStatus.CANCELED
    assert seats_available("ga") == 10
    assert payment_get(order.payment_intent_id).status == "canceled"
    assert not again.changed and again.outcome == "unchanged"
    assert seats_available("ga") == 10  # given back once


def test_an_intent_stripe_does_not_know_changes_nothing_and_does_not_stop_the_run(aws):
    unknown = order_create(age_minutes=10)
    # Like the demo data: our records name a PaymentIntent this Stripe account does not have.
    payment = payment_get(unknown.payment_intent_id)
    unknown.update(actions=[Order.payment_intent_id.set("pi_not_in_this_account")])
    payment.payment_id = "pi_not_in_this_account"
    payment.save(add_version_condition=False)
    paid = order_create(age_minutes=9)
    intent_pay(aws, paid.payment_intent_id)

    out = _reconcile()

    assert "checked 2 unpaid orders: 1 changed, 1 unchanged, 0 failed" in out
    assert f"{unknown.order_id}: Stripe does not know PaymentIntent pi_not_in_this_account" in out
    assert order_get(unknown.order_id).status == OrderStatus.PENDING_PAYMENT
    assert order_get(paid.order_id).status in PAID_OR_LATER


# --- Forward only ----------------------------------------------------------------------------


def test_a_late_sync_never_moves_an_order_backwards(aws):
    order = order_create(age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    fulfilled = order_get(order.order_id)
    assert fulfilled.status == OrderStatus.FULFILLED

    again = payment_sync(payment_intent_id=order.payment_intent_id, actor="grace")

    assert not again.changed
    assert order_get(order.order_id).version == fulfilled.version
    assert len(vendor_requests(aws)) == 1  # fulfillment not started twice

    # A refund of 30.00 made in Stripe; the order already holds a total read from a newer
    # version of the payment record (a concurrent sync, recorded first): this older reading
    # never overwrites it.
    stripe_request(
        aws, "POST", "/v1/refunds", {"payment_intent": order.payment_intent_id, "amount": "3000"}
    )
    order_get(order.order_id).update(
        actions=[
            Order.status.set(OrderStatus.PARTIALLY_REFUNDED.value),
            Order.refunded_amount.set(6000),
            Order.refunds_version.set(1000),
        ]
    )

    late = payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)

    assert "refunds recorded" not in late.describe()
    after = order_get(order.order_id)
    assert (after.status, after.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 6000)


def test_a_payment_on_an_order_canceled_meanwhile_never_revives_it(aws):
    order = order_create(age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    order_get(order.order_id).update(actions=[Order.status.set(OrderStatus.CANCELED.value)])

    result = payment_sync(payment_intent_id=order.payment_intent_id, actor="grace")

    assert order_get(order.order_id).status == OrderStatus.CANCELED
    assert payment_get(order.payment_intent_id).status == "succeeded"  # the money is on record
    assert "refund it" in result.describe()
    assert vendor_requests(aws) == []


def test_a_refund_made_in_stripes_dashboard_is_recorded_by_the_sync(aws):
    order = order_create(items=[("ga", 2)], age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    stripe_request(
        aws, "POST", "/v1/refunds", {"payment_intent": order.payment_intent_id, "amount": "4000"}
    )

    result = payment_sync(payment_intent_id=order.payment_intent_id, actor="grace")
    again = payment_sync(payment_intent_id=order.payment_intent_id, actor="grace")

    assert "refunds recorded (USD 40.00 refunded in all)" in result.describe()
    refunded = order_get(order.order_id)
    assert (refunded.status, refunded.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 4000)
    assert payment_get(order.payment_intent_id).amount_refunded == 4000
    assert ("grace", "refunded") in _actions(order.order_id)
    assert not again.changed


# --- The staff action ------------------------------------------------------------------------


def test_staff_sync_with_stripe_pays_the_order_and_says_what_changed(aws, staff_client):
    order = order_create(items=[("ga", 2)], age_minutes=2)
    intent_pay(aws, order.payment_intent_id)
    support = staff_client("support")
    url = f"/admin/orders/order/{order.order_id}/"

    page = support.get(f"{url}change/").content.decode()
    first = act(support, url, "sync_payment", follow=True).content.decode()
    synced = order_get(order.order_id)
    second = act(support, url, "sync_payment", follow=True).content.decode()  # a new page

    assert "Sync with Stripe" in page
    assert "Synced with Stripe. Stripe says the payment succeeded." in first
    assert "marked paid, its seats sold; fulfillment started" in first
    assert synced.status in PAID_OR_LATER
    assert seats_available("ga") == 8
    assert ("support-user", "paid") in _actions(order.order_id)
    assert "nothing to change" in second
    assert order_get(order.order_id).version == synced.version


def test_a_viewer_may_not_sync_with_stripe(aws, staff_client):
    order = order_create(age_minutes=2)
    intent_pay(aws, order.payment_intent_id)
    viewer = staff_client("viewer")

    page = viewer.post(
        f"/admin/orders/order/{order.order_id}/action/sync_payment/",
        {"_version": order.version},
        follow=True,
    ).content.decode()

    assert "You are not allowed to sync with stripe" in page
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_cancel_on_an_order_paid_in_stripe_says_so_and_points_to_the_sync(aws, staff_client):
    order = order_create(age_minutes=2)
    intent_pay(aws, order.payment_intent_id)

    page = confirm(
        staff_client("support"),
        f"/admin/orders/order/{order.order_id}/",
        "cancel",
        answers={"reason": "abandoned", "note": "-"},
        follow=True,
    ).content.decode()

    assert "changed by someone else" not in page
    assert "payment went through" in page and "Sync with Stripe" in page
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_reconciling_costs_a_bounded_number_of_requests_per_order_and_never_scans(aws, stripe_wire):
    from core.dynamodb_requests import dynamodb_requests

    for _ in range(4):
        order_create(age_minutes=10)  # unpaid: checked, nothing to change

    with dynamodb_requests() as calls:
        out = _reconcile()

    assert "checked 4 unpaid orders: 0 changed, 4 unchanged" in out
    assert calls["Scan"] == 0
    # One Query per shard of order-status-index's pending_payment, then per order: its payment
    # (a Query) and the order.
    # Then the refund sweep: one payment Query per PaymentIntent Stripe's refund list names
    # (localstripe's list holds the refunds of earlier tests too: none of them ours now).
    from integrations.stripe_client import refunds_list

    named = {r.payment_intent_id or r.charge_id for r in refunds_list(created_after=None)}
    budget_writes = calls.pop("UpdateItem", 0)
    pending = order_status_shards(OrderStatus.PENDING_PAYMENT.value)
    assert sum(calls.values()) <= pending + 4 * 2 + len(named), dict(calls)
    # And Stripe's request budget: per request Stripe was sent, a slot of its endpoint and
    # one of the account, each one conditional write, two when the bucket was idle
    # (integrations.stripe_budget).
    stripe_requests = sum(stripe_wire.stats()["forwarded"].values())
    assert budget_writes <= 4 * stripe_requests
