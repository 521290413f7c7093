"""An event is canceled: its ticket type stops selling, every order holding it is refunded that
type's part (its tickets voided first), and its buyer is told. Started by finance from the
ticket type's page (``payments.admin``), after a dry run; then a resumable job.

Life of one cancellation (``payments.models.EventCancellation``, one per ticket type):

1. ``event_cancellation_preview`` walks the orders (below) and counts what would happen: the
   orders to refund and how much, the unpaid ones to cancel, the ones to wait for. Read-only.
2. ``event_cancellation_start`` writes the record (``attribute_not_exists``: a second start,
   a double click or a second member at the same time, finds the first and changes nothing),
   stops the sales (``orders.actions.event_sales_stop``: out of the catalog, refused by ``POST
   /orders``, never sold again), audits it on the ticket type, and asks for a first run.
3. ``event_cancellation_run`` (the async task, then every minute ``payments.jobs``) takes the
   record's lease (one run at a time), walks the orders placed from the type's first day to
   the day after the sales stopped (``orders.selectors.orders_of_day``: the orders' day index,
   never a Scan) and for each order holding the type does what ``orders.actions`` decides
   (``event_cancellation_step``): cancel an unpaid one whole (seats back); refund a paid one the
   type's part, capped by what is left, voiding the type's valid tickets first
   (``payments.services.refunds.refund_create``); wait for one whose tickets are being issued.
   Then it e-mails the buyer (``event_canceled``, once per order and type) and writes the
   order's outcome (``EventCancellationOrder``, once). The run stops before Lambda's timeout,
   when Stripe cannot be reached, and resumes at the first day not done (``cursor_day``).

Exactly once per order, whatever restarts: the refund's Stripe idempotency key and its
reservation on the payment are ``eventcancel:{sku}:{order_id}``; a run that died after the
refund finds it by that key on the payment and finishes the order (e-mail, outcome) without a
second refund; the outcome items are written with ``attribute_not_exists`` and only their
writer counts them. Within Stripe's limits: each refund takes a slot of the request budget
(``integrations.stripe_budget``), which gives money already moving priority over new
PaymentIntents; a 429 that comes anyway stops the run, and the next one resumes.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from core.audit import audit_record
from core.backoffice import EVENT_CANCEL_ORDER, EVENT_CANCELS_RUNNING
from core.dynamodb import condition_failed, utc_now_iso
from core.exceptions import NotFound, PaymentProviderUnavailable
from core.formatting import money_format
from core.jobs import task_dispatch
from orders import actions as order_actions
from orders.models import Order, TicketType
from orders.selectors import orders_of_day, ticket_type_get
from payments import selectors
from payments.models import (
    EventCancellation,
    EventCancellationOrder,
    EventCancellationStatus,
    Refund,
)
from payments.services.refunds import (
    RefundAmountInvalid,
    RefundNotAllowed,
    RefundRefused,
    refund_create,
    refund_left_of_order,
)

logger = logging.getLogger(__name__)

RUN_SECONDS = 20.0  # a run's budget: the back office's function times out at 30 s
LEASE_SECONDS = 60  # longer than a run: a run that died frees the job after this
PAGE = 100
WORKERS = 8  # orders handled at once in a run; Stripe's budget paces their refunds
REFUND_FAILED = "failed"


class Outcome:
    REFUNDED = "refunded"
    CANCELED = "canceled"
    NOTHING = "nothing"  # it held the type, but nothing of it was left to refund or cancel
    FAILED = "failed"  # Stripe refused the refund: staff decide (listed on the page)


def _days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _holds(order: Order, sku: str) -> bool:
    return any(item.sku == sku for item in order.items or [])


def _walk_range(ticket_type: TicketType) -> tuple[str, str]:
    """From the type's first day to the day after today (an order placed in the instant the
    sales stopped, across midnight, is still found)."""
    first = ticket_type.created_at[:10]
    return first, (date.fromisoformat(utc_now_iso()[:10]) + timedelta(days=1)).isoformat()


# --- The dry run ---------------------------------------------------------------------------


@dataclass
class EventCancellationPreview:
    orders_to_refund: int = 0
    amount: int = 0
    orders_to_cancel: int = 0
    orders_waiting: int = 0
    orders_read: int = 0
    complete: bool = True  # False: the walk ran out of time; the counts are a lower bound


def event_cancellation_preview(
    *, sku: str, budget_seconds: float = RUN_SECONDS
) -> EventCancellationPreview:
    """What canceling the event of ``sku`` would do now, read-only (the confirmation shows
    it). A walk longer than ``budget_seconds`` stops and says its counts are a lower bound."""
    ticket_type = ticket_type_get(sku=sku)
    if ticket_type is None:
        raise NotFound("No such ticket type.")
    preview = EventCancellationPreview()
    deadline = time.monotonic() + budget_seconds
    for day in _days(*_walk_range(ticket_type)):
        for order in orders_of_day(day=day, page_size=PAGE):
            if time.monotonic() > deadline:
                preview.complete = False
                return preview
            preview.orders_read += 1
            step = order_actions.event_cancellation_step(order, sku=sku)
            if step.kind == "cancel":
                preview.orders_to_cancel += 1
            elif step.kind == "wait":
                preview.orders_waiting += 1
            elif step.kind == "refund":
                amount = min(step.amount, refund_left_of_order(order=order))
                if amount > 0:
                    preview.orders_to_refund += 1
                    preview.amount += amount
    return preview


# --- Starting it -----------------------------------------------------------------------------


def event_cancellation_get(*, sku: str) -> EventCancellation | None:
    try:
        return EventCancellation.get(
            EventCancellation.key_for(sku), EventCancellation.sk.default, consistent_read=True
        )
    except EventCancellation.DoesNotExist:
        return None


def _event_cancellation(sku: str) -> EventCancellation:
    """The record a condition just said is there (records are never deleted)."""
    record = event_cancellation_get(sku=sku)
    if record is None:
        raise LookupError(f"event cancellation of {sku} vanished")
    return record


def event_cancellation_start(
    *, sku: str, staff: str, note: str = ""
) -> tuple[EventCancellation, bool]:
    """Cancel the event of ticket type ``sku``, as ``staff`` (finance): the record, the sales
    stopped, a first run asked for. Returns the record and whether this call started it (a
    second start finds the first)."""
    ticket_type = ticket_type_get(sku=sku)
    if ticket_type is None:
        raise NotFound("No such ticket type.")
    first, last = _walk_range(ticket_type)
    now = utc_now_iso()
    record = EventCancellation(
        pk=EventCancellation.key_for(sku),
        sku=sku,
        event_name=ticket_type.name,
        currency=ticket_type.currency,
        started_by=staff,
        started_at=now,
        note=note.strip()[:500] or None,
        first_day=first,
        last_day=last,
        cursor_day=first,
        gsi1pk=EVENT_CANCELS_RUNNING.pk(),
        gsi1sk=now,
    )
    try:
        record.save(condition=EventCancellation.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return _event_cancellation(sku), False
    # After the record: a start that dies here is finished by the next run (it stops the
    # sales again, harmlessly), never a type stopped with no one refunding its orders.
    order_actions.event_sales_stop(sku=sku, staff=staff)
    audit_record(
        staff=staff,
        object_type="orders.tickettype",
        object_id=sku,
        object_repr=ticket_type.name,
        action="cancel_event",
        summary="Event canceled: sales stopped; its orders are refunded and told",
        reason=note.strip()[:500],
    )
    logger.info("event cancellation started", extra={"sku": sku, "staff": staff})
    _dispatch(sku)
    return record, True


def _dispatch(sku: str) -> None:
    task_dispatch(event_cancellation_task, what="an event cancellation's run", sku=sku)


def event_cancellation_task(sku: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    event_cancellation_run(sku=sku)


# --- A run -------------------------------------------------------------------------------------


@dataclass
class RunReport:
    handled: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    stopped: str = ""  # why the run stopped before the end, in words; empty: it got through
    done: bool = False

    def count(self, outcome: str) -> None:
        self.handled[outcome] = self.handled.get(outcome, 0) + 1


def _lease(sku: str, now: float) -> EventCancellation | None:
    record = EventCancellation(pk=EventCancellation.key_for(sku))
    try:
        record.update(
            actions=[
                EventCancellation.lease_until.set(int(now) + LEASE_SECONDS),
                EventCancellation.runs.add(1),
                EventCancellation.last_run_at.set(utc_now_iso()),
            ],
            condition=(EventCancellation.status == EventCancellationStatus.RUNNING)
            & (
                EventCancellation.lease_until.does_not_exist()
                | (EventCancellation.lease_until < int(now))
            ),
        )
    except UpdateError as error:
        if condition_failed(error):
            return None  # done, or another run holds it
        raise
    return event_cancellation_get(sku=sku)


def _ours(order: Order, key: str) -> Refund | None:
    """This cancellation's refund of the order, if a run made (or reserved) it before."""
    if not order.payment_intent_id:
        return None
    payment = selectors.payment_get(payment_intent_id=order.payment_intent_id)
    return next((r for r in (payment.refunds if payment else []) if r.idempotency_key == key), None)


def _order_handle(record: EventCancellation, order: Order) -> tuple[str, int, str] | None:
    """Do what canceling the event does to ``order``: its outcome, amount and reason, or None
    to come back to it (being paid, or its tickets being issued)."""
    sku = record.sku
    key = f"eventcancel:{sku}:{order.order_id}"
    note = f"Event canceled: {record.event_name}"
    ours = _ours(order, key)
    if ours is not None and ours.status == REFUND_FAILED:
        return Outcome.FAILED, int(ours.amount), ours.failure_reason or "refused by Stripe"
    if ours is not None and ours.status != "reserved":
        order_actions.event_canceled_tell(
            order_id=order.order_id, sku=sku, refunded=int(ours.amount)
        )
        return Outcome.REFUNDED, int(ours.amount), ""
    step = order_actions.event_cancellation_step(order, sku=sku)
    if step.kind == "wait":
        return None
    if step.kind == "cancel":
        if order_actions.event_canceled_order_cancel(
            order_id=order.order_id, staff=record.started_by
        ):
            return Outcome.CANCELED, 0, ""
        return None
    if step.kind == "none" and ours is None:
        return Outcome.NOTHING, 0, ""
    # A refund: ours, reserved by a run that died before Stripe answered, is completed with
    # its amount; else the type's part, capped by what is left.
    amount = (
        int(ours.amount)
        if ours is not None
        else min(step.amount, refund_left_of_order(order=order))
    )
    if amount <= 0:
        return Outcome.NOTHING, 0, ""
    try:
        refund = refund_create(
            order_id=order.order_id,
            amount=amount,
            staff=record.started_by,
            note=note,
            idempotency_key=key,
            void_ticket_ids=list(step.ticket_ids),
        )
    except RefundRefused as refused:
        return Outcome.FAILED, amount, str(refused)[:200]
    except (RefundNotAllowed, RefundAmountInvalid):
        return Outcome.NOTHING, 0, ""
    if refund.status == REFUND_FAILED:
        return Outcome.FAILED, amount, "refused by Stripe"
    order_actions.event_canceled_tell(order_id=order.order_id, sku=sku, refunded=refund.amount)
    return Outcome.REFUNDED, refund.amount, ""


def _settle(record: EventCancellation, order_id: str, outcome: tuple[str, int, str]) -> bool:
    """Write the order's outcome once and count it; False if a run wrote it before."""
    kind, amount, reason = outcome
    try:
        EventCancellationOrder(
            pk=record.pk,
            sk=EventCancellationOrder.sk_for(order_id),
            order_id=order_id,
            outcome=kind,
            amount=amount,
            reason=reason or None,
            at=utc_now_iso(),
        ).save(condition=EventCancellationOrder.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    counter = {
        Outcome.REFUNDED: EventCancellation.orders_refunded,
        Outcome.CANCELED: EventCancellation.orders_canceled,
        Outcome.FAILED: EventCancellation.orders_failed,
    }.get(kind)
    if counter is not None:
        actions = [counter.add(1)]
        if kind == Outcome.REFUNDED:
            actions.append(EventCancellation.refunded_amount.add(amount))
        record.update(actions=actions)
    return True


def _settled(record: EventCancellation) -> set[str]:
    return {
        o.order_id
        for o in EventCancellationOrder.query(
            record.pk, EventCancellationOrder.sk.startswith(EVENT_CANCEL_ORDER.sk)
        )
    }


def event_cancellation_run(
    *, sku: str, budget_seconds: float = RUN_SECONDS, now: float | None = None
) -> RunReport:
    """One run of the job (see the module docstring): handle the type's orders, ``WORKERS``
    at a time (Stripe's budget paces the refunds), until the walk ends (then the cancellation
    is done), the budget runs out or Stripe cannot be reached."""
    report = RunReport()
    started = time.monotonic()
    record = _lease(sku, time.time() if now is None else now)
    if record is None:
        report.stopped = "not running, or another run holds it"
        return report
    order_actions.event_sales_stop(sku=sku, staff=record.started_by)  # a start that died
    settled = _settled(record)
    lock = threading.Lock()

    def handle(order: Order) -> bool:
        """One order; False if it is left for a later run (waiting, or the run stopping)."""
        if report.stopped or time.monotonic() - started > budget_seconds:
            with lock:
                report.stopped = report.stopped or "its time was up"
            return False
        try:
            outcome = _order_handle(record, order)
        except PaymentProviderUnavailable as unavailable:
            with lock:
                report.stopped = f"Stripe could not be reached ({unavailable.code})"
            return False
        if outcome is None:
            with lock:
                report.waiting += 1
            return False
        if _settle(record, order.order_id, outcome):
            with lock:
                report.count(outcome[0])
        return True

    cursor: str | None = None  # the first day found not done in this run
    with ThreadPoolExecutor(WORKERS) as pool:
        for day in _days(record.cursor_day, record.last_day):
            day_done = True
            batch: list[Order] = []
            for order in orders_of_day(day=day, page_size=PAGE):
                if order.order_id not in settled and _holds(order, sku):
                    batch.append(order)
                if len(batch) == PAGE:
                    day_done &= all(pool.map(handle, batch))
                    batch = []
                if report.stopped:
                    break
            if batch and not report.stopped:
                day_done &= all(pool.map(handle, batch))
            if report.stopped or not day_done:
                cursor = cursor or day.isoformat()
            if report.stopped:
                break
    _finish(record, cursor, report)
    return report


def _finish(record: EventCancellation, cursor: str | None, report: RunReport) -> None:
    actions: list[Any] = [
        EventCancellation.lease_until.remove(),
        EventCancellation.orders_waiting.set(report.waiting),
        EventCancellation.last_error.set(report.stopped) if report.stopped
        else EventCancellation.last_error.remove(),
    ]  # fmt: skip
    if cursor is None:  # every day walked, every order settled
        report.done = True
        actions += [
            EventCancellation.cursor_day.set(
                (date.fromisoformat(record.last_day) + timedelta(days=1)).isoformat()
            ),
            EventCancellation.status.set(EventCancellationStatus.DONE),
            EventCancellation.finished_at.set(utc_now_iso()),
            EventCancellation.gsi1pk.remove(),
            EventCancellation.gsi1sk.remove(),
        ]
    else:
        actions.append(EventCancellation.cursor_day.set(cursor))
    record.update(actions=actions)
    logger.info(
        "event cancellation run",
        extra={"sku": record.sku, "handled": report.handled, "waiting": report.waiting,
               "stopped": report.stopped, "done": report.done},
    )  # fmt: skip
    if report.done:
        final = _event_cancellation(record.sku)
        audit_record(
            staff=record.started_by,
            object_type="orders.tickettype",
            object_id=record.sku,
            object_repr=record.event_name,
            action="cancel_event_done",
            summary=(
                f"Event cancellation done: {int(final.orders_refunded)} orders refunded "
                f"({money_format(int(final.refunded_amount), final.currency)}), "
                f"{int(final.orders_canceled)} unpaid canceled, {int(final.orders_failed)} failed"
            ),
        )


def event_cancellations_running() -> list[EventCancellation]:
    """The cancellations not done yet (one Query of ``gsi1``), oldest first."""
    return list(EventCancellation.running_index.query(EVENT_CANCELS_RUNNING.pk()))


def event_cancellations_continue(*, budget_seconds: float = RUN_SECONDS) -> dict[str, RunReport]:
    """The every-minute job: a run of each cancellation not done, within the budget."""
    started = time.monotonic()
    reports = {}
    for record in event_cancellations_running():
        left = budget_seconds - (time.monotonic() - started)
        if left <= 1:
            break
        reports[record.sku] = event_cancellation_run(sku=record.sku, budget_seconds=left)
    return reports


def event_cancellation_failures(*, sku: str) -> list[EventCancellationOrder]:
    """The orders whose refund Stripe refused (for the ticket type's page)."""
    return [
        o
        for o in EventCancellationOrder.query(
            EventCancellation.key_for(sku),
            EventCancellationOrder.sk.startswith(EVENT_CANCEL_ORDER.sk),
        )
        if o.outcome == Outcome.FAILED
    ]
