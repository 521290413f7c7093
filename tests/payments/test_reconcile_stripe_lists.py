"""The reconciliation job's sweeps over Stripe's lists: refunds made in Stripe that no event
announced, refunds that failed since, and disputes, read page by page as Stripe's lists are
meant to be read (``auto_paging_iter``: ``starting_after`` the last id while ``has_more``).

Against localstripe, with no webhook endpoint registered: its events go nowhere, exactly a
webhook lost for good. What localstripe lacks, and how the tests get around it, is said where
it matters: its refund list knows no ``created`` filter (the client cuts the list by
``created`` itself when pointed at a stand-in, the same pages and the same code otherwise), and
it has no disputes at all (the dispute sweep reports the list unavailable and goes on; the code
each listed dispute goes through, ``dispute_apply``, is driven by signed ``charge.dispute.*``
events in tests/orders/test_attention_queue.py).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from core.audit import SYSTEM_SCHEDULER, audit_entries_of
from integrations.stripe_client import refunds_list
from orders.models import OrderStatus
from payments import jobs
from payments.services.reconcile import payments_reconcile
from payments.services.sync import payment_sync
from tests.factories import (
    intent_pay,
    order_create,
    order_get,
    payment_get,
    stripe_request,
    ticket_type_create,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def ticket_type(aws):
    return ticket_type_create(sku="ga", unit_amount=5000, available=20)


def _paid_order(aws):
    order = order_create(items=[("ga", 2)], age_minutes=30)  # USD 100.00
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    return order_get(order.order_id)


def _refund_in_stripe(aws, order, amount: int) -> dict:
    """A refund made in Stripe's dashboard: nothing here hears of it."""
    return stripe_request(
        aws,
        "POST",
        "/v1/refunds",
        {"payment_intent": order.payment_intent_id, "amount": str(amount)},
    )


def test_the_job_records_refunds_made_in_stripe_that_no_event_announced(aws):
    first, second, untouched = _paid_order(aws), _paid_order(aws), _paid_order(aws)
    _refund_in_stripe(aws, first, 2500)
    _refund_in_stripe(aws, second, 10000)

    summary = jobs.payments_reconcile({"source": "aws.events"}, None)
    again = jobs.payments_reconcile({"source": "aws.events"}, None)

    assert (summary["refunds_checked"], summary["refunds_changed"]) == (2, 2)
    assert again["refunds_changed"] == 0  # exactly once
    one, two = order_get(first.order_id), order_get(second.order_id)
    assert (one.status, one.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert (two.status, two.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    assert payment_get(first.payment_intent_id).amount_refunded == 2500
    assert order_get(untouched.order_id).refunded_amount == 0
    entries = audit_entries_of(object_type="orders.order", object_id=first.order_id)
    assert [(e.actor, e.action) for e in entries].count((SYSTEM_SCHEDULER, "refunded")) == 1


def test_a_refund_that_failed_in_stripe_is_taken_off_by_the_next_run(aws):
    order = _paid_order(aws)
    refund = _refund_in_stripe(aws, order, 4000)
    payments_reconcile()
    assert order_get(order.order_id).refunded_amount == 4000
    # localstripe cannot fail a refund by itself: its status is set there, as Stripe would.
    stripe_request(aws, "POST", f"/v1/refunds/{refund['id']}", {"status": "failed"})

    report = payments_reconcile()

    assert report.refunds.changed == [order.order_id]
    after = order_get(order.order_id)
    assert (after.status, after.refunded_amount) == (OrderStatus.FULFILLED, 0)
    (recorded,) = payment_get(order.payment_intent_id).refunds
    assert (recorded.refund_id, recorded.status) == (refund["id"], "failed")


def test_stripes_refund_list_is_read_page_by_page(aws):
    orders = [_paid_order(aws) for _ in range(3)]
    made = {_refund_in_stripe(aws, o, 1000 + n)["id"] for n, o in enumerate(orders)}
    made |= {_refund_in_stripe(aws, orders[0], 500)["id"]}

    listed = [r.id for r in refunds_list(created_after=None, page_size=2)]

    # Two to a page: all four (and any earlier test's) come back, each once, only if the
    # pages follow one another.
    assert made <= set(listed)
    assert len(listed) == len(set(listed))
    assert len(listed) > 2


def test_the_command_says_what_each_sweep_found(aws):
    order = _paid_order(aws)
    _refund_in_stripe(aws, order, 1500)
    out = io.StringIO()

    call_command("reconcile_payments", stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert "refunds in Stripe: 1 payment of ours checked, 1 changed, 0 failed" in lines
    assert "disputes in Stripe: not available from this Stripe (localstripe)" in lines
    assert lines[-1].startswith("checked 0 unpaid orders")
    assert order_get(order.order_id).refunded_amount == 1500


def test_the_dispute_sweep_without_a_dispute_list_changes_nothing_and_does_not_fail(aws):
    order = _paid_order(aws)

    report = payments_reconcile()

    assert report.disputes.unavailable is True
    assert report.disputes.failed == [] and report.failed == []
    assert order_get(order.order_id).dispute_flag is None
