"""Fulfillment: having the vendor issue an order's tickets, reliably and never twice.

Life of a paid order here:

1. ``fulfillment_start`` (called once payment succeeded) puts the order in the queue (the
   sparse ``fulfillment-due-index``: ``fulfillment_queue = "due"``, ``fulfillment_next_at``)
   and asks for an attempt *asynchronously*: through Zappa's task mechanism in Lambda, so the
   webhook answers at once; in a thread or inline locally (``FULFILLMENT_ASYNC``), running the
   same ``fulfillment_attempt``. If that dispatch is lost, the sweeper still finds the order.
2. ``fulfillment_attempt`` takes a *lease* on the order (a conditional write), so two workers
   (a sweeper and an async task, or two sweepers) never call the vendor for one order at the
   same time; the vendor's ``Idempotency-Key: {order_id}`` covers the rest (a repeated key
   answers with the same fulfillment). Each attempt is recorded on the order.
3. A retryable answer schedules the next attempt with exponential backoff and full jitter
   (and at least the vendor's ``Retry-After``), up to ``fulfillment_max_attempts`` (SSM). The
   last one, or a permanent answer, makes the order ``fulfillment_failed`` with the reason, and
   emits ``FulfillmentFailures`` (an alarm watches it). Staff can ``fulfillment_retry`` it.
4. ``fulfillment_sweep`` (scheduled every minute) queries the due orders, oldest first, and
   attempts them, a few at a time, within a time budget. It first starts any ``paid`` order
   whose fulfillment never started (``fulfillment_start_missed``): the payment is one write
   and the start another, so a process that died between the two (a Lambda timeout) left an
   order paid and out of the queue, which no redelivery may ever come to repair (the payment
   found by the reconciliation or the expiry job has no webhook behind it).

A circuit breaker (one item in the back-office table, shared by every container) opens after
``BREAKER_THRESHOLD`` retryable failures in a row: while open, no invocation waits on the
vendor's timeout; orders stay queued and drain when a probe after ``BREAKER_COOLDOWN`` works.

The package by concern: this module starts and retries (the entry points the payment, staff
and the needs-attention queue call); ``dispatch`` asks for an attempt without waiting;
``attempts`` runs one attempt; ``sweeper`` finds due and lost ones; ``breaker`` is the
circuit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from core.audit import SYSTEM_BACKOFFICE
from core.dynamodb import condition_failed, iso_utc
from core.exceptions import Conflict, NotFound
from orders.models import FULFILLMENT_DUE, FulfillmentStatus, Order, OrderStatus
from orders.selectors import order_get
from orders.services.changes import order_change
from orders.services.fulfillment.attempts import (
    AttemptResult,
    backoff_delay,
    fulfillment_attempt,
    ticket_codes_record,
)
from orders.services.fulfillment.breaker import (
    BREAKER_COOLDOWN,
    BREAKER_THRESHOLD,
    breaker_banners,
    breaker_half_open,
    breaker_open_until,
)
from orders.services.fulfillment.dispatch import attempt_dispatch, fulfillment_attempt_task

logger = logging.getLogger(__name__)

__all__ = [
    "BREAKER_COOLDOWN",
    "BREAKER_THRESHOLD",
    "AttemptResult",
    "backoff_delay",
    "breaker_banners",
    "breaker_half_open",
    "breaker_open_until",
    "fulfillment_attempt",
    "fulfillment_attempt_task",
    "fulfillment_retry",
    "fulfillment_retry_now",
    "fulfillment_start",
    "ticket_codes_record",
]


def fulfillment_start(*, order_id: str) -> bool:
    """Queue a paid order for fulfillment and ask for an attempt without waiting for it. False
    if it was queued, done, or not paid already (nothing started)."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    now = datetime.now(UTC)
    try:
        order.update(
            actions=[
                Order.fulfillment_status.set(FulfillmentStatus.PENDING.value),
                Order.fulfillment_queue.set(FULFILLMENT_DUE),
                Order.fulfillment_next_at.set(iso_utc(now)),
            ],
            condition=(Order.status == OrderStatus.PAID.value)
            & (Order.fulfillment_status == FulfillmentStatus.NOT_STARTED.value),
            add_version_condition=False,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False  # already queued, done, or not paid: nothing to start
    attempt_dispatch(order_id)
    return True


def fulfillment_retry(*, order_id: str, staff: str | None = None) -> None:
    """Staff: try a ``fulfillment_failed`` order again, with a fresh count of attempts."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    now = datetime.now(UTC)
    changed = order_change(
        order,
        actions=[
            *Order.status_actions(order_id=order.order_id, status=OrderStatus.PAID.value),
            Order.fulfillment_status.set(FulfillmentStatus.PENDING.value),
            Order.fulfillment_queue.set(FULFILLMENT_DUE),
            Order.fulfillment_next_at.set(iso_utc(now)),
            Order.fulfillment_attempt_count.set(0),
            Order.fulfillment_failure_reason.remove(),
        ],
        # The version too: a retry decided on a stale page is refused.
        condition=(Order.status == OrderStatus.FULFILLMENT_FAILED.value)
        & (Order.version == order.version),
        actor=staff or SYSTEM_BACKOFFICE,
        action="retry_fulfillment",
        summary="Fulfillment started again",
        before={
            "status": order.status,
            "fulfillment_status": order.fulfillment_status,
            "fulfillment_failure_reason": order.fulfillment_failure_reason,
        },
        after={
            "status": OrderStatus.PAID.value,
            "fulfillment_status": FulfillmentStatus.PENDING.value,
        },
    )
    if not changed:
        raise Conflict("Only an order whose fulfillment failed can be retried.")
    logger.info("fulfillment retried by staff", extra={"staff": staff})
    attempt_dispatch(order_id)


def fulfillment_retry_now(*, order_id: str, staff: str) -> None:
    """Staff, from the needs-attention queue: a paid order still not fulfilled long after its
    payment (its attempt was lost, or it waits on a long backoff) is attempted now: queued if
    it never was, else its next attempt moved to now, and an attempt dispatched. A
    ``fulfillment_failed`` order is retried with ``fulfillment_retry``."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    if order.status == OrderStatus.FULFILLMENT_FAILED:
        fulfillment_retry(order_id=order_id, staff=staff)
        return
    if order.status != OrderStatus.PAID:
        raise Conflict("Only a paid order waiting for its tickets can be retried.")
    if order.fulfillment_status == FulfillmentStatus.NOT_STARTED:
        if fulfillment_start(order_id=order_id):
            return
        order = order_get(order_id=order_id) or order
    now = iso_utc(datetime.now(UTC))
    changed = order_change(
        order,
        actions=[Order.fulfillment_next_at.set(now)],
        condition=(Order.status == OrderStatus.PAID.value)
        & (Order.fulfillment_queue == FULFILLMENT_DUE),
        actor=staff,
        action="retry_fulfillment",
        summary="Fulfillment attempted now (from the needs-attention queue)",
        before={"fulfillment_next_at": order.fulfillment_next_at},
        after={"fulfillment_next_at": now},
    )
    if not changed:
        raise Conflict("The order is no longer waiting for its tickets.")
    attempt_dispatch(order_id)
