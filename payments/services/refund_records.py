"""What Stripe says of a payment's refunds, recorded on the payment and then on its order:
used by the webhook (``charge.refunded``), the sync and the reconciliation in the public API's
function, and by the staff refund (``payments.services.refunds``) in the back office's.

This module must not send anything to Stripe: it records refunds, it never makes one (the
public function's Stripe key cannot, and tests/test_public_function.py checks that nothing the
public function can import reaches ``stripe_client.refund_create``).
"""

from __future__ import annotations

from datetime import timedelta

from core.dynamodb import iso_utc, utc_now
from integrations import stripe_client
from orders import actions as order_actions
from payments import selectors
from payments.models import Payment, Refund
from payments.services.records import (
    payment_change,
    payment_record_refunds,
    payment_refunded_total,
)

# A refund being made: its amount reserved on the payment, Stripe's answer not yet recorded.
RESERVED = "reserved"
# A reservation older than a Lambda invocation can run belongs to a request that died; younger
# ones may be a colleague's refund still waiting for Stripe, and are left alone.
RESUME_AFTER = timedelta(seconds=60)


def refunds_to_order(*, payment: Payment, actor: str) -> order_actions.Applied:
    """Hand the payment's refunded total (its succeeded refunds) to its order
    (``orders.actions.refunds_changed``), with the payment's version so an older reading never
    overwrites a newer one, and whether a refund still awaits Stripe's answer."""
    return order_actions.refunds_changed(
        order_id=payment.order_id,
        refunded_total=payment_refunded_total(payment),
        refunds_version=int(payment.version or 0),
        actor=actor,
        awaiting_answer=any(r.status == RESERVED for r in payment.refunds),
    )


def refunds_unanswered_fail(*, payment_intent_id: str, actor: str) -> int:
    """Reservations older than a request can live (``RESUME_AFTER``) that Stripe has no refund
    for (a refund made with our key carries it in its metadata, and ``payment_record_refunds``
    has matched those already): the request never reached Stripe. Recorded as failed with that
    reason, so staff see it and can refund again; then the order leaves the queue. How many."""
    cutoff = iso_utc(utc_now() - RESUME_AFTER)
    lost: list[Refund] = []

    def change(payment: Payment) -> bool:
        lost[:] = [r for r in payment.refunds if r.status == RESERVED and r.created_at < cutoff]
        for refund in lost:
            refund.status = "failed"
            refund.failure_reason = "never reached Stripe (it could not be reached)"
        return bool(lost)

    payment_change(payment_intent_id=payment_intent_id, change=change)
    if lost:
        payment = selectors.payment_get(payment_intent_id=payment_intent_id)
        if payment is not None:
            refunds_to_order(payment=payment, actor=actor)
    return len(lost)


def refunds_record(
    *, payment_intent_id: str, refunds: list[stripe_client.RefundResult], actor: str
) -> order_actions.Applied | None:
    """What Stripe says of a payment's refunds, recorded on the payment and then its order.
    None if the payment is not ours."""
    payment = payment_record_refunds(payment_intent_id=payment_intent_id, refunds=refunds)
    if payment is None:
        return None
    return refunds_to_order(payment=payment, actor=actor)
