"""The harness itself: a fault at request N is what the client sees at request N, the app's
own retries show as the requests after it, and the stand-ins keep the idempotency the real
services promise (DynamoDB's ``ClientRequestToken``, Stripe's ``Idempotency-Key``)."""

from __future__ import annotations

import dataclasses

import pytest

from bench.faults import FLOWS, flow_count, goal_missed
from bench.faults_proxy import SimulatedCrash
from core.dynamodb import transaction
from integrations import stripe_client
from orders.models import TicketType
from tests.factories import ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def test_a_throttle_at_request_1_is_retried_by_botocore_as_request_2(harness):
    ticket_type_create("ga", available=5)

    harness.plan.arm("throttle", 1)
    ticket_type = TicketType.get("ga", consistent_read=True)
    sent = harness.plan.disarm()

    assert ticket_type.sku == "ga"
    assert [(r.n, r.operation, r.fault) for r in sent] == [
        (1, "GetItem", "throttle"),
        (2, "GetItem", None),
    ]


def test_a_transaction_applied_whose_answer_is_lost_is_retried_without_failing_its_conditions(
    harness,
):
    ticket_type_create("ga", available=5)

    harness.plan.arm("lose", 1)
    with transaction() as writes:  # the retry carries the same ClientRequestToken
        writes.update(
            TicketType(sku="ga"),
            actions=[TicketType.available.add(-1)],
            condition=TicketType.available >= 1,
            add_version_condition=False,
        )
    sent = harness.plan.disarm()

    assert [r.fault for r in sent] == ["lose", None]
    assert TicketType.get("ga", consistent_read=True).available == 4  # once, not twice


def test_a_crash_unwinds_the_caller_and_nothing_after_it_arrives(harness):
    ticket_type_create("ga", available=5)

    harness.plan.arm("crash", 1)
    with pytest.raises(SimulatedCrash):
        for _ in range(2):  # the second never runs
            TicketType(sku="ga").update(
                actions=[TicketType.available.add(-1)], add_version_condition=False
            )
    harness.plan.disarm()

    assert TicketType.get("ga", consistent_read=True).available == 4  # request 1 was applied


def test_stripe_answers_a_repeated_idempotency_key_with_the_first_object(harness):
    # The first request to Stripe loses its answer (the budget's DynamoDB writes come first):
    # the client retries it with the same key.
    harness.plan.arm("lose", 1, service="stripe")
    intent = stripe_client.payment_intent_create(
        order_id="ord_1", amount=500, currency="usd", idempotency_key="order:ord_1"
    )
    again = stripe_client.payment_intent_create(
        order_id="ord_1", amount=500, currency="usd", idempotency_key="order:ord_1"
    )
    sent = harness.plan.disarm()

    assert again.id == intent.id
    assert harness.plan.intents == [intent.id]  # Stripe made one
    # (between them, the budget's writes in DynamoDB: integrations.stripe_budget)
    assert [r.fault for r in sent if r.service == "stripe"] == ["lose", None, None]


def test_a_flow_that_stops_at_the_confirmation_page_fails_its_clean_run(harness):
    """Staff cancel without the reason the confirmation page asks for: the page comes back,
    nothing is canceled, and no invariant is broken by nothing happening. The clean run's
    goal check says so (the refund and cancel flows once passed every point this way)."""
    from orders.selectors import order_get

    def cancel_unconfirmed(run):
        order = order_get(order_id=run.order_id)
        return run.harness.staff_client("support").post(
            f"/admin/orders/order/{run.order_id}/action/cancel/", {"_version": order.version}
        )

    flow = dataclasses.replace(FLOWS["staff_cancel"], action=cancel_unconfirmed)

    clean = flow_count(harness, flow)

    assert "HARNESS: staff_cancel's clean run: the canceled order ends pending_payment" in (
        goal_missed(clean)
    )
