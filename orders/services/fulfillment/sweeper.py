"""The sweeper (scheduled every minute): queries the due orders, oldest first, and attempts
them, a few at a time, within a time budget. It first starts any ``paid`` order whose
fulfillment never started (``fulfillment_start_missed``): the payment is one write and the
start another, so a process that died between the two left an order paid and out of the
queue, which no redelivery may ever come to repair.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.dynamodb import iso_utc
from orders.models import (
    FULFILLMENT_DUE,
    ORDERS_BY_STATUS,
    BuyerEmailKind,
    FulfillmentStatus,
    Order,
    OrderStatus,
)
from orders.services.fulfillment import fulfillment_start
from orders.services.fulfillment.attempts import fulfillment_attempt
from orders.services.fulfillment.breaker import breaker_half_open, breaker_open_until, now_or

logger = logging.getLogger(__name__)

SWEEP_BUDGET = timedelta(seconds=45)  # the scheduled function has a 60 s timeout
SWEEP_WORKERS = 8
SWEEP_PAGE = 50


@dataclass
class SweepReport:
    fulfilled: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    breaker_open: bool = False
    started: int = 0  # paid orders whose start had been lost


def fulfillment_start_missed(*, limit: int = SWEEP_PAGE) -> int:
    """Start the fulfillment of ``paid`` orders that never had it started (the process that
    paid them died before ``fulfillment_start``); how many. One Query of the ``paid``
    partition of ``order-status-index`` (orders awaiting their tickets: a short list), never a
    Scan; ``fulfillment_start`` is conditional, so racing the payment's own start is harmless.
    The same process died before queuing the buyer's confirmation: it is queued here too (once
    per order, by its record's key)."""
    from orders.services.buyer_mail import buyer_email_queue  # (it imports the fulfillment)

    started = 0
    for order in ORDERS_BY_STATUS.query(
        OrderStatus.PAID.value,
        filter_condition=Order.fulfillment_status == FulfillmentStatus.NOT_STARTED.value,
        limit=limit,
    ):
        buyer_email_queue(order_id=order.order_id, kind=BuyerEmailKind.CONFIRMATION)
        if fulfillment_start(order_id=order.order_id):
            logger.warning(
                "fulfillment of a paid order had not started", extra={"order_id": order.order_id}
            )
            started += 1
    return started


def fulfillment_sweep(
    *, now: datetime | None = None, budget: timedelta = SWEEP_BUDGET
) -> SweepReport:
    """Attempt every due order (oldest due first) until none is left or the budget is spent.
    Orders come from the sparse due index, a page at a time: never a Scan."""
    report = SweepReport()
    deadline = time.monotonic() + budget.total_seconds()
    report.started = fulfillment_start_missed()
    seen: set[str] = set()
    with ThreadPoolExecutor(SWEEP_WORKERS) as pool:
        while time.monotonic() < deadline:
            current = now_or(now)
            if breaker_open_until(now=current) is not None:
                report.breaker_open = True
                break
            due = [
                o
                for o in Order.fulfillment_due_index.query(
                    FULFILLMENT_DUE, Order.fulfillment_next_at <= iso_utc(current), limit=SWEEP_PAGE
                )
                if o.order_id not in seen
            ]
            if not due:
                break
            if breaker_half_open(now=current):
                # One probe first: if the vendor is still down, only it waits on the timeout.
                seen.add(due[0].order_id)
                result = fulfillment_attempt(order_id=due[0].order_id, now=now, order=due[0])
                setattr(report, result.outcome, getattr(report, result.outcome) + 1)
                continue
            seen.update(o.order_id for o in due)
            for result in pool.map(
                lambda o: fulfillment_attempt(order_id=o.order_id, now=now, order=o), due
            ):
                setattr(report, result.outcome, getattr(report, result.outcome) + 1)
    logger.info("fulfillment sweep", extra={"report": vars(report)})
    return report
