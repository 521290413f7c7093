"""Issue 13, part 4: the webhook takes any event Stripe can send. A large signed event is
applied (the limit is 1 MiB, not the storefront's 64 KB), and an event about an object Stripe
does not know, or that is not ours, is answered 2xx ``not_ours`` instead of a 503 Stripe would
retry for three days. Events are signed exactly as Stripe signs them; objects live in
localstripe."""

from __future__ import annotations

import copy

import pytest

from orders.models import OrderStatus
from payments.models import EventOutcome
from payments.selectors import webhook_event_get
from payments.webhooks import WEBHOOK_MAX_BODY_BYTES
from tests.factories import (
    PAID_OR_LATER,
    event_body,
    event_build,
    intent_pay,
    order_create,
    order_get,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def order(aws):
    ticket_type_create(sku="ga", available=10)
    return order_create(items=[("ga", 2)])


def _large(event: dict, size: int) -> dict:
    """Stripe's biggest events carry a full object and its ``previous_attributes``, each with
    up to 50 metadata values of 500 characters; pad with those, then with a long description."""
    metadata = {f"key_{n:02d}": "v" * 500 for n in range(50)}
    event["data"]["object"]["metadata"] = {**event["data"]["object"]["metadata"], **metadata}
    event["data"]["previous_attributes"] = {"metadata": metadata}
    missing = size - len(event_body(event))
    if missing > 0:
        event["data"]["object"]["description"] = "d" * missing
    return event


def test_a_signed_100_kb_event_is_applied(aws, client, order):
    intent = intent_pay(aws, order.payment_intent_id)
    event = _large(event_build("payment_intent.succeeded", intent), 100 * 1024)
    assert len(event_body(event)) >= 100 * 1024

    response = webhook_post(client, aws, event)

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    assert order_get(order.order_id).status in PAID_OR_LATER
    assert webhook_event_get(event_id=event["id"]).outcome == EventOutcome.APPLIED


def test_an_event_just_under_the_limit_is_accepted_and_one_over_is_refused(aws, client):
    under = _large(event_build("customer.updated", {"id": "cus_1", "metadata": {}}), 0)
    under["data"]["object"]["description"] = ""
    room = WEBHOOK_MAX_BODY_BYTES - len(event_body(under))
    under["data"]["object"]["description"] = "d" * room
    assert len(event_body(under)) == WEBHOOK_MAX_BODY_BYTES
    over = copy.deepcopy(under)
    over["id"] += "x"  # one byte more
    assert len(event_body(over)) == WEBHOOK_MAX_BODY_BYTES + 1

    accepted = webhook_post(client, aws, under)
    refused = webhook_post(client, aws, over)

    assert (accepted.status_code, accepted.json()["outcome"]) == (200, "ignored")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "body_too_large"
    assert webhook_event_get(event_id=over["id"]) is None


def test_a_refund_event_for_a_charge_stripe_does_not_know_is_answered_2xx_not_ours(aws, client):
    event = event_build(
        "charge.refunded", {"id": "ch_unknown_to_stripe", "object": "charge", "amount": 100}
    )

    first = webhook_post(client, aws, event)
    again = webhook_post(client, aws, event)

    assert (first.status_code, first.json()["outcome"]) == (200, "not_ours")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    record = webhook_event_get(event_id=event["id"])
    assert (record.outcome, record.order_id, record.error) == (EventOutcome.NOT_OURS, None, None)


def test_a_dispute_on_a_charge_stripe_does_not_know_is_not_ours(aws, client):
    event = event_build(
        "charge.dispute.created", {"id": "dp_unknown", "object": "dispute", "charge": "ch_nope"}
    )

    response = webhook_post(client, aws, event)

    assert (response.status_code, response.json()["outcome"]) == (200, "not_ours")


def test_a_payment_intent_that_is_not_one_of_ours_is_not_ours(aws, client, order):
    # A real PaymentIntent in the same Stripe account, made by another integration.
    other = order_create(items=[("ga", 1)])
    intent = intent_pay(aws, other.payment_intent_id)
    intent["id"] = "pi_of_another_integration"

    response = webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    assert (response.status_code, response.json()["outcome"]) == (200, "not_ours")
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
