"""Voiding tickets at the vendor: tickets follow the money, exactly once, retried like a
fulfillment.

Life of a void (the vendor's second verb, ``integrations.vendor_client.tickets_void``):

1. ``tickets_void_request`` (called by ``orders.actions`` when money goes back: a full refund,
   the tickets staff pick on a partial refund, a lost dispute) marks the chosen tickets
   ``void_pending`` on the order, in one conditional write with its audit entry, numbers the
   request (``void_request``: the vendor's ``Idempotency-Key`` is ``void:{order_id}:{n}``) and
   puts the order in the sparse ``void-queue-index`` (``void_queue = "due"``); then an attempt
   is asked for without waiting (``task_dispatch``, as fulfillment does).
2. ``void_attempt`` takes a lease on the order (so two workers never call the vendor for one
   order at once) and sends every ``void_pending`` ticket. The vendor's answer:
   - voided: those tickets become ``void``, the order leaves the queue;
   - timeout, 429, 5xx: retried with the fulfillment's backoff (``backoff_delay``) up to
     ``fulfillment_max_attempts`` (SSM), then given up;
   - refused (a ticket already scanned) or given up: ``void_queue = "failed"`` with the reason
     in words: the needs-attention queue lists it (``AttentionReason.VOID_FAILED``), where
     staff retry (a new request, a new key) or accept it (the tickets stay valid, said so).
3. ``voids_sweep`` (with the fulfillment sweep, every minute) attempts the due ones.

A void and a new request racing: the attempt's final write is conditioned on the request it
sent; if a newer request came meanwhile, nothing is written and the newer request's attempt
sends every pending ticket again (voiding a void ticket is harmless at the vendor).

The vendor's circuit breaker is shared with fulfillment: while it is open, no void waits on
the vendor's timeout either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.audit import SYSTEM_BACKOFFICE, SYSTEM_FULFILLMENT
from core.config import parameters_get
from core.dynamodb import iso_utc
from core.exceptions import Conflict, NotFound
from core.jobs import task_dispatch
from core.logging import log_scope, request_id_var
from core.metrics import metric_emit
from integrations.vendor_client import (
    Permanent,
    Retryable,
    Voided,
    answer_in_words,
    tickets_void,
)
from orders.models import VOID_DUE, VOID_FAILED, Order, Ticket, TicketState
from orders.selectors import order_get
from orders.services.changes import order_change
from orders.services.fulfillment.attempts import backoff_delay, vendor_lease
from orders.services.fulfillment.breaker import breaker_record, breaker_state, now_or

logger = logging.getLogger(__name__)

REQUEST_ATTEMPTS = 5  # re-reads when a colleague's change lands between read and write
SWEEP_PAGE = 50

# Why tickets are voided, as the vendor is told (a word, never personal data) and staff read.
VOID_REASONS = {
    "refund": "the order was refunded",
    "partial_refund": "staff chose them on a partial refund",
    "dispute_lost": "the dispute was lost",
    "event_canceled": "the event was canceled",
    "fulfilled_after_refund": "they were issued after the order was refunded",
}


def _tickets_with(tickets: list[Ticket], ids: set[str], state: TicketState) -> list[Ticket]:
    return [
        Ticket(
            ticket_id=t.ticket_id,
            sku=t.sku,
            code=t.code,
            state=state.value if t.ticket_id in ids else t.state,
        )
        for t in tickets
    ]


def void_key(order: Order) -> str:
    """The vendor's ``Idempotency-Key`` of the order's current void request."""
    return f"void:{order.order_id}:{int(order.void_request or 0)}"


def tickets_void_request(
    *, order_id: str, ticket_ids: Iterable[str] | None, actor: str, reason: str
) -> int:
    """Mark ``ticket_ids`` of the order (None: every valid ticket) to be voided at the vendor
    and ask for an attempt; how many tickets were newly marked (0: nothing to void: none
    issued, or all void or being voided already). ``reason``: a key of ``VOID_REASONS``."""
    chosen = None if ticket_ids is None else set(ticket_ids)
    for _ in range(REQUEST_ATTEMPTS):
        order = order_get(order_id=order_id)
        if order is None:
            raise NotFound("No such order.")
        marked = {
            t.ticket_id
            for t in order.tickets or []
            if t.current_state == TicketState.VALID and (chosen is None or t.ticket_id in chosen)
        }
        if not marked or not order.fulfillment_id:
            return 0
        request = int(order.void_request or 0) + 1
        now = iso_utc(datetime.now(UTC))
        codes = [t.code or t.ticket_id for t in order.tickets if t.ticket_id in marked]
        if order_change(
            order,
            actions=[
                Order.tickets.set(_tickets_with(order.tickets, marked, TicketState.VOID_PENDING)),
                Order.void_queue.set(VOID_DUE),
                Order.void_next_at.set(now),
                Order.void_request.set(request),
                Order.void_attempt_count.set(0),
                Order.void_reason.set(reason),
                Order.void_failure_reason.remove(),
                Order.void_lease_until.remove(),
            ],
            condition=Order.version == order.version,
            actor=actor,
            action="void_request",
            summary=f"{len(marked)} ticket{'s' if len(marked) != 1 else ''} to void at the "
            f"vendor ({VOID_REASONS.get(reason, reason)}): {', '.join(codes)}",
            before={"tickets": sorted(marked), "state": TicketState.VALID.value},
            after={"tickets": sorted(marked), "state": TicketState.VOID_PENDING.value},
        ):
            logger.info("tickets to void", extra={"order_id": order_id, "tickets": len(marked)})
            task_dispatch(void_attempt_task, order_id=order_id, what="a void attempt")
            return len(marked)
    raise Conflict("The order kept changing; try again.")


def void_attempt_task(order_id: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    void_attempt(order_id=order_id)


def void_attempt(*, order_id: str, now: datetime | None = None, order: Order | None = None) -> str:
    """Attempt the order's void: ``voided``, ``retry``, ``failed`` or ``skipped`` (not due,
    leased elsewhere, breaker open)."""
    with log_scope(request_id=request_id_var.get(), order_id=order_id):
        return _void_attempt(order_id=order_id, now=now_or(now), order=order)


def _void_attempt(*, order_id: str, now: datetime, order: Order | None) -> str:
    order = order or order_get(order_id=order_id)
    if order is None or order.void_queue != VOID_DUE:
        return "skipped"
    breaker = breaker_state()
    if breaker is not None and datetime.fromtimestamp(breaker.open_until, UTC) > now:
        return "skipped"
    if not _lease(order, now):
        return "skipped"
    order = order_get(order_id=order_id) or order  # as leased: the request it sends is current
    pending = [t.ticket_id for t in order.tickets if t.current_state == TicketState.VOID_PENDING]
    if not pending:
        _finish(order, [], summary="Nothing left to void", after={})
        return "voided"
    outcome = tickets_void(
        fulfillment_id=order.fulfillment_id or "",
        ticket_ids=pending,
        idempotency_key=void_key(order),
        reason=order.void_reason or "refund",
    )
    if isinstance(outcome, Retryable) or (breaker is not None and breaker.failures):
        breaker_record(success=not isinstance(outcome, Retryable), now=now)
    if isinstance(outcome, Voided):
        done = set(outcome.ticket_ids)
        if _finish(
            order,
            [Order.tickets.set(_tickets_with(order.tickets, done, TicketState.VOID))],
            summary=f"{len(done)} ticket{'s' if len(done) != 1 else ''} voided at the vendor "
            f"({outcome.void_id})",
            after={"tickets": sorted(done), "state": TicketState.VOID.value},
        ):
            logger.info("tickets voided", extra={"tickets": len(done)})
        return "voided"
    attempts = int(order.void_attempt_count or 0) + 1
    if isinstance(outcome, Permanent):
        _fail(order, answer_in_words(outcome.summary), attempts, now)
        return "failed"
    if attempts >= parameters_get().fulfillment_max_attempts:
        _fail(
            order,
            f"gave up after {attempts} attempts: {answer_in_words(outcome.summary)}",
            attempts,
            now,
        )
        return "failed"
    next_at = now + backoff_delay(attempts, outcome.retry_after)
    order_change(
        order,
        actions=[
            Order.void_attempt_count.set(attempts),
            Order.void_next_at.set(iso_utc(next_at)),
            Order.void_lease_until.remove(),
        ],
        condition=_still_this_request(order),
        actor=SYSTEM_FULFILLMENT,
        action="void_attempt",
        summary=f"Void attempt {attempts} failed, retried later: {outcome.summary[:200]}",
        before={"void_attempt_count": attempts - 1},
        after={"void_attempt_count": attempts, "void_next_at": iso_utc(next_at)},
        audit_after=True,
    )
    return "retry"


def _still_this_request(order: Order):
    return (Order.void_queue == VOID_DUE) & (Order.void_request == int(order.void_request or 0))


def _lease(order: Order, now: datetime) -> bool:
    return vendor_lease(
        order, queue=Order.void_queue, lease=Order.void_lease_until, due=VOID_DUE, now=now
    )


def _finish(order: Order, actions: list, *, summary: str, after: dict[str, object]) -> bool:
    """Out of the queue, with ``actions``; False if a newer request came meanwhile."""
    return order_change(
        order,
        actions=[
            *actions,
            Order.void_queue.remove(),
            Order.void_next_at.remove(),
            Order.void_lease_until.remove(),
            Order.void_attempt_count.add(1),
            Order.void_failure_reason.remove(),
        ],
        condition=_still_this_request(order),
        actor=SYSTEM_FULFILLMENT,
        action="void_attempt",
        summary=summary,
        before={"void_queue": VOID_DUE},
        after=after,
        audit_after=True,
    )


def _fail(order: Order, reason: str, attempts: int, now: datetime) -> None:
    """Into the needs-attention queue with ``reason`` (in words)."""
    if order_change(
        order,
        actions=[
            Order.void_queue.set(VOID_FAILED),
            Order.void_next_at.set(iso_utc(now)),
            Order.void_attempt_count.set(attempts),
            Order.void_failure_reason.set(reason[:300]),
            Order.void_lease_until.remove(),
        ],
        condition=_still_this_request(order),
        actor=SYSTEM_FULFILLMENT,
        action="void_attempt",
        summary=f"Tickets not voided: {reason[:200]}",
        before={"void_queue": VOID_DUE},
        after={"void_queue": VOID_FAILED, "void_failure_reason": reason[:300]},
        audit_after=True,
    ):
        metric_emit("VoidFailures")
        logger.error("tickets not voided", extra={"reason": reason[:300]})


def void_retry(*, order_id: str, staff: str | None = None) -> None:
    """Staff, from the needs-attention queue: ask the vendor again for the tickets whose void
    failed (a new request: a new ``Idempotency-Key``, a fresh count of attempts)."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    now = iso_utc(datetime.now(UTC))
    request = int(order.void_request or 0) + 1
    if not order_change(
        order,
        actions=[
            Order.void_queue.set(VOID_DUE),
            Order.void_next_at.set(now),
            Order.void_request.set(request),
            Order.void_attempt_count.set(0),
            Order.void_failure_reason.remove(),
            Order.void_lease_until.remove(),
        ],
        condition=(Order.void_queue == VOID_FAILED) & (Order.version == order.version),
        actor=staff or SYSTEM_BACKOFFICE,
        action="retry_void",
        summary="Void of the tickets asked again",
        before={"void_queue": VOID_FAILED, "void_failure_reason": order.void_failure_reason},
        after={"void_queue": VOID_DUE},
    ):
        raise Conflict("Only an order whose tickets could not be voided can be retried.")
    task_dispatch(void_attempt_task, order_id=order_id, what="a void attempt")


def void_accept(*, order_id: str, staff: str) -> None:
    """Staff, from the needs-attention queue: the tickets that could not be voided stay valid
    (a ticket already scanned: the buyer was at the event); the order leaves the queue."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    pending = {t.ticket_id for t in order.tickets if t.current_state == TicketState.VOID_PENDING}
    if not order_change(
        order,
        actions=[
            Order.tickets.set(_tickets_with(order.tickets, pending, TicketState.VOID_REFUSED)),
            Order.void_queue.remove(),
            Order.void_next_at.remove(),
            Order.void_lease_until.remove(),
        ],
        condition=(Order.void_queue == VOID_FAILED) & (Order.version == order.version),
        actor=staff,
        action="void_accepted",
        summary=f"{len(pending)} ticket(s) left valid: {order.void_failure_reason or ''}",
        before={"void_queue": VOID_FAILED},
        after={"tickets": sorted(pending), "state": TicketState.VOID_REFUSED.value},
    ):
        raise Conflict("The order is no longer waiting on a failed void.")


@dataclass
class VoidSweepReport:
    voided: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0


def voids_sweep(*, now: datetime | None = None, limit: int = SWEEP_PAGE) -> VoidSweepReport:
    """Attempt the due voids, oldest due first (one Query of the sparse void-queue-index's
    ``due`` partition, never a Scan). Voids are rare (refunds): one page a run is plenty."""
    report = VoidSweepReport()
    current = now_or(now)
    for order in Order.void_index.query(
        VOID_DUE, Order.void_next_at <= iso_utc(current), limit=limit
    ):
        outcome = void_attempt(order_id=order.order_id, now=current, order=order)
        setattr(report, outcome, getattr(report, outcome) + 1)
    if any(vars(report).values()):
        logger.info("void sweep", extra={"report": vars(report)})
    return report
