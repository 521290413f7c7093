"""One fulfillment attempt, as a state machine on the order: lease it (a conditional write, so
two workers never call the vendor for one order at once), call the vendor (its
``Idempotency-Key: {order_id}`` covers the rest), record what happened: fulfilled, a retry with
exponential backoff and full jitter (at least the vendor's ``Retry-After``), or failed after
``fulfillment_max_attempts`` (SSM) or a permanent answer.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, UpdateError

from core.audit import SYSTEM_FULFILLMENT
from core.config import parameters_get
from core.dynamodb import condition_failed, iso_utc
from core.logging import log_scope, request_id_var
from core.metrics import metric_emit
from integrations.vendor_client import (
    Fulfilled,
    Permanent,
    Retryable,
    VendorOutcome,
    fulfillment_request,
    vendor_settings,
)
from orders.models import (
    FULFILLMENT_DUE,
    BuyerEmailKind,
    FulfillmentAttempt,
    FulfillmentStatus,
    Order,
    OrderStatus,
    Ticket,
    TicketCodeLookup,
)
from orders.selectors import customer_get, order_get
from orders.services.changes import order_change
from orders.services.fulfillment.breaker import (
    breaker_record,
    breaker_state,
    now_or,
)

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


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
    now = now_or(now)
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
    breaker = breaker_state()
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
        breaker_record(success=not isinstance(outcome, Retryable), now=now)
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
    return vendor_lease(
        order,
        queue=Order.fulfillment_queue,
        lease=Order.fulfillment_lease_until,
        due=FULFILLMENT_DUE,
        now=now,
    )


def vendor_lease(order: Order, *, queue: Any, lease: Any, due: str, now: datetime) -> bool:
    """Take the order's lease for one vendor call (fulfillment or void): ``lease`` set past the
    call's longest wait, only while ``queue`` is ``due`` and no unexpired lease is held. False
    when another worker holds it (or the order left the queue)."""
    settings = vendor_settings()
    seconds = settings.connect_timeout + settings.read_timeout + 15
    try:
        order.update(
            actions=[lease.set(int(now.timestamp() + seconds))],
            condition=(queue == due) & (lease.does_not_exist() | (lease < int(now.timestamp()))),
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
            [
                *actions,
                *Order.status_actions(order_id=order.order_id, status=paid_becomes.value),
            ],
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
        from orders.services.buyer_mail import buyer_email_queue  # (it imports this module)

        buyer_email_queue(order_id=order.order_id, kind=BuyerEmailKind.TICKETS)
        issued = order_get(order_id=order.order_id)
        if issued is not None and issued.status == OrderStatus.REFUNDED:
            # Refunded in full while the vendor was issuing them: void them at once.
            from orders.services.voids import tickets_void_request  # (voids imports this)

            tickets_void_request(
                order_id=order.order_id,
                ticket_ids=None,
                actor=SYSTEM_FULFILLMENT,
                reason="fulfilled_after_refund",
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
