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
from collections.abc import Callable, Sequence

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from core.dynamodb import condition_failed, utc_now_iso
from integrations.stripe_client import Dispute, RefundResult
from payments import selectors
from payments.models import Payment, PaymentAttempt, Refund

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


def payment_record_dispute(*, payment_intent_id: str, dispute: Dispute | None = None) -> bool:
    """The charge was disputed (``dispute``: Stripe's dispute, for its id and status)."""

    def change(payment: Payment) -> bool:
        status = dispute.status if dispute else payment.dispute_status
        dispute_id = dispute.id if dispute else payment.dispute_id
        if payment.disputed and (payment.dispute_status, payment.dispute_id) == (
            status,
            dispute_id,
        ):
            return False
        payment.disputed = True
        payment.dispute_id, payment.dispute_status = dispute_id, status
        return True

    return payment_change(payment_intent_id=payment_intent_id, change=change)


def payment_refunded_total(payment: Payment) -> int:
    """What has been refunded of the payment: its ``succeeded`` refunds. The one definition
    the order, the payment's row and page, and the CSV export all show."""
    return sum(int(r.amount) for r in payment.refunds or [] if r.status == "succeeded")


def payment_record_refunds(
    *, payment_intent_id: str, refunds: Sequence[RefundResult]
) -> Payment | None:
    """Bring the payment's refunds in line with Stripe's list of them: statuses (and failure
    reasons) of known refunds, refunds made elsewhere (Stripe's dashboard), a reservation whose
    answer was lost (found by the idempotency key in the refund's metadata), and
    ``amount_refunded``, always the sum of the succeeded ones. A failed refund lowers it.
    Returns the payment as saved (or as it was when nothing changed); None if not ours."""
    saved: list[Payment] = []

    def change(payment: Payment) -> bool:
        saved[:] = [payment]
        changed = False
        by_id = {refund.refund_id: refund for refund in payment.refunds}
        by_key = {r.idempotency_key: r for r in payment.refunds if r.idempotency_key}
        for stripe_refund in refunds:
            mine = by_id.get(stripe_refund.id) or (
                by_key.get(stripe_refund.idempotency_key) if stripe_refund.idempotency_key else None
            )
            if mine is None:
                payment.refunds = [
                    *payment.refunds,
                    Refund(
                        refund_id=stripe_refund.id,
                        amount=stripe_refund.amount,
                        status=stripe_refund.status,
                        created_at=utc_now_iso(),
                        reason=stripe_refund.reason,
                        failure_reason=stripe_refund.failure_reason,
                    ),
                ]
                changed = True
                continue
            now = (stripe_refund.id, stripe_refund.status, int(stripe_refund.amount))
            if (mine.refund_id, mine.status, int(mine.amount)) != now:
                mine.refund_id, mine.status, mine.amount = now
                changed = True
            if stripe_refund.failure_reason and mine.failure_reason != stripe_refund.failure_reason:
                mine.failure_reason = stripe_refund.failure_reason
                changed = True
        total = payment_refunded_total(payment)
        if int(payment.amount_refunded or 0) != total:
            payment.amount_refunded = total
            changed = True
        return changed

    payment_change(payment_intent_id=payment_intent_id, change=change)
    return saved[0] if saved else None
