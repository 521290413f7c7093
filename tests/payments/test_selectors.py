"""Payment records are found by PaymentIntent, by order and by status (the seed's indexes)."""

from __future__ import annotations

import pytest

from payments import selectors
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


def test_payments_are_found_by_intent_by_order_and_by_status(aws, client):
    ticket_type_create(sku="ga", available=None)
    paid, pending = order_create(), order_create()
    intent = intent_pay(aws, paid.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    payment = selectors.payment_get(payment_intent_id=paid.payment_intent_id)

    assert (payment.order_id, payment.status, payment.amount) == (paid.order_id, "succeeded", 10000)
    assert selectors.payment_get(payment_intent_id="pi_unknown") is None
    assert selectors.payment_get(payment_intent_id="not-an-intent") is None
    assert [p.payment_id for p in selectors.payments_for_order(order_id=pending.order_id)] == [
        pending.payment_intent_id
    ]
    assert [p.payment_id for p in selectors.payments_with_status(status="succeeded")] == [
        paid.payment_intent_id
    ]
    assert [
        p.payment_id for p in selectors.payments_with_status(status="requires_payment_method")
    ] == [pending.payment_intent_id]
