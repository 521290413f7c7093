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
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from orders.models import (
    FULFILLMENT_DUE,
    FulfillmentAttempt,
    FulfillmentStatus,
    Order,
    OrderStatus,
    Ticket,
    TicketCodeLookup,
    VendorBreaker,
)
from orders.selectors import customer_get, order_get
from orders.services.changes import order_change
from orders.vendor_client import Fulfilled, Permanent, Retryable, VendorOutcome, fulfillment_request
from tickets.audit import SYSTEM_BACKOFFICE, SYSTEM_FULFILLMENT
from tickets.config import parameters_get
from tickets.dynamodb import condition_failed, iso_utc
from tickets.exceptions import Conflict, NotFound
from tickets.health import Banner
from tickets.logging import log_scope, request_id_var
from tickets.metrics import metric_emit

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = timedelta(seconds=30)
SWEEP_BUDGET = timedelta(seconds=45)  # the scheduled function has a 60 s timeout
SWEEP_WORKERS = 8
SWEEP_PAGE = 50


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# --- Circuit breaker ----------------------------------------------------------------------------


_BREAKER_KEY = ("CIRCUIT#vendor", "STATE")


def _breaker_state() -> VendorBreaker | None:
    try:
        return VendorBreaker.get(*_BREAKER_KEY)
    except DoesNotExist:
        return None


def breaker_open_until(*, now: datetime | None = None) -> datetime | None:
    """When the breaker is open, the time it lets a probe through again; else None."""
    state = _breaker_state()
    if state is None:
        return None
    until = datetime.fromtimestamp(state.open_until, UTC)
    return until if until > _now(now) else None


def breaker_half_open(*, now: datetime | None = None) -> bool:
    """Open before, cooled down now: the next call is a probe, and should be the only one."""
    state = _breaker_state()
    return (
        state is not None
        and state.failures >= BREAKER_THRESHOLD
        and datetime.fromtimestamp(state.open_until, UTC) <= _now(now)
    )


def breaker_banners() -> list[Banner]:
    """The admin's health banner while the vendor's circuit is open, or half open (cooled
    down, waiting for a probe to succeed): it ends with the first success (one GetItem)."""
    state = _breaker_state()
    if state is None or state.failures < BREAKER_THRESHOLD:
        return []
    until = datetime.fromtimestamp(state.open_until, UTC)
    if until > _now(None):
        detail = (
            f"{int(state.failures)} failures in a row: no fulfillment is attempted until "
            f"{until:%Y-%m-%d %H:%M:%S} UTC, then one probe. Paid orders wait in the queue "
            "and are sent when the vendor answers again."
        )
    else:
        detail = (
            f"{int(state.failures)} failures in a row; the next attempt is a probe, and the "
            "circuit closes when one succeeds. Paid orders wait in the queue."
        )
    return [Banner("vendor-circuit-open", "The ticket vendor's circuit is open", detail)]


def _breaker_record(*, success: bool, now: datetime) -> None:
    breaker = VendorBreaker(*_BREAKER_KEY)
    if success:
        breaker.update(actions=[VendorBreaker.failures.set(0), VendorBreaker.open_until.set(0)])
        return
    breaker.update(actions=[VendorBreaker.failures.add(1)])
    if breaker.failures >= BREAKER_THRESHOLD:
        breaker.update(
            actions=[VendorBreaker.open_until.set(int((now + BREAKER_COOLDOWN).timestamp()))]
        )
        logger.warning("vendor circuit opened", extra={"failures": int(breaker.failures)})
        metric_emit("VendorCircuitOpened")


# --- Starting ----------------------------------------------------------------------------------


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
    _dispatch(order_id)
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
            Order.status.set(OrderStatus.PAID.value),
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
    _dispatch(order_id)


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
    _dispatch(order_id)


def _dispatch(order_id: str) -> None:
    mode = os.environ.get("FULFILLMENT_ASYNC") or (
        "zappa" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "inline"
    )
    try:
        if mode == "zappa":
            from zappa.asynchronous import run

            run(fulfillment_attempt_task, kwargs={"order_id": order_id})
        elif mode == "thread":
            threading.Thread(
                target=fulfillment_attempt_task, kwargs={"order_id": order_id}, daemon=True
            ).start()
        else:
            fulfillment_attempt_task(order_id=order_id)
    except Exception:
        # The order is queued: the sweeper will attempt it within a minute.
        logger.exception("could not dispatch a fulfillment attempt; the sweeper will")


def fulfillment_attempt_task(order_id: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    fulfillment_attempt(order_id=order_id)


# --- One attempt -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    order_id: str
    outcome: (
        str  # "fulfilled", "retry", "failed", "skipped" (leased elsewhere, breaker open, not due)
    )


def fulfillment_attempt(
    *, order_id: str, now: datetime | None = None, order: Order | None = None
) -> AttemptResult:
    """Attempt one due order: lease it, call the vendor, record what happened. The sweeper
    passes the ``order`` it read from the due index (the lease's condition makes a stale copy
    harmless); otherwise it is read here. Its log lines carry ``order_id``; lines after it
    do not."""
    with log_scope(request_id=request_id_var.get(), order_id=order_id):
        return _fulfillment_attempt(order_id=order_id, now=now, order=order)


def _fulfillment_attempt(
    *, order_id: str, now: datetime | None, order: Order | None
) -> AttemptResult:
    now = _now(now)
    order = order or order_get(order_id=order_id)
    if order is None or order.fulfillment_queue != FULFILLMENT_DUE:
        return AttemptResult(order_id, "skipped")
    if order.status == OrderStatus.REFUNDED:
        # Fully refunded while waiting: no tickets are owed any more.
        _finish(
            order,
            [
                Order.fulfillment_status.set(FulfillmentStatus.FAILED.value),
                Order.fulfillment_failure_reason.set("refunded before fulfillment"),
            ],
            OrderStatus.REFUNDED,
            now,
            summary="Not fulfilled: the order was refunded before its tickets were issued",
            after={"fulfillment_status": FulfillmentStatus.FAILED.value},
        )
        return AttemptResult(order_id, "skipped")
    breaker = _breaker_state()
    if breaker is not None and datetime.fromtimestamp(breaker.open_until, UTC) > now:
        return AttemptResult(order_id, "skipped")
    if not _lease(order, now):
        return AttemptResult(order_id, "skipped")
    customer = customer_get(customer_id=order.customer_id)
    outcome: VendorOutcome = fulfillment_request(
        order_id=order.order_id,
        customer_email=customer.email if customer else "",
        customer_name=customer.name if customer else "",
        items=[(item.sku, int(item.quantity)) for item in order.items],
    )
    if isinstance(outcome, Retryable) or (breaker is not None and breaker.failures):
        _breaker_record(success=not isinstance(outcome, Retryable), now=now)
    if isinstance(outcome, Fulfilled):
        _record_fulfilled(order, outcome, now)
        return AttemptResult(order_id, "fulfilled")
    if isinstance(outcome, Permanent):
        _record_failed(order, outcome.summary, now, attempt_outcome="permanent")
        return AttemptResult(order_id, "failed")
    attempts = int(order.fulfillment_attempt_count or 0) + 1
    if attempts >= parameters_get().fulfillment_max_attempts:
        _record_failed(
            order,
            f"gave up after {attempts} attempts: {outcome.summary}",
            now,
            attempt_outcome="retryable",
        )
        return AttemptResult(order_id, "failed")
    _record_retry(order, outcome, attempts, now)
    return AttemptResult(order_id, "retry")


def _lease(order: Order, now: datetime) -> bool:
    seconds = parameters_get().vendor_connect_timeout + parameters_get().vendor_read_timeout + 15
    try:
        order.update(
            actions=[Order.fulfillment_lease_until.set(int(now.timestamp() + seconds))],
            condition=(Order.fulfillment_queue == FULFILLMENT_DUE)
            & (
                Order.fulfillment_lease_until.does_not_exist()
                | (Order.fulfillment_lease_until < int(now.timestamp()))
            ),
            add_version_condition=False,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _attempts_append(attempt: FulfillmentAttempt):
    return Order.fulfillment_attempts.set(Order.fulfillment_attempts.append([attempt]))


def _attempt(now: datetime, outcome: str, detail: str) -> FulfillmentAttempt:
    return FulfillmentAttempt(at=iso_utc(now), outcome=outcome, detail=detail[:200])


def _finish(
    order: Order,
    actions: list,
    paid_becomes: OrderStatus,
    now: datetime,
    *,
    summary: str,
    after: dict[str, object],
) -> bool:
    """Take the order out of the queue with ``actions``: a ``paid`` order also moves to
    ``paid_becomes``; one refunded meanwhile keeps its refund status. The attempt's audit entry
    is written with it. False if another worker already finished it (the vendor gave both the
    same fulfillment)."""
    actions = [
        *actions,
        Order.fulfillment_attempt_count.add(1),
        Order.fulfillment_queue.remove(),
        Order.fulfillment_next_at.remove(),
        Order.fulfillment_lease_until.remove(),
    ]
    still_due = Order.fulfillment_queue == FULFILLMENT_DUE
    before = {"status": order.status, "fulfillment_status": order.fulfillment_status}
    attempts = [
        (
            [*actions, Order.status.set(paid_becomes.value)],
            still_due & (Order.status == OrderStatus.PAID.value),
            {**after, "status": paid_becomes.value},
        ),
        (actions, still_due, after),
    ]
    for update_actions, condition, recorded in attempts:
        if order_change(
            order,
            actions=update_actions,
            condition=condition,
            actor=SYSTEM_FULFILLMENT,
            action="fulfillment_attempt",
            summary=summary,
            before=before,
            after=recorded,
            audit_after=True,
        ):
            return True
    return False


def _record_fulfilled(order: Order, outcome: Fulfilled, now: datetime) -> None:
    tickets = [Ticket(ticket_id=t.ticket_id, sku=t.sku, code=t.code) for t in outcome.tickets]
    actions = [
        Order.fulfillment_status.set(FulfillmentStatus.FULFILLED.value),
        Order.fulfillment_id.set(outcome.fulfillment_id),
        Order.tickets.set(tickets),
        _attempts_append(_attempt(now, "success", outcome.summary)),
    ]
    if _finish(
        order,
        actions,
        OrderStatus.FULFILLED,
        now,
        summary=f"Tickets issued ({len(tickets)})",
        after={"fulfillment_status": FulfillmentStatus.FULFILLED.value},
    ):
        ticket_codes_record(order_id=order.order_id, tickets=tickets)
        logger.info(
            "order fulfilled",
            extra={"fulfillment_id": outcome.fulfillment_id, "tickets": len(tickets)},
        )


def ticket_codes_record(*, order_id: str, tickets: list[Ticket]) -> int:
    """Record which order each ticket code was issued on (``TicketCodeLookup``: the admin's
    search by code), in one BatchWrite; writing again is harmless. Best effort: the tickets are
    on the order already, and ``admin_indexes_backfill`` writes any lookup missed here."""
    lookups = [
        TicketCodeLookup(pk=TicketCodeLookup.key_for(t.code), order_id=order_id)
        for t in tickets
        if t.code
    ]
    try:
        with TicketCodeLookup.batch_write() as batch:
            for lookup in lookups:
                batch.save(lookup)
    except PynamoDBException:
        logger.exception("ticket code lookups not written; admin_indexes_backfill writes them")
        return 0
    return len(lookups)


def _record_failed(order: Order, reason: str, now: datetime, *, attempt_outcome: str) -> None:
    actions = [
        Order.fulfillment_status.set(FulfillmentStatus.FAILED.value),
        Order.fulfillment_failure_reason.set(reason[:300]),
        _attempts_append(_attempt(now, attempt_outcome, reason)),
    ]
    if _finish(
        order,
        actions,
        OrderStatus.FULFILLMENT_FAILED,
        now,
        summary=f"Fulfillment failed: {reason[:200]}",
        after={"fulfillment_status": FulfillmentStatus.FAILED.value},
    ):
        metric_emit("FulfillmentFailures")
        logger.error("fulfillment failed", extra={"reason": reason[:300]})


def backoff_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Full jitter: uniform in [base * 2^(n-1) / 2, base * 2^(n-1)], capped, and never before
    the vendor's Retry-After."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
    delay = timedelta(seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))  # noqa: S311
    return max(delay, timedelta(seconds=retry_after or 0))


def _record_retry(order: Order, outcome: Retryable, attempts: int, now: datetime) -> None:
    next_at = now + backoff_delay(attempts, outcome.retry_after)
    order_change(
        order,
        actions=[
            _attempts_append(_attempt(now, "retryable", outcome.summary)),
            Order.fulfillment_attempt_count.set(attempts),
            Order.fulfillment_next_at.set(iso_utc(next_at)),
            Order.fulfillment_lease_until.remove(),
        ],
        condition=Order.fulfillment_queue == FULFILLMENT_DUE,
        actor=SYSTEM_FULFILLMENT,
        action="fulfillment_attempt",
        summary=f"Attempt {attempts} failed, retried later: {outcome.summary[:200]}",
        before={"fulfillment_attempt_count": int(order.fulfillment_attempt_count or 0)},
        after={"fulfillment_attempt_count": attempts, "fulfillment_next_at": iso_utc(next_at)},
        audit_after=True,
    )
    logger.info(
        "fulfillment will be retried", extra={"attempts": attempts, "next_at": iso_utc(next_at)}
    )


# --- The sweeper -------------------------------------------------------------------------------


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
    Scan; ``fulfillment_start`` is conditional, so racing the payment's own start is harmless."""
    started = 0
    for order in Order.status_index.query(
        OrderStatus.PAID.value,
        filter_condition=Order.fulfillment_status == FulfillmentStatus.NOT_STARTED.value,
        limit=limit,
    ):
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
            current = _now(now)
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
