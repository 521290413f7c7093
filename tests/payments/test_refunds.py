"""Staff refunds: full, partial, over the limit, concurrent, interrupted, and confirmed by the
charge.refunded webhook without counting twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core.audit import audit_entries_of
from core.dynamodb import iso_utc, utc_now
from orders.models import OrderStatus
from payments.models import Refund
from payments.services.refunds import (
    RefundAmountInvalid,
    RefundNotAllowed,
    refund_create,
)
from tests.factories import (
    PAID_OR_LATER,
    event_build,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    stripe_object,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def paid_order(aws, client):
    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    order = order_create(items=[("ga", 2)])  # 10000
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    return order_get(order.order_id)


def _stripe_refunds(aws, order):
    listed = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    return sorted(r["amount"] for r in listed["data"])


def test_a_full_refund_refunds_everything_once(aws, paid_order):
    outcome = refund_create(order_id=paid_order.order_id, amount=None, staff="fin")

    assert (outcome.amount, outcome.status) == (10000, "succeeded")
    assert outcome.idempotency_key == f"refund:{paid_order.order_id}:1"
    order = order_get(paid_order.order_id)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    assert _stripe_refunds(aws, paid_order) == [10000]
    (refund,) = payment_get(paid_order.payment_intent_id).refunds
    assert (refund.refund_id, refund.requested_by) == (outcome.refund_id, "fin")


def test_partial_refunds_then_the_rest(aws, paid_order):
    first = refund_create(order_id=paid_order.order_id, amount=2500, staff="fin")
    partial = order_get(paid_order.order_id)
    rest = refund_create(order_id=paid_order.order_id, amount=None, staff="fin")

    assert (partial.status, partial.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert (first.amount, rest.amount) == (2500, 7500)
    assert rest.idempotency_key.endswith(":2")
    assert order_get(paid_order.order_id).status == OrderStatus.REFUNDED
    assert _stripe_refunds(aws, paid_order) == [2500, 7500]


@pytest.mark.parametrize("amount", [10001, 0, -5])
def test_an_amount_outside_what_is_left_is_refused_before_stripe(aws, paid_order, amount):
    with pytest.raises(RefundAmountInvalid) as refused:
        refund_create(order_id=paid_order.order_id, amount=amount, staff="fin")

    assert refused.value.fields == {"amount": ["At most USD 100.00."]}  # major units, as typed
    assert _stripe_refunds(aws, paid_order) == []
    assert order_get(paid_order.order_id).status in PAID_OR_LATER


def test_a_fully_refunded_order_cannot_be_refunded_again(aws, paid_order):
    refund_create(order_id=paid_order.order_id, amount=None, staff="fin")

    with pytest.raises(RefundNotAllowed):
        refund_create(order_id=paid_order.order_id, amount=1, staff="fin")

    assert _stripe_refunds(aws, paid_order) == [10000]


def test_an_unpaid_order_cannot_be_refunded(aws):
    ticket_type_create(sku="ga")
    order = order_create()

    with pytest.raises(RefundNotAllowed):
        refund_create(order_id=order.order_id, amount=None, staff="fin")


def test_two_staff_refunding_at_once_never_refund_more_than_was_paid(aws, paid_order):
    barrier = threading.Barrier(4)
    results, errors = [], []

    def refund():
        barrier.wait()
        try:
            results.append(refund_create(order_id=paid_order.order_id, amount=4000, staff="fin"))
        except RefundAmountInvalid as error:
            errors.append(error)

    threads = [threading.Thread(target=refund) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(results), len(errors)) == (2, 2)
    assert _stripe_refunds(aws, paid_order) == [4000, 4000]
    assert order_get(paid_order.order_id).refunded_amount == 8000


def test_a_refund_interrupted_before_stripe_answered_is_completed_by_the_retry(aws, paid_order):
    # What a request that died after reserving leaves behind.
    payment = payment_get(paid_order.payment_intent_id)
    key = f"refund:{paid_order.order_id}:1"
    payment.refunds = [
        Refund(
            refund_id=key,
            amount=3000,
            status="reserved",
            created_at=iso_utc(utc_now() - timedelta(minutes=5)),
            idempotency_key=key,
            requested_by="fin",
        )
    ]
    payment.save()

    outcome = refund_create(order_id=paid_order.order_id, amount=3000, staff="fin")

    assert (outcome.idempotency_key, outcome.amount) == (key, 3000)
    assert _stripe_refunds(aws, paid_order) == [3000]
    (refund,) = payment_get(paid_order.payment_intent_id).refunds
    assert refund.refund_id.startswith("re_") and refund.status == "succeeded"
    assert order_get(paid_order.order_id).refunded_amount == 3000


def test_the_webhook_confirms_a_staff_refund_without_counting_it_twice(aws, client, paid_order):
    outcome = refund_create(order_id=paid_order.order_id, amount=4000, staff="fin")
    charge_id = payment_get(paid_order.payment_intent_id).charge_id
    charge = stripe_object(aws, f"/v1/charges/{charge_id}")

    response = webhook_post(client, aws, event_build("charge.refunded", charge))

    assert response.json()["outcome"] == "unchanged"
    order = order_get(paid_order.order_id)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 4000)
    refunds = payment_get(paid_order.payment_intent_id).refunds
    assert [r.refund_id for r in refunds] == [outcome.refund_id]


def test_after_a_partial_refund_only_the_rest_can_be_refunded(aws, paid_order):
    refund_create(order_id=paid_order.order_id, amount=6000, staff="fin")

    with pytest.raises(RefundAmountInvalid) as refused:
        refund_create(order_id=paid_order.order_id, amount=5000, staff="fin")

    assert refused.value.fields == {"amount": ["At most USD 40.00."]}
    assert _stripe_refunds(aws, paid_order) == [6000]


def test_each_staff_refund_leaves_an_audit_entry(aws, paid_order):
    refund_create(order_id=paid_order.order_id, amount=1000, staff="fin")

    entries = audit_entries_of(object_type="orders.order", object_id=paid_order.order_id)
    (entry,) = [e for e in entries if e.action == "refund"]

    assert entry.staff == "fin"
    assert entry.before["refunded_amount"] == 0 and entry.after["amount"] == 1000
