"""Staff refunds (full or partial) through Stripe, for the admin to call.

``refund_create`` never refunds more than is left, even when two staff members refund the same
order at once: the amount is first *reserved* on the payment item with a write conditioned on
its version (so of two concurrent reservations one is re-read and re-checked), and only then
sent to Stripe with the idempotency key ``refund:{order_id}:{n}`` (``n``: the refund's place in
the payment's list). If the process dies between reserving and recording Stripe's answer, the
reservation stays ``reserved``; the next ``refund_create`` for the order first completes it with
the same key (Stripe answers with the refund it already made, within 24 hours), so a retry
never refunds twice. The key also goes into the refund's metadata (``reservation``), so the
``charge.refunded`` webhook of a refund whose answer was never recorded puts it in its
reservation's place (``payments.services.records.payment_record_refunds``).

Stripe's answer is recorded at once (the order becomes ``partially_refunded``/``refunded`` when
Stripe says the refund succeeded); the ``charge.refunded`` webhook then confirms it, changing
nothing more. Refunds made in Stripe's dashboard arrive through that webhook only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from orders.models import Order
from orders.selectors import order_get
from orders.services import transitions
from payments import selectors, stripe_client
from payments.models import Payment, Refund
from payments.services.records import payment_change
from tickets.audit import audit_record
from tickets.dynamodb import iso_utc, utc_now, utc_now_iso
from tickets.exceptions import ApplicationError, Conflict, NotFound

logger = logging.getLogger(__name__)

RESERVED = "reserved"
# A reservation older than a Lambda invocation can run belongs to a request that died; younger
# ones may be a colleague's refund still waiting for Stripe, and are left alone.
RESUME_AFTER = timedelta(seconds=60)
# Refund statuses that do not (or no longer) take money back.
_NOT_COUNTED = frozenset({"failed", "canceled"})


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"
    message = "Only a paid order can be refunded."


class RefundAmountInvalid(ApplicationError):
    status_code = 400
    code = "refund_amount_invalid"
    message = "The refund amount is not valid."


class RefundRefused(Conflict):
    code = "refund_refused"
    message = "Stripe refused the refund."


@dataclass(frozen=True)
class RefundOutcome:
    refund_id: str
    amount: int
    status: str
    idempotency_key: str


def _refunded_or_reserved(payment: Payment) -> int:
    committed = sum(int(r.amount) for r in payment.refunds if r.status not in _NOT_COUNTED)
    return max(committed, int(payment.amount_refunded or 0))


def refund_left(*, payment: Payment) -> int:
    """What can still be refunded: the amount minus refunds made, pending or reserved."""
    return max(int(payment.amount) - _refunded_or_reserved(payment), 0)


def _reserve(*, order_id: str, payment_intent_id: str, amount: int | None, staff: str) -> Refund:
    reserved: list[Refund] = []
    # This request's reservation, told apart by its time (microseconds) and staff member: if
    # the write was applied but its answer lost, the retry re-reads the payment and must find
    # it there rather than reserve a second refund (which a later call would send to Stripe).
    at = utc_now_iso()

    def change(payment: Payment) -> bool:
        mine = next(
            (
                r
                for r in payment.refunds
                if r.status == RESERVED and r.created_at == at and r.requested_by == staff
            ),
            None,
        )
        if mine is not None:
            reserved[:] = [mine]
            return False
        left = refund_left(payment=payment)
        wanted = left if amount is None else amount
        if left <= 0:
            raise RefundAmountInvalid("Nothing is left to refund.", fields={"amount": ["0 left"]})
        if wanted <= 0 or wanted > left:
            raise RefundAmountInvalid(
                f"At most {left} can be refunded.",
                fields={"amount": [f"Must be between 1 and {left}."]},
            )
        key = f"refund:{order_id}:{len(payment.refunds) + 1}"
        refund = Refund(
            refund_id=key,
            amount=wanted,
            status=RESERVED,
            created_at=at,
            idempotency_key=key,
            requested_by=staff,
        )
        payment.refunds = [*payment.refunds, refund]
        reserved[:] = [refund]
        return True

    payment_change(payment_intent_id=payment_intent_id, change=change)
    return reserved[0]


def _record(*, payment_intent_id: str, key: str, result: stripe_client.RefundResult | None) -> None:
    """Put Stripe's answer (or its refusal, ``None``) in place of the reservation ``key``."""

    def change(payment: Payment) -> bool:
        mine = next((r for r in payment.refunds if r.idempotency_key == key), None)
        if mine is None or mine.status != RESERVED:
            return False
        if result is None:
            mine.status = "failed"
        elif any(r.refund_id == result.id for r in payment.refunds):
            # The webhook recorded Stripe's refund first: keep its entry, drop the reservation.
            payment.refunds = [r for r in payment.refunds if r is not mine]
        else:
            mine.refund_id, mine.status, mine.amount = result.id, result.status, result.amount
        return True

    payment_change(payment_intent_id=payment_intent_id, change=change)


def _send(*, order: Order, refund: Refund) -> stripe_client.RefundResult:
    try:
        result = stripe_client.refund_create(
            payment_intent_id=order.payment_intent_id,
            amount=int(refund.amount),
            idempotency_key=refund.idempotency_key,
        )
    except stripe_client.PaymentProviderError as error:
        _record(payment_intent_id=order.payment_intent_id, key=refund.idempotency_key, result=None)
        raise RefundRefused(str(error)) from None
    # A PaymentProviderUnavailable leaves the reservation for the next call to complete.
    _record(payment_intent_id=order.payment_intent_id, key=refund.idempotency_key, result=result)
    return result


def _order_total_refunded(payment_intent_id: str) -> int:
    payment = selectors.payment_get(payment_intent_id=payment_intent_id)
    assert payment is not None
    return sum(int(r.amount) for r in payment.refunds if r.status == "succeeded")


def refund_create(*, order_id: str, amount: int | None, staff: str) -> RefundOutcome:
    """Refund ``amount`` (minor units; ``None``: all that is left) of a paid order, as ``staff``.

    Raises ``RefundNotAllowed`` (409) unless the order is paid (or fulfilled, failed to be
    fulfilled, partially refunded), ``RefundAmountInvalid`` (400) for an amount that is not
    positive or above what is left, ``RefundRefused`` (409) if Stripe declines, and
    ``PaymentProviderUnavailable`` (503) if Stripe cannot be reached (then retrying is safe)."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    if order.status not in transitions.REFUNDABLE or not order.payment_intent_id:
        raise RefundNotAllowed()
    payment = selectors.payment_get(payment_intent_id=order.payment_intent_id)
    if payment is None or payment.status != "succeeded":
        raise RefundNotAllowed()

    # Complete refunds interrupted between reserving and recording Stripe's answer first; a
    # retry of the interrupted request (same amount) is answered by completing it.
    resumed = None
    abandoned_before = iso_utc(utc_now() - RESUME_AFTER)
    interrupted_refunds = [
        r for r in payment.refunds if r.status == RESERVED and r.created_at < abandoned_before
    ]
    for interrupted in interrupted_refunds:
        resumed = (interrupted, _send(order=order, refund=interrupted))
    if resumed and (amount is None or amount == int(resumed[0].amount)):
        refund, result = resumed
    else:
        refund = _reserve(
            order_id=order_id, payment_intent_id=order.payment_intent_id, amount=amount, staff=staff
        )
        result = _send(order=order, refund=refund)

    before = int(order.refunded_amount or 0)
    audit_record(
        staff=staff,
        object_type="orders.order",
        object_id=order_id,
        object_repr=order_id,
        action="refund",
        summary=f"Refund of {result.amount} (minor units) requested: {result.status}",
        before={"status": order.status, "refunded_amount": before},
        after={"refund_id": result.id, "amount": result.amount, "refund_status": result.status},
    )
    if result.status == "succeeded":
        transitions.order_record_refund(
            order_id=order_id,
            refunded_total=_order_total_refunded(order.payment_intent_id),
            actor=staff,
        )
    logger.info(
        "refund created",
        extra={"order_id": order_id, "amount": result.amount, "refund_status": result.status},
    )
    return RefundOutcome(result.id, result.amount, result.status, refund.idempotency_key)
