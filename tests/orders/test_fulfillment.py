"""Fulfillment through the stand-in vendor: retries, failures, the breaker, and never twice."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.core.management import call_command

from core.exceptions import Conflict
from orders.models import FulfillmentStatus, Order, OrderStatus
from orders.selectors import order_get
from orders.services.fulfillment import (
    BREAKER_COOLDOWN,
    breaker_open_until,
    fulfillment_attempt,
    fulfillment_retry,
    fulfillment_start,
)
from orders.services.fulfillment.sweeper import fulfillment_sweep
from tests.factories import paid_order_create
from tests.vendor import successful_fulfillments, vendor_behave, vendor_requests

pytestmark = pytest.mark.usefixtures("aws")

LATER = timedelta(hours=2)  # past any backoff


def _set_parameter(stack, name: str, value: str) -> None:
    boto3.client("ssm", endpoint_url=stack.aws_url).put_parameter(
        Name=f"/ticketstoheaven/local/{name}", Value=value, Type="String", Overwrite=True
    )


def _metrics(out: str, name: str) -> list[dict]:
    return [
        m
        for m in (json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"'))
        if name in m
    ]


def test_a_paid_order_is_fulfilled_and_its_tickets_shown_to_the_buyer(aws, client):
    order = paid_order_create(items=[("ga", 2), ("vip", 1)])

    fulfillment_start(order_id=order.order_id)

    fulfilled = order_get(order_id=order.order_id)
    assert fulfilled.status == OrderStatus.FULFILLED
    assert fulfilled.fulfillment_status == FulfillmentStatus.FULFILLED
    assert fulfilled.fulfillment_id.startswith("ful_")
    assert fulfilled.fulfillment_queue is None  # out of the sweeper's queue
    assert [a.outcome for a in fulfilled.fulfillment_attempts] == ["success"]
    page = client.get(f"/orders/{order.order_id}").json()
    assert page["status"] == "fulfilled"
    assert page["fulfillment"]["status"] == "fulfilled"
    assert sorted(t["sku"] for t in page["fulfillment"]["tickets"]) == ["ga", "ga", "vip"]
    (received,) = vendor_requests(aws)
    assert received["idempotency_key"] == order.order_id and received["authorized"]


def test_starting_twice_calls_the_vendor_once(aws):
    order = paid_order_create()

    fulfillment_start(order_id=order.order_id)
    fulfillment_start(order_id=order.order_id)

    assert len(vendor_requests(aws)) == 1


def test_an_unpaid_order_is_not_fulfilled(aws):
    order = paid_order_create(status="pending_payment")

    fulfillment_start(order_id=order.order_id)

    assert vendor_requests(aws) == []
    assert order_get(order_id=order.order_id).fulfillment_status == FulfillmentStatus.NOT_STARTED


def test_a_retryable_failure_is_recorded_and_retried_later_by_the_sweeper(aws):
    order = paid_order_create()
    vendor_behave(aws, "unavailable", times=1)

    fulfillment_start(order_id=order.order_id)

    waiting = order_get(order_id=order.order_id)
    assert waiting.status == OrderStatus.PAID
    assert [(a.outcome, a.detail[:3]) for a in waiting.fulfillment_attempts] == [
        ("retryable", "503")
    ]
    assert waiting.fulfillment_next_at > datetime.now(UTC).isoformat()
    assert fulfillment_sweep().fulfilled == 0  # not due yet

    report = fulfillment_sweep(now=datetime.now(UTC) + LATER)

    assert report.fulfilled == 1
    done = order_get(order_id=order.order_id)
    assert done.status == OrderStatus.FULFILLED
    assert [a.outcome for a in done.fulfillment_attempts] == ["retryable", "success"]


def test_a_429_is_not_retried_before_its_retry_after(aws):
    order = paid_order_create()
    vendor_behave(aws, "rate_limit", delay=3600, times=1)

    fulfillment_start(order_id=order.order_id)

    next_at = datetime.fromisoformat(order_get(order_id=order.order_id).fulfillment_next_at)
    assert next_at >= datetime.now(UTC) + timedelta(minutes=59)


def test_a_permanent_failure_fails_the_order_at_once_with_the_reason_and_a_metric(aws, capfd):
    order = paid_order_create()
    vendor_behave(aws, "reject")

    fulfillment_start(order_id=order.order_id)

    failed = order_get(order_id=order.order_id)
    assert failed.status == OrderStatus.FULFILLMENT_FAILED
    assert failed.fulfillment_failure_reason.startswith("422")
    assert failed.fulfillment_queue is None
    assert len(_metrics(capfd.readouterr().out, "FulfillmentFailures")) == 1


def test_after_the_last_attempt_the_order_fails(aws, capfd):
    _set_parameter(aws, "fulfillment_max_attempts", "3")
    order = paid_order_create()
    vendor_behave(aws, "error")

    fulfillment_start(order_id=order.order_id)
    fulfillment_sweep(now=datetime.now(UTC) + LATER)
    fulfillment_sweep(now=datetime.now(UTC) + 2 * LATER)

    failed = order_get(order_id=order.order_id)
    assert failed.status == OrderStatus.FULFILLMENT_FAILED
    assert failed.fulfillment_failure_reason.startswith("gave up after 3 attempts: 500")
    assert [a.outcome for a in failed.fulfillment_attempts] == ["retryable"] * 3
    assert len(vendor_requests(aws)) == 3
    assert len(_metrics(capfd.readouterr().out, "FulfillmentFailures")) == 1


def test_staff_can_retry_a_failed_order(aws):
    order = paid_order_create()
    vendor_behave(aws, "reject", times=1)
    fulfillment_start(order_id=order.order_id)

    fulfillment_retry(order_id=order.order_id, staff="ada")

    assert order_get(order_id=order.order_id).status == OrderStatus.FULFILLED
    with pytest.raises(Conflict):
        fulfillment_retry(order_id=order.order_id, staff="ada")


def test_a_slow_vendor_past_the_timeout_is_retried(aws):
    _set_parameter(aws, "vendor_read_timeout", "0.3")
    order = paid_order_create()
    vendor_behave(aws, "slow", delay=1.0, times=1)

    fulfillment_start(order_id=order.order_id)

    assert [a.detail for a in order_get(order_id=order.order_id).fulfillment_attempts] == [
        "timeout"
    ]
    fulfillment_sweep(now=datetime.now(UTC) + LATER)
    assert order_get(order_id=order.order_id).status == OrderStatus.FULFILLED


def test_concurrent_sweepers_and_tasks_fulfill_each_order_exactly_once(aws):
    orders = [paid_order_create(email=f"c{n}@example.com") for n in range(12)]
    vendor_behave(aws, "unavailable", times=12)  # queue them all first
    for order in orders:
        fulfillment_start(order_id=order.order_id)
    vendor_behave(aws, "slow", delay=0.2)  # widen the window for races
    later = datetime.now(UTC) + LATER

    workers = [threading.Thread(target=fulfillment_sweep, kwargs={"now": later}) for _ in range(3)]
    workers += [
        threading.Thread(target=fulfillment_attempt, kwargs={"order_id": o.order_id, "now": later})
        for o in orders[:6]
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert successful_fulfillments(aws) == {o.order_id: 1 for o in orders}
    assert {order_get(order_id=o.order_id).status for o in orders} == {OrderStatus.FULFILLED}


def test_an_order_the_vendor_already_fulfilled_takes_the_same_fulfillment(aws):
    from integrations.vendor_client import fulfillment_request

    order = paid_order_create()
    earlier = fulfillment_request(
        order_id=order.order_id,
        customer_email="x@example.com",
        customer_name="X",
        items=[("ga", 2)],
    )

    fulfillment_start(order_id=order.order_id)

    assert order_get(order_id=order.order_id).fulfillment_id == earlier.fulfillment_id


def test_an_outage_opens_the_breaker_and_the_backlog_drains_exactly_once_after(aws):
    orders = [paid_order_create(email=f"o{n}@example.com") for n in range(30)]
    vendor_behave(aws, "unavailable")
    for order in orders[:6]:  # the first failures open the breaker...
        fulfillment_start(order_id=order.order_id)
    calls_before = len(vendor_requests(aws))
    for order in orders[6:]:  # ...so the rest of the outage costs no vendor call
        fulfillment_start(order_id=order.order_id)
    report = fulfillment_sweep(now=datetime.now(UTC) + LATER)

    assert breaker_open_until() is not None
    assert report.breaker_open
    assert calls_before <= 6
    assert len(vendor_requests(aws)) == calls_before + 1  # the sweep's one probe after the cooldown
    assert {order_get(order_id=o.order_id).status for o in orders} == {OrderStatus.PAID}

    vendor_behave(aws, "ok")
    report = fulfillment_sweep(now=datetime.now(UTC) + LATER + BREAKER_COOLDOWN)

    assert report.fulfilled == 30
    assert successful_fulfillments(aws) == {o.order_id: 1 for o in orders}


def test_the_sweep_command_drains_due_orders(aws):
    order = paid_order_create()
    vendor_behave(aws, "error", times=1)
    fulfillment_start(order_id=order.order_id)
    order_get(order_id=order.order_id).update(  # make it due now
        actions=[Order.fulfillment_next_at.set("2000-01-01T00:00:00.000000Z")],
        add_version_condition=False,
    )

    out = io.StringIO()
    call_command("sweep_fulfillment", stdout=out)

    assert "fulfilled 1" in out.getvalue()
    assert order_get(order_id=order.order_id).status == OrderStatus.FULFILLED


def test_an_order_fully_refunded_while_queued_gets_no_tickets(aws):
    order = paid_order_create()
    vendor_behave(aws, "unavailable", times=1)
    fulfillment_start(order_id=order.order_id)
    order_get(order_id=order.order_id).update(
        actions=[Order.status.set(OrderStatus.REFUNDED.value)], add_version_condition=False
    )

    fulfillment_sweep(now=datetime.now(UTC) + LATER)

    refunded = order_get(order_id=order.order_id)
    assert refunded.status == OrderStatus.REFUNDED
    assert refunded.fulfillment_queue is None
    assert refunded.fulfillment_failure_reason == "refunded before fulfillment"
    assert successful_fulfillments(aws) == {}
