"""The conditional writes under ``orders.actions``: paid, canceled, expired, refunded,
disputed. ``orders.actions`` decides which to make; nothing outside ``orders`` calls these.

Every change is one conditional write on the state it leaves (``status == "pending_payment"``
to pay or cancel, a refundable status to refund), so two writers can never both win and a late
or repeated event never moves an order backwards: its condition fails and that is the "someone
else got there first" branch, answered with ``changed=False``. Seats go back to their ticket
types in the same transaction as the cancellation that frees them. The version is bumped on
every change, so a staff edit made from a stale read is refused rather than overwriting ours.

Order of operations with Stripe, on purpose: a cancellation (by staff or by expiry) cancels the
PaymentIntent in Stripe *before* writing (``orders.actions``). Once Stripe has canceled it, no
payment can land; if a payment landed first, Stripe refuses the cancel and the payment wins.

Every change that happens also leaves its audit entry (``core.audit``) in the same write:
who (the staff member, or Stripe, the scheduler), what, before and after, and why. A repeated
event whose condition fails records nothing, so an order's story has each change once.

This module does not talk HTTP, calls no partner and never imports the payments app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from core.audit import SYSTEM_STRIPE
from core.dynamodb import utc_now_iso
from core.exceptions import NotFound
from core.formatting import money_format
from core.metrics import metric_emit
from orders.models import (
    DISPUTE_CLOSED,
    DISPUTE_OPEN,
    REFUNDABLE,
    AttentionReason,
    FulfillmentStatus,
    Order,
    OrderStatus,
)
from orders.selectors import order_get
from orders.services.attention import order_attention_set
from orders.services.changes import order_change
from orders.services.seats import seats_give_back

logger = logging.getLogger(__name__)

# Where a refund (or a refund failing) may be recorded: refundable, fully refunded, or
# canceled (money taken after the order expired, then refunded).
REFUND_RECORDABLE = frozenset(
    {*(s.value for s in REFUNDABLE), OrderStatus.REFUNDED.value, OrderStatus.CANCELED.value}
)


@dataclass
class Outcome:
    """What a transition did: ``changed`` is False when the order was already past it."""

    changed: bool
    order: Order


# --- Helpers -------------------------------------------------------------------------------


def _order_get(order_id: str) -> Order:
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


def _update(
    order: Order,
    changes: dict[str, Any],
    condition,
    *,
    actor: str,
    action: str,
    summary: str,
    reason: str = "",
    bookkeeping: dict[str, Any] | None = None,
) -> bool:
    """One conditional change of ``order`` (attribute name -> new value; None removes it) and
    its audit entry, in one transaction; False when the condition failed (nothing written). On
    success ``order`` holds the values written. ``bookkeeping``: attributes written with it but
    left out of the audit entry (internal counters staff have no use for in History)."""
    written = {**changes, **(bookkeeping or {})}
    if "status" in changes:  # its index key follows it
        written["status_key"] = Order.status_key_for(
            order_id=order.order_id, status=changes["status"]
        )
    changed = order_change(
        order,
        actions=[
            getattr(Order, name).remove() if value is None else getattr(Order, name).set(value)
            for name, value in written.items()
        ],
        condition=condition,
        actor=actor,
        action=action,
        summary=summary,
        reason=reason,
        before={name: getattr(order, name) for name in changes},
        after=changes,
    )
    if changed:
        for name, value in written.items():
            setattr(order, name, value)
    return changed


# --- Payment -------------------------------------------------------------------------------


def order_mark_paid(
    *, order_id: str, actor: str = SYSTEM_STRIPE, order: Order | None = None
) -> Outcome:
    """``pending_payment`` -> ``paid``: the seats held become sold. Idempotent; a payment for an
    order already canceled never revives the order (the caller, a webhook handler, has recorded
    it on the payment item first: staff must refund it). ``order``: as the caller just read it,
    to save a read (the write's condition is on the status: a stale copy cannot pay it twice)."""
    order = order or _order_get(order_id)
    changed = _update(
        order,
        {"status": OrderStatus.PAID.value, "seats_held": False},
        Order.status == OrderStatus.PENDING_PAYMENT.value,
        actor=actor,
        action="paid",
        summary="Payment succeeded",
        # Paying takes it out of the needs-attention queue ("pending with a succeeded payment").
        bookkeeping={"attention": None},
    )
    if changed:
        _daily_totals_add(revenue=int(order.total_amount), currency=order.currency)
    if not changed:
        order = _order_get(order_id)
        if order.status == OrderStatus.CANCELED and order_attention_set(
            order_id=order_id,
            reason=AttentionReason.PAID_CANCELED,
            order=order,
            unless_refunded=True,
        ):
            # Money taken for an order that no longer holds seats: an alarm watches this
            # metric, and staff refund it from the admin (the payment is recorded).
            metric_emit("PaymentsOnCanceledOrders")
            logger.error(
                "payment succeeded for a canceled order: refund it",
                extra={"order_id": order_id, "payment_intent_id": order.payment_intent_id},
            )
    return Outcome(changed, order)


# --- Cancellation and expiry ---------------------------------------------------------------


def order_cancel_write(
    order: Order,
    *,
    reason: str,
    actor: str,
    action: str,
    cutoff: str | None = None,
    note: str = "",
) -> bool:
    """The cancellation itself: status, seats back, and the audit entry, in one transaction;
    False when the order no longer awaits payment (or, with ``cutoff``, is younger). Whether to
    cancel, and the PaymentIntent's cancel before it, is ``orders.actions``'s decision."""
    condition = Order.status == OrderStatus.PENDING_PAYMENT.value
    if not order.payment_intent_id:
        # A deferred order whose buyer pressed "Pay" since it was read has a PaymentIntent
        # now, which must be canceled first: not this write's to decide.
        condition &= Order.payment_intent_id.does_not_exist()
    if cutoff is not None:  # expiry: only if the order is really that old
        condition &= Order.created_at < cutoff
    held = bool(order.seats_held)

    def seats_back(writes: TransactWrite) -> None:
        if held:
            seats_give_back(writes, items=order.items)

    if not order_change(
        order,
        actions=[
            *Order.status_actions(order_id=order.order_id, status=OrderStatus.CANCELED.value),
            Order.seats_held.set(False),
        ],
        condition=condition,
        actor=actor,
        action=action,
        summary="Order expired unpaid" if action == "expire" else "Order canceled",
        reason=": ".join(part for part in (CANCEL_REASONS.get(reason, reason), note) if part),
        before={"status": order.status, "seats_held": held},
        after={"status": OrderStatus.CANCELED.value, "seats_held": False},
        extra=seats_back,
    ):
        return False
    logger.info(
        "order canceled", extra={"order_id": order.order_id, "reason": reason, "actor": actor}
    )
    return True


# Why staff cancel an unpaid order (Stripe's ``cancellation_reason`` values staff may give), in
# words; the audit entry keeps these words and staff's note.
CANCEL_REASONS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate order",
    "fraudulent": "Fraudulent",
    "abandoned": "Abandoned by the buyer",
}


def order_mark_canceled(*, order_id: str, reason: str, actor: str = SYSTEM_STRIPE) -> Outcome:
    """The PaymentIntent was canceled in Stripe (its webhook): cancel the order if it still
    awaits payment. Makes no Stripe call."""
    order = _order_get(order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return Outcome(False, order)
    changed = order_cancel_write(order, reason=reason, actor=actor, action="cancel")
    return Outcome(changed, order if not changed else _order_get(order_id))


def _daily_totals_add(*, revenue: int, currency: str) -> None:
    """The dashboard's counters, after the conditional write that made the change (so once per
    change). Best effort: a lost increment is repaired by ``daily_totals_rebuild``."""
    from orders.daily_totals import daily_totals_record

    try:
        daily_totals_record(day=utc_now_iso()[:10], revenue=revenue, currency=currency)
    except PynamoDBException:
        logger.exception("daily totals not updated; run daily_totals_rebuild")


# --- Refunds and disputes ------------------------------------------------------------------


def _paid_status(order: Order) -> OrderStatus:
    """The status a paid order has when nothing of it is refunded (a refund failed later)."""
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        return OrderStatus.FULFILLED
    if order.fulfillment_status == FulfillmentStatus.FAILED:
        return OrderStatus.FULFILLMENT_FAILED
    return OrderStatus.PAID


def order_record_refund(
    *,
    order_id: str,
    refunded_total: int,
    refunds_version: int | None = None,
    actor: str = SYSTEM_STRIPE,
) -> Outcome:
    """Record that ``refunded_total`` (cumulative, minor units) is refunded: the order becomes
    ``refunded`` or ``partially_refunded`` (a canceled order, refunded because money was taken
    anyway, stays ``canceled``).

    ``refunds_version``: the version of the payment record the total was read from. The write
    is conditioned on it growing, so an older reading never overwrites a newer one; that is
    what lets a total go *down* (a refund that failed after Stripe had accepted it), back to
    ``partially_refunded`` or the paid status. Without it (old callers) the total only grows."""
    order = _order_get(order_id)
    total = max(0, min(refunded_total, int(order.total_amount)))
    if order.status == OrderStatus.CANCELED:
        status = OrderStatus.CANCELED
    elif total >= order.total_amount:
        status = OrderStatus.REFUNDED
    elif total > 0:
        status = OrderStatus.PARTIALLY_REFUNDED
    else:
        status = _paid_status(order)
    before = int(order.refunded_amount or 0)
    if total == before and (status == order.status or refunds_version is None):
        return Outcome(False, order)
    changes: dict[str, Any] = {"status": status.value, "refunded_amount": total}
    bookkeeping: dict[str, Any] = {}
    if refunds_version is not None:
        bookkeeping["refunds_version"] = refunds_version
    if (
        status == OrderStatus.CANCELED
        and total >= order.total_amount
        and order.attention == AttentionReason.PAID_CANCELED
    ):
        bookkeeping["attention"] = None  # the money went back: resolved
    condition = Order.status.is_in(*REFUND_RECORDABLE)
    if refunds_version is not None:
        condition &= Order.refunds_version.does_not_exist() | (
            Order.refunds_version < refunds_version
        )
    else:
        condition &= Order.refunded_amount.does_not_exist() | (Order.refunded_amount < total)
    if status == OrderStatus.CANCELED:
        condition &= Order.status == OrderStatus.CANCELED.value
    else:
        condition &= Order.status != OrderStatus.CANCELED.value
    of = money_format(int(order.total_amount), order.currency)
    changed = _update(
        order,
        changes,
        condition,
        actor=actor,
        action="refunded",
        summary=(
            f"Refunded {money_format(total, order.currency)} of {of}"
            if total >= before
            else f"A refund failed: refunded now {money_format(total, order.currency)} of {of}"
        ),
        bookkeeping=bookkeeping,
    )
    if changed and status != OrderStatus.CANCELED:
        # (A canceled order's payment never counted as revenue: its refund takes none back.)
        _daily_totals_add(revenue=-(total - before), currency=order.currency)
    return Outcome(changed, order if changed else _order_get(order_id))


def order_flag_dispute(
    *,
    order_id: str,
    actor: str = SYSTEM_STRIPE,
    dispute_id: str | None = None,
    dispute_status: str | None = None,
    evidence_due_by: str | None = None,
) -> Outcome:
    """A dispute is open: flag the order (a flag, not a state) with Stripe's dispute id and the
    date its evidence is due. Idempotent; a later reading with new details updates them."""
    order = _order_get(order_id)
    details = {
        name: value
        for name, value in (
            ("dispute_id", dispute_id),
            ("dispute_status", dispute_status),
            ("dispute_evidence_due_by", evidence_due_by),
        )
        if value is not None
    }
    if order.dispute_flag == DISPUTE_OPEN and all(
        getattr(order, name) == value for name, value in details.items()
    ):
        return Outcome(False, order)
    newly = order.dispute_flag != DISPUTE_OPEN
    changed = _update(
        order,
        # dispute_flag puts the order in the dashboard's sparse order-dispute-index.
        {"disputed": True, "dispute_flag": DISPUTE_OPEN, **details},
        (Order.dispute_flag.does_not_exist() | (Order.dispute_flag != DISPUTE_OPEN))
        if newly
        else (Order.version == order.version),
        actor=actor,
        action="dispute",
        summary="Charge disputed: answer it in Stripe"
        if newly
        else f"Dispute updated in Stripe: {dispute_status or 'details'}",
    )
    return Outcome(changed and newly, order if changed else _order_get(order_id))


def order_close_dispute(
    *, order_id: str, dispute_status: str, actor: str = SYSTEM_STRIPE
) -> Outcome:
    """Stripe decided the dispute (won, lost...): the order leaves the open disputes."""
    order = _order_get(order_id)
    changed = _update(
        order,
        {"disputed": True, "dispute_flag": DISPUTE_CLOSED, "dispute_status": dispute_status},
        Order.dispute_flag == DISPUTE_OPEN,
        actor=actor,
        action="dispute_closed",
        summary=f"Dispute closed in Stripe: {dispute_status}",
    )
    return Outcome(changed, order if changed else _order_get(order_id))
