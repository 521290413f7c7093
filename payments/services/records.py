"""The payment item's history: attempts, success, cancellation, refunds and disputes.

Each change is a read of the current item and a write conditioned on its ``version``
(optimistic locking): a concurrent change makes the write fail and it is re-done on a fresh
read, so nothing is lost or overwritten. Every change is idempotent: applied twice (a webhook
re-applied after a crash), the second time finds it done and writes nothing.

A payment's ``status`` never moves backwards: once ``succeeded`` or ``canceled`` (terminal for a
PaymentIntent), a late ``payment_failed`` only adds to the attempt history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from payments import selectors
from payments.models import Payment, PaymentAttempt, Refund
from payments.stripe_client import Charge
from tickets.dynamodb import condition_failed, utc_now_iso

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"succeeded", "canceled"})
_MAX_TRIES = 8


class PaymentChangeConflict(RuntimeError):
    """The payment kept changing under us; the caller (a webhook) is retried later."""


def payment_change(
    *,
    payment_intent_id: str,
    change: Callable[[Payment], bool],
    current: Payment | None = None,
) -> bool:
    """Apply ``change`` to the current payment and save it if it says it changed something.
    Returns whether a write happened (False also when the payment does not exist).
    ``current``: the payment as the caller just read it, to save a read; if it is stale, the
    version condition fails and the change is re-done on a fresh read."""
    for attempt in range(_MAX_TRIES):
        payment = (
            current
            if attempt == 0 and current is not None
            else selectors.payment_get(payment_intent_id=payment_intent_id)
        )
        if payment is None or not change(payment):
            return False
        payment.updated_at = utc_now_iso()
        try:
            payment.save()  # conditioned on the version we read
            return True
        except PutError as error:
            if not condition_failed(error):
                raise
    raise PaymentChangeConflict(payment_intent_id)


def payment_record_new(
    writes: TransactWrite,
    *,
    payment_intent_id: str,
    order_id: str,
    status: str,
    amount: int,
    currency: str,
    at: str,
) -> None:
    """The payment item of a new order, added to ``writes``: the transaction that records the
    PaymentIntent on the order (through ``orders.payment_port``), so both exist or neither."""
    writes.save(
        Payment(
            payment_id=payment_intent_id,
            created_at=at,
            order_id=order_id,
            status=status,
            amount=amount,
            currency=currency,
            attempts=[PaymentAttempt(at=at, status=status)],
            updated_at=at,
        ),
        condition=Payment.payment_id.does_not_exist(),
    )


def payment_record_success(
    *, payment_intent_id: str, charge_id: str | None, current: Payment | None = None
) -> bool:
    def change(payment: Payment) -> bool:
        if payment.status == "succeeded" and payment.charge_id == charge_id:
            return False
        payment.status = "succeeded"
        payment.charge_id = charge_id or payment.charge_id
        payment.attempts = [
            *payment.attempts,
            PaymentAttempt(at=utc_now_iso(), status="succeeded"),
        ]
        return True

    return payment_change(payment_intent_id=payment_intent_id, change=change, current=current)


def payment_record_attempt(
    *,
    payment_intent_id: str,
    event_id: str,
    status: str,
    failure_code: str | None,
    failure_message: str | None,
) -> bool:
    """Add a failed attempt reported by event ``event_id``; True if it was not recorded yet."""

    def change(payment: Payment) -> bool:
        if any(attempt.event_id == event_id for attempt in payment.attempts):
            return False
        payment.attempts = [
            *payment.attempts,
            PaymentAttempt(
                at=utc_now_iso(),
                status=status,
                failure_code=failure_code,
                failure_message=(failure_message or "")[:200] or None,
                event_id=event_id,
            ),
        ]
        if payment.status not in TERMINAL_STATUSES:
            payment.status = status
        return True

    return payment_change(payment_intent_id=payment_intent_id, change=change)


def payment_record_canceled(*, payment_intent_id: str) -> bool:
    def change(payment: Payment) -> bool:
        if payment.status in TERMINAL_STATUSES:
            return False
        payment.status = "canceled"
        return True

    return payment_change(payment_intent_id=payment_intent_id, change=change)


def payment_record_dispute(*, payment_intent_id: str) -> bool:
    def change(payment: Payment) -> bool:
        if payment.disputed:
            return False
        payment.disputed = True
        return True

    return payment_change(payment_intent_id=payment_intent_id, change=change)


def payment_record_refunds(*, payment_intent_id: str, charge: Charge) -> bool:
    """Bring the payment's refunds in line with what Stripe says about the charge: statuses of
    known refunds, reservations Stripe fulfilled, refunds made elsewhere (Stripe's
    dashboard), and the refunded total, which only ever grows."""

    def change(payment: Payment) -> bool:
        changed = False
        known = {refund.refund_id: refund for refund in payment.refunds}
        # A staff refund's reservation (``payments.services.refunds``) whose request died after
        # Stripe made the refund: Stripe's refund names it (metadata), and takes its place.
        reserved = {
            refund.idempotency_key: refund
            for refund in payment.refunds
            if refund.idempotency_key and refund.refund_id == refund.idempotency_key
        }
        for stripe_refund in charge.refunds:
            mine = known.get(stripe_refund.id)
            if mine is None and stripe_refund.reservation in reserved:
                mine = reserved.pop(stripe_refund.reservation)
                mine.refund_id, mine.amount = stripe_refund.id, stripe_refund.amount
                mine.status = stripe_refund.status
                changed = True
            elif mine is None:
                payment.refunds = [
                    *payment.refunds,
                    Refund(
                        refund_id=stripe_refund.id,
                        amount=stripe_refund.amount,
                        status=stripe_refund.status,
                        created_at=utc_now_iso(),
                    ),
                ]
                changed = True
            elif mine.status != stripe_refund.status:
                mine.status = stripe_refund.status
                changed = True
        if charge.amount_refunded > (payment.amount_refunded or 0):
            payment.amount_refunded = charge.amount_refunded
            changed = True
        return changed

    return payment_change(payment_intent_id=payment_intent_id, change=change)
