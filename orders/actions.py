"""Every change of an order's state, decided here: the one module the other rooms call.

Others hand over *facts* (Saleor's ``order/actions.py`` is the model): the payments app says
what Stripe says, once, in neutral words ("the payment succeeded", "its refunds now add up to
this", "a dispute opened"), and staff and the jobs ask for what they want ("cancel", "expire
the stale ones", "retry the tickets"). What follows for the order (paid and its seats sold,
fulfillment started, a mark in the needs-attention queue, an alarm) is decided here and only
here. The writes themselves are the conditional transitions below this module:

    orders.actions                      decisions, the public entry points
      ├─ orders.services.transitions    one conditional write per state change, audited
      ├─ orders.services.fulfillment    the tickets: start, retry, attempts, sweeper
      ├─ orders.services.voids          the tickets voided at the vendor when money goes back
      └─ orders.services.attention      the needs-attention mark and reinstating

Two rules have their one definition here: which orders staff may refund (``refund_offered``,
``refund_allowed``); the amount left to refund is the payment's (``payments.services.refunds``
``refund_left_of_order``), since only the payment knows what is reserved.

Tickets follow the money (``tickets_void`` and the facts below): a full refund, a lost
dispute, the tickets staff pick on a partial refund are voided at the vendor. The order of the
two, for a refund staff make: the void is *asked for* first (recorded on the order, queued,
its vendor call dispatched), then the refund is sent to Stripe, as pretix cancels before it
refunds. A voided ticket is never un-voided: if Stripe then refuses the refund, the tickets
stay void, the refund shows as failed on the order and staff refund again. If the vendor
refuses the void (a ticket already scanned) or keeps failing, the refund stands (the money is
the buyer's once staff decided) and the order waits in the needs-attention queue ("tickets
not voided", with the vendor's reason) for staff to retry or accept. A refund made in
Stripe's dashboard or a lost dispute moves the money first; the void follows from the fact.

Nothing here talks to Stripe. The one thing a cancellation needs of payments (cancel the
PaymentIntent first) goes through ``orders.payment_port``; when Stripe answers that the payment
was taken after all, the port says so (``PaymentTaken``) and the order is paid here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.audit import SYSTEM_BACKOFFICE, SYSTEM_SCHEDULER, SYSTEM_STRIPE
from core.config import parameters_get
from core.dynamodb import iso_utc, utc_now
from core.exceptions import Conflict, NotFound
from core.formatting import money_format
from core.logging import log_item
from core.metrics import metric_emit
from orders.models import (
    DISPUTE_OPEN,
    ORDERS_BY_STATUS,
    REFUNDABLE,
    AttentionReason,
    BuyerEmailKind,
    FulfillmentStatus,
    Order,
    OrderStatus,
    TicketState,
)
from orders.payment_port import PaymentMoving, PaymentTaken, payment_gateway
from orders.selectors import order_get
from orders.services import transitions
from orders.services.attention import (
    OrderNotReinstatable,
    order_attention_clear,
    order_attention_set,
)
from orders.services.attention import order_reinstate as _order_reinstate
from orders.services.buyer_mail import buyer_email_queue
from orders.services.customers import customer_contact_change
from orders.services.fulfillment import fulfillment_retry_now, fulfillment_start
from orders.services.ticket_types import ticket_type_sales_stop
from orders.services.voids import tickets_void_request, void_accept, void_retry

logger = logging.getLogger(__name__)

__all__ = [
    "CANCEL_REASONS",
    "REFUNDABLE",
    "Applied",
    "EventCancellationStep",
    "ExpiryReport",
    "OrderBeingPaid",
    "OrderNotCancelable",
    "OrderNotReinstatable",
    "buyer_contact_change",
    "dispute_decided",
    "dispute_opened",
    "event_canceled_order_cancel",
    "event_canceled_tell",
    "event_cancellation_step",
    "event_sales_stop",
    "fulfillment_retry",
    "order_cancel",
    "order_reinstate",
    "orders_expire",
    "payment_canceled",
    "payment_succeeded",
    "refund_allowed",
    "refund_offered",
    "refund_unconfirmed",
    "refunds_changed",
    "tickets_void",
    "void_accept",
    "void_retry",
]


@dataclass
class Applied:
    """What a fact did to its order: ``changes`` in words staff read ("marked paid, its seats
    sold"), empty when the order was past it already (a repeated or late fact). ``paid``: this
    fact paid the order."""

    order: Order
    changes: list[str] = field(default_factory=list)
    paid: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _order(order_id: str) -> Order:
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


# --- Refund eligibility (the one definition) ----------------------------------------------


def refund_offered(order: Order) -> bool:
    """Whether the order page offers staff a refund: paid, whatever happened to its tickets
    since, and not refunded in full. (A canceled order whose payment went through anyway is
    refunded from the needs-attention queue, where it is listed.)"""
    return order.status in REFUNDABLE


def refund_allowed(order: Order, *, payment_succeeded: bool) -> bool:
    """Whether a refund of the order may be sent to Stripe: offered (``refund_offered``), or
    canceled with its payment taken anyway; and the payment succeeded."""
    if not order.payment_intent_id or not payment_succeeded:
        return False
    return refund_offered(order) or order.status == OrderStatus.CANCELED


# --- Facts from the payments app ----------------------------------------------------------


def payment_succeeded(
    *,
    order_id: str,
    actor: str,
    first_news: bool,
    payment_record: Callable[[], bool] | None = None,
) -> Applied:
    """The order's payment succeeded. The order is paid (its held seats sold) and its tickets
    asked for; a payment for an order canceled meanwhile puts it in the needs-attention queue
    (staff refund it: the seats are gone).

    ``first_news``: the payments app had not recorded this success before. Then, while the
    order still awaits payment, it is first marked "pending with a succeeded payment", so an
    order that something stops from paying below (a crash, a timeout) shows in the queue until
    a later sync pays it (paying clears the mark). ``payment_record``: the payments app's own
    record of the success, run after that mark and before the order is paid (True if it wrote
    something); the payment is on record even when the order no longer takes it."""
    applied = Applied(_order(order_id))
    order = applied.order
    if first_news and order.status == OrderStatus.PENDING_PAYMENT:
        order_attention_set(
            order_id=order_id,
            reason=AttentionReason.PENDING_SUCCEEDED,
            order=order,
            only_pending=True,
        )
    if payment_record is not None and payment_record():
        applied.changes.append("payment recorded as succeeded")
    outcome = transitions.order_mark_paid(order_id=order_id, actor=actor, order=order)
    applied.order = outcome.order
    if outcome.changed:
        applied.paid = True
        metric_emit("PaymentsSucceeded")
        logger.info("order paid", extra={"order_id": order_id, "actor": actor})
        applied.changes.append("marked paid, its seats sold")
    if applied.order.status != OrderStatus.CANCELED and applied.order.status != (
        OrderStatus.PENDING_PAYMENT
    ):
        # Once per order (the record's key): also when a run died between paying and this.
        buyer_email_queue(order_id=order_id, kind=BuyerEmailKind.CONFIRMATION)
    # Also when it was paid already: a run that died between paying and starting fulfillment
    # must still start it (the start is conditional, the vendor call idempotent).
    if (
        applied.order.status == OrderStatus.PAID
        and applied.order.fulfillment_status == FulfillmentStatus.NOT_STARTED
        and fulfillment_start(order_id=order_id)
    ):
        applied.changes.append("fulfillment started")
    return applied


def payment_canceled(
    *, order_id: str, actor: str = SYSTEM_STRIPE, reason: str = "payment_intent_canceled"
) -> Applied:
    """The order's payment was canceled at Stripe: an order still awaiting payment is canceled,
    its seats back. A paid order is never un-paid."""
    outcome = transitions.order_mark_canceled(order_id=order_id, reason=reason, actor=actor)
    return Applied(outcome.order, ["canceled, its seats released"] if outcome.changed else [])


def refunds_changed(
    *,
    order_id: str,
    refunded_total: int,
    refunds_version: int,
    actor: str,
    awaiting_answer: bool,
) -> Applied:
    """The payment's refunds now add up to ``refunded_total`` (minor units), as of version
    ``refunds_version`` of the payment's record (an older reading never overwrites a newer one:
    a refund failing later lowers the total). The order becomes ``partially_refunded`` or
    ``refunded``, or back to its paid status; a canceled one stays canceled. Once no refund
    awaits Stripe's answer (``awaiting_answer`` False) it leaves the queue's "refund not
    confirmed"."""
    outcome = transitions.order_record_refund(
        order_id=order_id,
        refunded_total=refunded_total,
        refunds_version=refunds_version,
        actor=actor,
    )
    applied = Applied(outcome.order)
    if outcome.changed:
        order = outcome.order
        applied.changes.append(
            f"refunds recorded ({money_format(int(order.refunded_amount or 0), order.currency)}"
            " refunded in all)"
        )
    refunded = int(outcome.order.refunded_amount or 0)
    if outcome.changed and refunded > 0:
        # Once per refunded total: a second partial refund is news, a repeated fact is not.
        buyer_email_queue(order_id=order_id, kind=BuyerEmailKind.REFUND, refund_total=refunded)
    if outcome.order.attention == AttentionReason.REFUND_MISMATCH and not awaiting_answer:
        order_attention_clear(order_id=order_id, reason=AttentionReason.REFUND_MISMATCH)
    if outcome.order.status == OrderStatus.REFUNDED and _has_valid_tickets(outcome.order):
        # Refunded in full: no ticket of it may open the gate (a no-op once asked).
        voided = tickets_void_request(
            order_id=order_id, ticket_ids=None, actor=actor, reason="refund"
        )
        if voided:
            applied.changes.append(f"{voided} ticket{'s' if voided != 1 else ''} to void")
    return applied


def _has_valid_tickets(order: Order) -> bool:
    return any(t.current_state == TicketState.VALID for t in order.tickets or [])


def tickets_void(*, order_id: str, ticket_ids: list[str] | None, staff: str, reason: str) -> int:
    """Void tickets of the order at the vendor (None: every valid one), asked for now and
    retried by the sweeper; how many were newly asked for. Staff's partial refund calls it
    with the tickets picked on the confirmation, *before* the refund goes to Stripe (see the
    module docstring for that order and what happens when one side fails)."""
    return tickets_void_request(
        order_id=order_id, ticket_ids=ticket_ids, actor=staff, reason=reason
    )


def refund_unconfirmed(*, order_id: str) -> None:
    """A refund was asked of Stripe and its answer never came (Stripe unreachable): the order
    waits in the needs-attention queue until a retry or a sync records what Stripe did."""
    order_attention_set(order_id=order_id, reason=AttentionReason.REFUND_MISMATCH)


def dispute_opened(
    *,
    order_id: str,
    actor: str,
    dispute_id: str | None = None,
    dispute_status: str | None = None,
    evidence_due_by: str | None = None,
    dispute_reason: str | None = None,
) -> Applied:
    """A dispute of the order's charge is open (or its details changed): the order is flagged
    with Stripe's dispute id and the date its evidence is due, and an alarm's metric counts it
    the first time."""
    outcome = transitions.order_flag_dispute(
        order_id=order_id,
        actor=actor,
        dispute_id=dispute_id,
        dispute_status=dispute_status,
        evidence_due_by=evidence_due_by,
    )
    if not outcome.changed:
        return Applied(outcome.order)
    metric_emit("Disputes")
    logger.warning(
        "charge disputed: answer it in Stripe before the deadline",
        extra={"order_id": order_id, "dispute_reason": dispute_reason},
    )
    return Applied(outcome.order, ["dispute flagged: answer it in Stripe"])


def dispute_decided(*, order_id: str, dispute_status: str, actor: str) -> Applied:
    """Stripe decided the dispute (``won``, ``lost``...): the order leaves the open disputes."""
    outcome = transitions.order_close_dispute(
        order_id=order_id, dispute_status=dispute_status, actor=actor
    )
    words = [f"dispute closed in Stripe ({dispute_status})"] if outcome.changed else []
    if dispute_status == "lost" and _has_valid_tickets(outcome.order):
        # The money went back to the buyer's bank: the tickets go too.
        voided = tickets_void_request(
            order_id=order_id, ticket_ids=None, actor=actor, reason="dispute_lost"
        )
        if voided:
            words.append(f"{voided} ticket{'s' if voided != 1 else ''} to void")
    return Applied(outcome.order, words)


def dispute_is_open(order: Order) -> bool:
    """Whether the order is flagged with an open dispute."""
    return order.dispute_flag == DISPUTE_OPEN


# --- Staff and the jobs --------------------------------------------------------------------

# Why staff cancel an unpaid order (Stripe's ``cancellation_reason`` values staff may give), in
# words; the audit entry keeps these words and staff's note.
CANCEL_REASONS = transitions.CANCEL_REASONS


class OrderNotCancelable(Conflict):
    code = "order_not_cancelable"
    message = "Only an order awaiting payment can be canceled."


class OrderBeingPaid(Conflict):
    code = "order_being_paid"
    message = "The order's payment has gone through or is in progress; it cannot be canceled."

    def __init__(self, *args: object, taken: PaymentTaken | None = None) -> None:
        super().__init__(*args)
        self.taken = taken


def _payment_intent_cancel(order: Order) -> None:
    """Cancel the order's payment first (through the payments app), or raise
    ``OrderBeingPaid`` if money moves (with ``taken`` when Stripe says it was taken)."""
    if not order.payment_intent_id:
        return
    try:
        payment_gateway().payment_cancel(
            order_id=order.order_id, payment_intent_id=order.payment_intent_id
        )
    except PaymentTaken as taken:
        raise OrderBeingPaid(taken=taken) from None
    except PaymentMoving:
        raise OrderBeingPaid() from None


def order_cancel(
    *, order_id: str, staff: str | None = None, reason: str, note: str = ""
) -> transitions.Outcome:
    """Cancel an unpaid order: its PaymentIntent in Stripe first, then the order, its seats
    back. Raises ``OrderNotCancelable`` past payment and ``OrderBeingPaid`` if a payment landed
    or is in progress. Canceling a canceled order changes nothing. ``reason`` (a key of
    ``CANCEL_REASONS`` or a short text) and ``note`` (staff's words, never logged) go to the
    audit entry."""
    order = _order(order_id)
    if order.status == OrderStatus.CANCELED:
        return transitions.Outcome(False, order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise OrderNotCancelable()
    _payment_intent_cancel(order)
    if transitions.order_cancel_write(
        order, reason=reason, actor=staff or SYSTEM_BACKOFFICE, action="cancel", note=note.strip()
    ):
        buyer_email_queue(order_id=order_id, kind=BuyerEmailKind.CANCELLATION)
        return transitions.Outcome(True, _order(order_id))
    order = _order(order_id)
    if order.status not in {OrderStatus.CANCELED, OrderStatus.PENDING_PAYMENT}:
        raise OrderNotCancelable()
    return transitions.Outcome(False, order)


@dataclass
class ExpiryReport:
    expired: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)  # paid in Stripe, webhook missing: applied
    left_for_payment: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


# How often the scheduled expiry runs (``zappa_settings.json``, ``expire-orders``): the hold
# is when a cart's seats are back on sale at the latest, so the sweep takes every cart whose
# hold ends before the next sweep (tests/deploy checks the schedule says the same).
EXPIRY_EVERY_MINUTES = 1


def orders_expire(
    *,
    older_than_minutes: float | None = None,
    every_minutes: float = 0,
    limit: int = 500,
) -> ExpiryReport:
    """Cancel pending orders whose hold has run out: PaymentIntent canceled in Stripe, then the
    order, seats back.

    The hold is the on-sale's (``hold_minutes``, set by staff when they open it) for an order
    holding a ticket type on sale through a line, the shortest of them when it holds several,
    and SSM ``order_expiry_minutes`` for the others; ``older_than_minutes`` (a run by hand)
    overrides both.

    ``every_minutes``: how often this runs. The hold is the longest a cart keeps its seats,
    so a run takes the carts whose hold ends before the next run (those older than the hold
    less one period): every abandoned cart's seats are back within its hold, and a buyer has
    at least the hold less one period to pay (the scheduled job passes
    ``EXPIRY_EVERY_MINUTES``; a run by hand, none).

    Finds them with a Query of each shard of ``order-status-index``'s ``pending_payment``,
    merged oldest first, down to the shortest hold an on-sale may have, never a Scan; an order whose own hold is
    longer is passed over (``limit`` counts the orders expired, not the ones read). Safe to
    run concurrently with itself and with a late payment: a payment that landed makes Stripe
    refuse the cancel, the port says the payment was taken (``PaymentTaken``) and the order is
    paid then and there (``payment_succeeded``, the same conditional writes as its webhook),
    so whichever comes first pays the order and the other changes nothing."""
    now = utc_now()
    holds = ExpiryHolds.current(older_than_minutes)
    report = ExpiryReport()
    candidates = ORDERS_BY_STATUS.query(
        OrderStatus.PENDING_PAYMENT.value,
        range_key_condition=Order.created_at < holds.cutoff(now, holds.shortest, every_minutes),
    )
    for stale in candidates:
        if len(report.expired) + len(report.failed) >= limit:
            break
        cutoff = holds.cutoff(now, holds.of(stale), every_minutes)
        if stale.created_at >= cutoff:
            continue  # its own hold is longer
        with log_item(stale.order_id):
            _order_expire_one(stale.order_id, cutoff=cutoff, report=report)
    return report


# The shortest hold an on-sale may have (the admin's form and ``onsale_open``'s callers).
ONSALE_HOLD_MIN_MINUTES = 1


@dataclass(frozen=True)
class ExpiryHolds:
    """How long a cart holds its seats: ``default`` minutes, or its on-sale's (read per sku,
    once a run, with a GetItem of the line: the public function may read those items, not the
    index that lists every line)."""

    default: float
    override: bool = False
    onsales: dict[str, float | None] = field(default_factory=dict)  # sku -> hold, read so far

    @classmethod
    def current(cls, older_than_minutes: float | None = None) -> ExpiryHolds:
        if older_than_minutes is not None:
            return cls(default=older_than_minutes, override=True)
        return cls(default=parameters_get().order_expiry_minutes)

    @property
    def shortest(self) -> float:
        return self.default if self.override else min(self.default, ONSALE_HOLD_MIN_MINUTES)

    def of(self, order: Order) -> float:
        if self.override:
            return self.default
        from orders.services.line import onsale_hold

        for item in order.items:
            if item.sku not in self.onsales:
                self.onsales[item.sku] = onsale_hold(sku=item.sku)
        holds = [hold for item in order.items if (hold := self.onsales[item.sku]) is not None]
        return min(holds) if holds else self.default

    @staticmethod
    def cutoff(now: datetime, minutes: float, every_minutes: float) -> str:
        return iso_utc(now - timedelta(minutes=max(0.0, minutes - every_minutes)))


def _order_expire_one(order_id: str, *, cutoff: str, report: ExpiryReport) -> None:
    """Expire one order of the sweep (created before ``cutoff``, its hold's end), its outcome
    added to ``report``."""
    try:
        # The index is eventually consistent: decide on the order as it is now.
        order = _order(order_id)
        if order.status != OrderStatus.PENDING_PAYMENT or order.created_at >= cutoff:
            return
        _payment_intent_cancel(order)
        if transitions.order_cancel_write(
            order, reason="expired", actor=SYSTEM_SCHEDULER, action="expire", cutoff=cutoff
        ):
            report.expired.append(order_id)
    except OrderBeingPaid as being_paid:
        _order_expire_paid(order_id, being_paid, report=report)
    except Exception:
        # One bad order must not stop the others; the next run retries it.
        logger.exception("order expiry failed")
        report.failed.append(order_id)


def _order_expire_paid(order_id: str, being_paid: OrderBeingPaid, *, report: ExpiryReport) -> None:
    """The sweep met a payment: taken, pay the order now (seats sold, fulfillment started)
    rather than wait for a webhook that may never come; still processing, leave it for its
    outcome. A failure here (DynamoDB timing out) is this order's alone: the next run
    retries it, the sweep goes on."""
    try:
        taken = being_paid.taken
        if (
            taken is not None
            and payment_succeeded(
                order_id=order_id, actor=SYSTEM_SCHEDULER, first_news=taken.first_news
            ).changed
        ):
            report.paid.append(order_id)
        else:
            report.left_for_payment.append(order_id)
    except Exception:
        logger.exception("paying an order the expiry found paid failed")
        report.failed.append(order_id)


def fulfillment_retry(*, order_id: str, staff: str) -> None:
    """Staff ask for the order's tickets now: a failed fulfillment starts again, a waiting one
    is attempted at once (``orders.services.fulfillment.fulfillment_retry_now``)."""
    fulfillment_retry_now(order_id=order_id, staff=staff)


def buyer_contact_change(
    *, order_id: str, email: str, name: str, staff: str, reason: str, submission_id: str
) -> bool:
    """Staff correct the buyer's e-mail or name from an order
    (``orders.services.customers.customer_contact_change``: audited, the e-mail's claim moved
    in the same transaction; an address another customer holds is refused). A new address
    gets the order's confirmation again. True if the e-mail changed.

    The vendor's tickets carry no name or address (``{ticket_id, sku, code}``), so the vendor
    has nothing to be told; a vendor whose tickets print the holder's name would get its
    update here."""
    _customer, email_changed = customer_contact_change(
        order_id=order_id, email=email, name=name, staff=staff, reason=reason
    )
    order = _order(order_id)
    if email_changed and order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELED):
        buyer_email_queue(
            order_id=order_id,
            kind=BuyerEmailKind.CONFIRMATION,
            resend=f"contact-{submission_id}",
            requested_by=staff,
        )
    return email_changed


def order_reinstate(*, order_id: str, staff: str) -> bool:
    """A canceled order whose payment went through anyway is paid again, if its seats can be
    taken back (``orders.services.attention.order_reinstate``). False if nothing changed."""
    return _order_reinstate(order_id=order_id, staff=staff)


# --- An event canceled (``payments.services.event_cancellation`` runs it) -------------------

EVENT_CANCELED_REASON = "The event is canceled"


@dataclass(frozen=True)
class EventCancellationStep:
    """What canceling the event of one ticket type does to one order.

    ``kind``: ``cancel`` (unpaid: the order is canceled, its seats back, no money moved);
    ``refund`` (paid: ``amount``, the type's part, is refunded, capped by what is left, and
    ``ticket_ids``, the type's valid tickets, are voided first); ``wait`` (its tickets are being
    issued: come back, so a ticket issued later is not left valid); ``none`` (it does not hold
    the type, or nothing of it is left: canceled or refunded already)."""

    kind: str
    amount: int = 0
    ticket_ids: tuple[str, ...] = ()


def event_sales_stop(*, sku: str, staff: str) -> bool:
    """The event of ``sku`` is canceled: the type is never sold again (out of the catalog,
    refused by ``POST /orders``). True the first time."""
    return ticket_type_sales_stop(sku=sku, staff=staff)


def event_cancellation_step(order: Order, *, sku: str) -> EventCancellationStep:
    items = [item for item in order.items or [] if item.sku == sku]
    if not items:
        return EventCancellationStep("none")
    if order.status == OrderStatus.PENDING_PAYMENT:
        return EventCancellationStep("cancel")
    if order.status == OrderStatus.PAID and order.fulfillment_status in (
        FulfillmentStatus.NOT_STARTED,
        FulfillmentStatus.PENDING,
    ):
        return EventCancellationStep("wait")
    if order.status not in REFUNDABLE:
        return EventCancellationStep("none")
    valid = tuple(
        t.ticket_id
        for t in order.tickets or []
        if t.sku == sku and t.current_state == TicketState.VALID
    )
    return EventCancellationStep("refund", sum(int(i.amount) for i in items), valid)


def event_canceled_order_cancel(*, order_id: str, staff: str) -> bool:
    """An unpaid order holding the canceled type is canceled whole (its seats back; the buyer
    gets the cancellation e-mail and may order the other types again). False while a payment
    lands or is in progress: the job comes back to it."""
    try:
        order_cancel(order_id=order_id, staff=staff, reason=EVENT_CANCELED_REASON)
    except OrderBeingPaid:
        return False
    return True


def event_canceled_tell(*, order_id: str, sku: str, refunded: int) -> bool:
    """Tell the buyer their event is canceled and what is refunded, once per order and type."""
    return buyer_email_queue(
        order_id=order_id, kind=BuyerEmailKind.EVENT_CANCELED, about=sku, refund_total=refunded
    )
