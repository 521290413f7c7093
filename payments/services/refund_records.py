"""What Stripe says of a payment's refunds, recorded on the payment and then on its order:
used by the webhook (``charge.refunded``), the sync and the reconciliation in the public API's
function, and by the staff refund (``payments.services.refunds``) in the back office's.

This module must not send anything to Stripe: it records refunds, it never makes one (the
public function's Stripe key cannot, and tests/test_architecture.py checks that nothing the
public function loads can reach ``stripe_client.refund_create``).
"""

from __future__ import annotations

from datetime import timedelta

from core.dynamodb import iso_utc, utc_now
from integrations import stripe_client
from orders.models import AttentionReason
from orders.services import transitions
from orders.services.attention import order_attention_clear
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


def refunds_to_order(*, payment: Payment, actor: str) -> transitions.Outcome:
    """Put the payment's refunded total (its succeeded refunds) on its order, conditioned on
    the payment's version so an older reading never overwrites a newer one: a failed refund
    lowers it, a new one raises it, and the order's status follows. Once no refund waits for
    Stripe's answer, the order leaves the needs-attention queue's "refund not confirmed"."""
    outcome = transitions.order_record_refund(
        order_id=payment.order_id,
        refunded_total=payment_refunded_total(payment),
        refunds_version=int(payment.version or 0),
        actor=actor,
    )
    if outcome.order.attention == AttentionReason.REFUND_MISMATCH and not any(
        r.status == RESERVED for r in payment.refunds
    ):
        order_attention_clear(order_id=payment.order_id, reason=AttentionReason.REFUND_MISMATCH)
    return outcome


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
) -> transitions.Outcome | None:
    """What Stripe says of a payment's refunds, recorded on the payment and then its order.
    None if the payment is not ours."""
    payment = payment_record_refunds(payment_intent_id=payment_intent_id, refunds=refunds)
    if payment is None:
        return None
    return refunds_to_order(payment=payment, actor=actor)
