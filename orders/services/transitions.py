"""Order state changes after creation: paid, payment failed, canceled, expired, refunded,
disputed.

Every change is one conditional write on the state it leaves (``status == "pending_payment"``
to pay or cancel, a refundable status to refund), so two writers can never both win and a late
or repeated event never moves an order backwards: its condition fails and that is the "someone
else got there first" branch, answered with ``changed=False``. Seats go back to their ticket
types in the same transaction as the cancellation that frees them. The version is bumped on
every change, so a staff edit made from a stale read is refused rather than overwriting ours.

Order of operations with Stripe, on purpose: a cancellation (by staff or by expiry) cancels the
PaymentIntent in Stripe *before* writing. Once Stripe has canceled it, no payment can land; if a
payment landed first, Stripe refuses the cancel and the order is left for the payment to win.

This module does not talk HTTP and does not emit webhook metrics; the webhook handlers do.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.models import Model

from orders.models import DISPUTE_OPEN, Order, OrderStatus
from orders.selectors import order_get
from orders.services.seats import seats_give_back
from payments import stripe_client
from payments.models import Payment
from payments.services import records
from tickets.backoffice import BackOfficeMeta
from tickets.config import parameters_get
from tickets.dynamodb import iso_utc, transaction, utc_now, utc_now_iso
from tickets.exceptions import Conflict, NotFound
from tickets.metrics import metric_emit

logger = logging.getLogger(__name__)

# Refunds may follow a payment whatever happened to fulfillment since.
REFUNDABLE = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.FULFILLMENT_FAILED,
        OrderStatus.PARTIALLY_REFUNDED,
    }
)
# PaymentIntent statuses in which money is moving or moved: a cancel must not win over them.
_PAYING = frozenset({"succeeded", "processing", "requires_capture"})


class OrderNotCancelable(Conflict):
    code = "order_not_cancelable"
    message = "Only an order awaiting payment can be canceled."


class OrderBeingPaid(Conflict):
    code = "order_being_paid"
    message = "The order's payment has gone through or is in progress; it cannot be canceled."


@dataclass
class Outcome:
    """What a transition did: ``changed`` is False when the order was already past it."""

    changed: bool
    order: Order


@dataclass
class ExpiryReport:
    expired: list[str] = field(default_factory=list)
    left_for_payment: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class OrderAuditEntry(Model):
    """``AUDIT#order#{order id}`` / ``{time}#{n}`` in the back-office table: one staff change."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="audit")
    staff = UnicodeAttribute()
    action = UnicodeAttribute()
    before = UnicodeAttribute()  # JSON
    after = UnicodeAttribute()  # JSON
    at = UnicodeAttribute()


# --- Helpers -------------------------------------------------------------------------------


def _conditional(error: Exception) -> bool:
    code = getattr(error, "cause_response_code", None)
    if code == "ConditionalCheckFailedException":
        return True
    if isinstance(error, TransactWriteError) and code == "TransactionCanceledException":
        return any(
            reason is not None and reason.code == "ConditionalCheckFailed"
            for reason in error.cancellation_reasons
        )
    return False


def _order_get(order_id: str) -> Order:
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


def _update(order: Order, actions: list, condition) -> bool:
    """One conditional UpdateItem; False when the condition failed. On success ``order`` holds
    the item as written."""
    try:
        order.update(
            actions=[*actions, Order.updated_at.set(utc_now_iso())],
            condition=condition,
            add_version_condition=False,
        )
        return True
    except UpdateError as error:
        if _conditional(error):
            return False
        raise


# --- Payment -------------------------------------------------------------------------------


def order_mark_paid(
    *,
    order_id: str,
    payment_intent_id: str,
    charge_id: str | None,
    payment: Payment | None = None,
) -> Outcome:
    """``pending_payment`` -> ``paid``: the seats held become sold. Idempotent; a payment for an
    order already canceled is recorded on the payment (staff must refund it) but never revives
    the order. ``payment``: the payment item if the caller has just read it."""
    records.payment_record_success(
        payment_intent_id=payment_intent_id, charge_id=charge_id, current=payment
    )
    order = _order_get(order_id)
    changed = _update(
        order,
        [Order.status.set(OrderStatus.PAID.value), Order.seats_held.set(False)],
        Order.status == OrderStatus.PENDING_PAYMENT.value,
    )
    if changed:
        _daily_totals_add(revenue=int(order.total_amount), currency=order.currency)
    if not changed:
        order = _order_get(order_id)
        if order.status == OrderStatus.CANCELED:
            # Money taken for an order that no longer holds seats: an alarm watches this
            # metric, and staff refund it from the admin (the payment is recorded above).
            metric_emit("PaymentsOnCanceledOrders")
            logger.error(
                "payment succeeded for a canceled order: refund it",
                extra={"order_id": order_id, "payment_intent_id": payment_intent_id},
            )
    return Outcome(changed, order)


def order_record_payment_failure(
    *,
    order_id: str,
    payment_intent_id: str,
    event_id: str,
    failure_code: str | None,
    failure_message: str | None,
) -> bool:
    """Record a failed attempt on the payment; the order stays as it is (a pending order stays
    payable, a paid one stays paid). True if this attempt was not recorded before."""
    recorded = records.payment_record_attempt(
        payment_intent_id=payment_intent_id,
        event_id=event_id,
        status="requires_payment_method",
        failure_code=failure_code,
        failure_message=failure_message,
    )
    if recorded:
        logger.info(
            "payment attempt failed",
            extra={"order_id": order_id, "failure_code": failure_code},
        )
    return recorded


# --- Cancellation and expiry ---------------------------------------------------------------


def _cancel_write(
    order: Order, *, reason: str, staff: str | None, cutoff: str | None = None
) -> bool:
    """The cancellation itself: status, seats back, and the audit entry, in one transaction."""
    condition = Order.status == OrderStatus.PENDING_PAYMENT.value
    if cutoff is not None:  # expiry: only if the order is really that old
        condition &= Order.created_at < cutoff
    now = utc_now_iso()
    try:
        with transaction() as writes:
            writes.update(
                order,
                actions=[
                    Order.status.set(OrderStatus.CANCELED.value),
                    Order.seats_held.set(False),
                    Order.updated_at.set(now),
                ],
                condition=condition,
                add_version_condition=False,
            )
            if order.seats_held:
                seats_give_back(writes, items=order.items)
            if staff:
                writes.save(
                    OrderAuditEntry(
                        pk=f"AUDIT#order#{order.order_id}",
                        sk=f"{now}#{secrets.token_hex(4)}",
                        staff=staff,
                        action="cancel",
                        before=json.dumps({"status": order.status}),
                        after=json.dumps({"status": OrderStatus.CANCELED.value, "reason": reason}),
                        at=now,
                    )
                )
    except TransactWriteError as error:
        if _conditional(error):
            return False
        raise
    logger.info(
        "order canceled", extra={"order_id": order.order_id, "reason": reason, "staff": staff}
    )
    return True


def _payment_intent_cancel(order: Order) -> None:
    """Cancel the order's PaymentIntent in Stripe, or raise ``OrderBeingPaid`` if money moves."""
    if not order.payment_intent_id:
        return
    try:
        stripe_client.payment_intent_cancel(
            payment_intent_id=order.payment_intent_id,
            idempotency_key=f"cancel:{order.order_id}",
        )
    except stripe_client.PaymentProviderNotFound:
        # Not in this Stripe account (demo data, or an account switch): nothing can be paid
        # on it, so the order may go.
        logger.warning("PaymentIntent unknown to Stripe", extra={"order_id": order.order_id})
    except stripe_client.PaymentProviderError:
        # Stripe refuses to cancel an intent that succeeded, is processing, or is canceled
        # already: which one decides.
        intent = stripe_client.payment_intent_retrieve(payment_intent_id=order.payment_intent_id)
        if intent.status != "canceled":
            raise OrderBeingPaid() from None
    records.payment_record_canceled(payment_intent_id=order.payment_intent_id)


def order_cancel(*, order_id: str, staff: str | None = None, reason: str) -> Outcome:
    """Cancel an unpaid order: its PaymentIntent in Stripe first, then the order, its seats
    back. Raises ``OrderNotCancelable`` past payment and ``OrderBeingPaid`` if a payment landed
    or is in progress. Canceling a canceled order changes nothing."""
    order = _order_get(order_id)
    if order.status == OrderStatus.CANCELED:
        return Outcome(False, order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise OrderNotCancelable()
    _payment_intent_cancel(order)
    if _cancel_write(order, reason=reason, staff=staff):
        return Outcome(True, _order_get(order_id))
    order = _order_get(order_id)
    if order.status not in {OrderStatus.CANCELED, OrderStatus.PENDING_PAYMENT}:
        raise OrderNotCancelable()
    return Outcome(False, order)


def order_mark_canceled(*, order_id: str, reason: str) -> Outcome:
    """The PaymentIntent was canceled in Stripe (its webhook): cancel the order if it still
    awaits payment. Makes no Stripe call."""
    order = _order_get(order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return Outcome(False, order)
    changed = _cancel_write(order, reason=reason, staff=None)
    return Outcome(changed, order if not changed else _order_get(order_id))


def orders_expire(*, older_than_minutes: int | None = None, limit: int = 500) -> ExpiryReport:
    """Cancel pending orders created more than the configured minutes ago (SSM
    ``order_expiry_minutes``): PaymentIntent canceled in Stripe, then the order, seats back.

    Finds them with a Query of ``order-status-index`` (``pending_payment``, oldest first), never
    a Scan. Safe to run concurrently with itself and with a late payment: a payment that landed
    makes Stripe refuse the cancel and the order is left for the payment's webhook."""
    minutes = (
        older_than_minutes
        if older_than_minutes is not None
        else parameters_get().order_expiry_minutes
    )
    cutoff = iso_utc(utc_now() - timedelta(minutes=minutes))
    report = ExpiryReport()
    candidates = Order.status_index.query(
        OrderStatus.PENDING_PAYMENT.value,
        range_key_condition=Order.created_at < cutoff,
        limit=limit,
    )
    for stale in candidates:
        order_id = stale.order_id
        try:
            # The index is eventually consistent: decide on the order as it is now.
            order = _order_get(order_id)
            if order.status != OrderStatus.PENDING_PAYMENT or order.created_at >= cutoff:
                continue
            _payment_intent_cancel(order)
            if _cancel_write(order, reason="expired", staff=None, cutoff=cutoff):
                report.expired.append(order_id)
        except OrderBeingPaid:
            report.left_for_payment.append(order_id)
        except Exception:
            # One bad order must not stop the others; the next run retries it.
            logger.exception("order expiry failed", extra={"order_id": order_id})
            report.failed.append(order_id)
    return report


def _daily_totals_add(*, revenue: int, currency: str) -> None:
    """The dashboard's counters, after the conditional write that made the change (so once per
    change). Best effort: a lost increment is repaired by ``daily_totals_rebuild``."""
    from orders.daily_totals import daily_totals_record

    try:
        daily_totals_record(day=utc_now_iso()[:10], revenue=revenue, currency=currency)
    except PynamoDBException:
        logger.exception("daily totals not updated; run daily_totals_rebuild")


# --- Refunds and disputes ------------------------------------------------------------------


def order_record_refund(*, order_id: str, refunded_total: int) -> Outcome:
    """Record that ``refunded_total`` (cumulative, minor units) has been refunded: the order
    becomes ``refunded`` or ``partially_refunded``. The total only grows: a late or repeated
    event with a smaller or equal total changes nothing."""
    order = _order_get(order_id)
    total = min(refunded_total, int(order.total_amount))
    status = OrderStatus.REFUNDED if total >= order.total_amount else OrderStatus.PARTIALLY_REFUNDED
    before = int(order.refunded_amount or 0)
    changed = _update(
        order,
        [Order.status.set(status.value), Order.refunded_amount.set(total)],
        Order.status.is_in(*(s.value for s in REFUNDABLE))
        & (Order.refunded_amount.does_not_exist() | (Order.refunded_amount < total)),
    )
    if changed:
        _daily_totals_add(revenue=-(total - before), currency=order.currency)
    return Outcome(changed, order if changed else _order_get(order_id))


def order_flag_dispute(*, order_id: str) -> Outcome:
    """A dispute was opened: flag the order (a flag, not a state). Idempotent."""
    order = _order_get(order_id)
    changed = _update(
        order,
        # dispute_flag puts the order in the dashboard's sparse order-dispute-index.
        [Order.disputed.set(True), Order.dispute_flag.set(DISPUTE_OPEN)],
        Order.disputed.does_not_exist() | (Order.disputed == False),  # noqa: E712
    )
    return Outcome(changed, order)
