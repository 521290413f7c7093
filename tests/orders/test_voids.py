"""Tickets follow the money: voided at the stand-in vendor on a full refund, on the tickets staff
pick on a partial one, on a lost dispute; exactly once, retried when the vendor is slow or
failing, and in the needs-attention queue when it refuses (a ticket already scanned)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from core.config import config_cache_clear
from core.exceptions import Conflict
from orders import actions
from orders.models import VOID_FAILED, AttentionReason, OrderStatus, TicketState
from orders.selectors import order_get, orders_needing_attention
from orders.services.voids import void_accept, void_retry, voids_sweep
from payments.services.refunds import refund_create
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)
from tests.vendor import vendor_behave, vendor_requests

pytestmark = pytest.mark.usefixtures("aws")

LATER = timedelta(hours=2)  # past any backoff


def _set_parameter(stack, name: str, value: str) -> None:
    boto3.client("ssm", endpoint_url=stack.aws_url).put_parameter(
        Name=f"/ticketstoheaven/local/{name}", Value=value, Type="String", Overwrite=True
    )
    config_cache_clear()  # the order's payment read them already


def _vendor_tickets(stack) -> dict[str, str]:
    with urllib.request.urlopen(f"{stack.vendor_url}/_tickets", timeout=5) as response:
        return json.load(response)


def _scan(stack, ticket_id: str) -> None:
    request = urllib.request.Request(
        f"{stack.vendor_url}/_scan",
        data=json.dumps({"ticket_id": ticket_id}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def _voids(stack) -> list[dict]:
    return [r for r in vendor_requests(stack) if r.get("verb") == "void"]


@pytest.fixture
def fulfilled(aws, client):
    """A paid order of three tickets (USD 150.00), its tickets issued by the vendor."""
    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    order = order_create(items=[("ga", 3)])
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    issued = order_get(order_id=order.order_id)
    assert issued.status == OrderStatus.FULFILLED and len(issued.tickets) == 3
    return issued


def test_a_full_refund_voids_every_ticket_once_and_the_buyer_sees_it(aws, client, fulfilled):
    refund_create(order_id=fulfilled.order_id, amount=None, staff="fin")
    # A repeat of the fact (the webhook, a sync) asks for nothing more.
    actions.refunds_changed(
        order_id=fulfilled.order_id,
        refunded_total=15000,
        refunds_version=10**6,
        actor="stripe",
        awaiting_answer=False,
    )

    order = order_get(order_id=fulfilled.order_id)
    assert order.status == OrderStatus.REFUNDED
    assert {t.current_state for t in order.tickets} == {TicketState.VOID}
    assert order.void_queue is None
    (void,) = _voids(aws)
    assert void["idempotency_key"] == f"void:{order.order_id}:1" and void["answer"] == 200
    assert sorted(void["body"]["ticket_ids"]) == sorted(t.ticket_id for t in order.tickets)
    assert set(_vendor_tickets(aws).values()) == {"void"}
    page = client.get(f"/orders/{order.order_id}").json()
    assert [t["state"] for t in page["fulfillment"]["tickets"]] == ["void"] * 3


def test_a_partial_refund_voids_only_the_tickets_staff_picked(aws, client, fulfilled):
    picked = fulfilled.tickets[0].ticket_id

    refund_create(order_id=fulfilled.order_id, amount=5000, staff="fin", void_ticket_ids=[picked])

    order = order_get(order_id=fulfilled.order_id)
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    states = {t.ticket_id: t.buyer_state for t in order.tickets}
    assert states[picked] == "void" and sorted(states.values()) == ["valid", "valid", "void"]
    assert _vendor_tickets(aws)[picked] == "void"
    page = client.get(f"/orders/{order.order_id}").json()
    assert sorted(t["state"] for t in page["fulfillment"]["tickets"]) == ["valid", "valid", "void"]


def test_a_partial_refund_with_no_ticket_picked_voids_none(aws, fulfilled):
    refund_create(order_id=fulfilled.order_id, amount=5000, staff="fin")

    order = order_get(order_id=fulfilled.order_id)
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert {t.buyer_state for t in order.tickets} == {"valid"}
    assert _voids(aws) == []


def test_a_failing_vendor_is_retried_by_the_sweeper_and_voids_once(aws, fulfilled):
    vendor_behave(aws, "unavailable", times=1)

    refund_create(order_id=fulfilled.order_id, amount=None, staff="fin")

    waiting = order_get(order_id=fulfilled.order_id)
    assert waiting.status == OrderStatus.REFUNDED  # the refund stands meanwhile
    assert {t.buyer_state for t in waiting.tickets} == {"valid"}  # not void until confirmed
    assert waiting.void_queue == "due" and int(waiting.void_attempt_count) == 1
    assert voids_sweep().voided == 0  # not due yet: backoff
    report = voids_sweep(now=datetime.now(UTC) + LATER)

    assert report.voided == 1
    assert {t.current_state for t in order_get(order_id=fulfilled.order_id).tickets} == {
        TicketState.VOID
    }
    keys = [v["idempotency_key"] for v in _voids(aws)]
    assert keys == [f"void:{fulfilled.order_id}:1"] * 2  # the retry repeats the key


def test_a_slow_vendor_past_the_timeout_is_retried(aws, fulfilled):
    _set_parameter(aws, "vendor_read_timeout", "0.3")
    vendor_behave(aws, "slow", delay=1.0, times=1)

    refund_create(order_id=fulfilled.order_id, amount=None, staff="fin")
    assert order_get(order_id=fulfilled.order_id).void_queue == "due"
    voids_sweep(now=datetime.now(UTC) + LATER)

    assert set(_vendor_tickets(aws).values()) == {"void"}
    assert order_get(order_id=fulfilled.order_id).void_queue is None


def test_a_void_that_keeps_failing_lands_in_the_needs_attention_queue(aws, fulfilled, capfd):
    _set_parameter(aws, "fulfillment_max_attempts", "2")
    vendor_behave(aws, "error")

    refund_create(order_id=fulfilled.order_id, amount=None, staff="fin")
    voids_sweep(now=datetime.now(UTC) + LATER)

    order = order_get(order_id=fulfilled.order_id)
    assert order.void_queue == VOID_FAILED
    assert order.void_failure_reason.startswith("gave up after 2 attempts")
    assert [o.order_id for o in orders_needing_attention(
        reason=AttentionReason.VOID_FAILED, limit=10
    )] == [order.order_id]  # fmt: skip
    assert '"VoidFailures"' in capfd.readouterr().out

    vendor_behave(aws, "ok")
    void_retry(order_id=order.order_id, staff="ada")  # a new request, a new key

    retried = order_get(order_id=order.order_id)
    assert retried.void_queue is None
    assert {t.current_state for t in retried.tickets} == {TicketState.VOID}
    assert _voids(aws)[-1]["idempotency_key"] == f"void:{order.order_id}:2"
    assert orders_needing_attention(reason=AttentionReason.VOID_FAILED, limit=10) == []


def test_a_scanned_ticket_is_refused_and_staff_are_told_why(aws, fulfilled):
    _scan(aws, fulfilled.tickets[1].ticket_id)

    refund_create(order_id=fulfilled.order_id, amount=None, staff="fin")

    order = order_get(order_id=fulfilled.order_id)
    assert order.status == OrderStatus.REFUNDED  # the money went back all the same
    assert order.void_queue == VOID_FAILED
    assert order.void_failure_reason == "The vendor refused (HTTP 409): ticket already scanned"
    assert len(_voids(aws)) == 1  # refused is final: no retries
    voids_sweep(now=datetime.now(UTC) + LATER)
    assert len(_voids(aws)) == 1

    void_accept(order_id=order.order_id, staff="ada")
    accepted = order_get(order_id=order.order_id)
    assert accepted.void_queue is None
    assert {t.current_state for t in accepted.tickets} == {TicketState.VOID_REFUSED}
    with pytest.raises(Conflict):
        void_retry(order_id=order.order_id, staff="ada")


def test_a_lost_dispute_voids_the_tickets(aws, fulfilled):
    actions.dispute_opened(order_id=fulfilled.order_id, actor="stripe", dispute_id="dp_1")
    applied = actions.dispute_decided(
        order_id=fulfilled.order_id, dispute_status="lost", actor="stripe"
    )

    assert "3 tickets to void" in applied.changes
    assert set(_vendor_tickets(aws).values()) == {"void"}


def test_a_won_dispute_leaves_the_tickets_valid(aws, fulfilled):
    actions.dispute_opened(order_id=fulfilled.order_id, actor="stripe", dispute_id="dp_1")
    actions.dispute_decided(order_id=fulfilled.order_id, dispute_status="won", actor="stripe")

    assert _voids(aws) == []
