"""A refund's reason: Stripe's (sent to Stripe) and staff's words, kept on the refund record
and in the audit entry."""

from __future__ import annotations

import pytest

from core.audit import audit_history
from payments.services.refunds import RefundReasonInvalid, refund_create
from tests.admin_forms import action_form, page_form
from tests.factories import (
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
    order = order_create(items=[("ga", 2)])  # USD 100.00
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    return order_get(order.order_id)


def test_the_reason_goes_to_stripe_the_refund_record_and_the_audit_entry(aws, paid_order):
    outcome = refund_create(
        order_id=paid_order.order_id,
        amount=2500,
        staff="fin",
        reason="fraudulent",
        note="card reported stolen",
    )

    in_stripe = stripe_object(aws, f"/v1/refunds/{outcome.refund_id}")
    assert in_stripe["reason"] == "fraudulent"
    assert in_stripe["metadata"]["requested_by"] == "fin"
    (refund,) = payment_get(paid_order.payment_intent_id).refunds
    assert (refund.reason, refund.note) == ("fraudulent", "card reported stolen")
    (entry,) = [
        e
        for e in audit_history(object_type="orders.order", object_id=paid_order.order_id)
        if e.action == "refund"
    ]
    assert entry.reason == "Fraudulent: card reported stolen"
    assert "USD 25.00" in entry.summary


def test_a_reason_stripe_does_not_know_is_refused_before_stripe(aws, paid_order):
    with pytest.raises(RefundReasonInvalid):
        refund_create(order_id=paid_order.order_id, amount=100, staff="fin", reason="bored")

    assert payment_get(paid_order.payment_intent_id).refunds == []
    listed = stripe_object(aws, f"/v1/refunds?payment_intent={paid_order.payment_intent_id}")
    assert listed["data"] == []


def test_the_admin_refunds_only_after_the_confirmation_with_a_reason(paid_order, staff_client):
    """Without a browser's checks: a POST of the refund form alone, or a "Yes" without a
    reason, shows the confirmation page and refunds nothing."""
    finance = staff_client("finance", "fin")
    url = f"/admin/orders/order/{paid_order.order_id}/action/refund/"

    button = action_form(finance, f"/admin/orders/order/{paid_order.order_id}/", "refund")
    first = finance.post(url, {**button, "amount": ""})
    assert first.status_code == 200 and "Full refund of USD 100.00" in first.content.decode()
    yes = page_form(first.content.decode(), "action-confirm")
    no_reason = finance.post(url, yes)
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    assert payment_get(paid_order.payment_intent_id).refunds == []

    finance.post(url, {**yes, "reason": "requested_by_customer", "note": "asked"})
    assert [r.amount for r in payment_get(paid_order.payment_intent_id).refunds] == [10000]
