"""Staff refunds (full or partial) through Stripe, for the admin to call.

``refund_create`` never refunds more than is left, even when two staff members refund the same
order at once: the amount is first *reserved* on the payment item with a write conditioned on
its version (so of two concurrent reservations one is re-read and re-checked), and only then
sent to Stripe with the idempotency key ``refund:{order_id}:{n}`` (``n``: the refund's place in
the payment's list). If the process dies between reserving and recording Stripe's answer, the
reservation stays ``reserved``; the next ``refund_create`` for the order first completes it with
the same key (Stripe answers with the refund it already made, within 24 hours), so a retry
never refunds twice. The key also goes into the refund's metadata (``idempotency_key``), so
the refund webhooks (or a sync) of a refund whose answer was never recorded put it in its
reservation's place (``payments.services.records.payment_record_refunds``).

Only the back office's function imports this module (it holds the one call that sends money
back, and that function's Stripe key is the one that may refund); what Stripe says of refunds
made anywhere is recorded by ``payments.services.refund_records``, which the public API's
webhook uses too (tests/test_public_function.py: no refund path in the public function).

Stripe's answer is recorded at once (the order becomes ``partially_refunded``/``refunded`` when
Stripe says the refund succeeded); the ``charge.refunded`` webhook then confirms it, changing
nothing more. Refunds made in Stripe's dashboard arrive through that webhook only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from core.audit import audit_record
from core.dynamodb import iso_utc, utc_now, utc_now_iso
from core.exceptions import ApplicationError, Conflict, NotFound
from core.formatting import money_format, money_minor_units
from integrations import stripe_client
from orders import actions as order_actions
from orders.models import Order
from orders.selectors import order_get
from payments import selectors
from payments.models import Payment, Refund
from payments.services.records import payment_change, payment_refunded_total
from payments.services.refund_records import RESERVED, RESUME_AFTER, refunds_to_order

logger = logging.getLogger(__name__)

# Stripe's refund reasons (the ``reason`` of a Refund), as staff read them.
REFUND_REASONS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate payment",
    "fraudulent": "Fraudulent",
}
# Refund statuses that do not (or no longer) take money back.
_NOT_COUNTED = frozenset({"failed", "canceled"})


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"
    message = "Only a paid order can be refunded."


class RefundAmountInvalid(ApplicationError):
    status_code = 400
    code = "refund_amount_invalid"
    message = "The refund amount is not valid."


class RefundReasonInvalid(ApplicationError):
    status_code = 400
    code = "refund_reason_invalid"
    message = "The refund reason is not one of Stripe's."


class RefundRefused(ApplicationError):
    """Stripe said no (not a concurrent change: nobody else touched the order). Its message
    carries Stripe's reason; the refund is kept on the payment as ``failed`` with it."""

    status_code = 402
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


def refund_reason_text(*, reason: str | None, note: str) -> str:
    """``"Requested by the customer: seat was double-booked"``: how the audit log keeps a
    refund's reason (Stripe's, in words) and staff's note."""
    words = REFUND_REASONS.get(reason or "", reason or "")
    return ": ".join(part for part in (words, note) if part)


def refund_left(*, payment: Payment) -> int:
    """What can still be refunded: the amount minus refunds made, pending or reserved."""
    return max(int(payment.amount) - _refunded_or_reserved(payment), 0)


def refund_left_of_order(*, order: Order) -> int:
    """What can still be refunded of ``order``: its payment's ``refund_left`` (the one rule,
    for the admin's confirmation as for ``refund_create``); without a payment recorded, its
    total less what it shows refunded."""
    payment = (
        selectors.payment_get(payment_intent_id=order.payment_intent_id)
        if order.payment_intent_id
        else None
    )
    if payment is None:
        return max(int(order.total_amount) - int(order.refunded_amount or 0), 0)
    return refund_left(payment=payment)


def refund_amount_choose(*, order: Order, typed: Decimal | None) -> tuple[int, bool]:
    """The refund staff asked for, in minor units, and whether it is all that is left:
    ``typed`` in major units (None: all that is left). Raises ``RefundAmountInvalid`` for more
    decimals than the currency has, or more than is left."""
    left = refund_left_of_order(order=order)
    if typed is None:
        return left, True
    try:
        minor = money_minor_units(typed, order.currency)
    except ValueError as error:
        raise RefundAmountInvalid(f"{error} (you typed {typed})") from None
    if minor > left:
        raise RefundAmountInvalid(
            f"At most {money_format(left, order.currency)} is left to refund."
        )
    return minor, minor == left


def _reserve(
    *,
    order_id: str,
    payment_intent_id: str,
    amount: int | None,
    staff: str,
    reason: str | None,
    note: str,
    key: str | None = None,
) -> Refund:
    """Reserve the refund on the payment (see the module docstring). With ``key``, a refund
    already reserved (or made) with it is the answer, whatever its state: that request ran
    before and must not run twice."""
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
                if (key is not None and r.idempotency_key == key)
                or (r.status == RESERVED and r.created_at == at and r.requested_by == staff)
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
            most = money_format(left, payment.currency)
            raise RefundAmountInvalid(
                f"At most {most} is left to refund.",
                fields={"amount": [f"At most {most}."]},
            )
        refund_key = key or f"refund:{order_id}:{len(payment.refunds) + 1}"
        refund = Refund(
            refund_id=refund_key,
            amount=wanted,
            status=RESERVED,
            created_at=at,
            idempotency_key=refund_key,
            requested_by=staff,
            reason=reason,
            note=note or None,
        )
        payment.refunds = [*payment.refunds, refund]
        reserved[:] = [refund]
        return True

    payment_change(payment_intent_id=payment_intent_id, change=change)
    return reserved[0]


def _record(
    *,
    payment_intent_id: str,
    key: str,
    result: stripe_client.RefundResult | None,
    refusal: str | None = None,
) -> Payment | None:
    """Put Stripe's answer (or its refusal: ``result`` None, ``refusal`` its reason) in place
    of the reservation ``key``, and ``amount_refunded`` with it. The payment as saved."""
    saved: list[Payment] = []

    def change(payment: Payment) -> bool:
        saved[:] = [payment]
        mine = next((r for r in payment.refunds if r.idempotency_key == key), None)
        if mine is None or mine.status != RESERVED:
            return False
        if result is None:
            mine.status = "failed"
            mine.failure_reason = (refusal or "refused by Stripe")[:300]
        elif any(r.refund_id == result.id for r in payment.refunds):
            # The webhook recorded Stripe's refund first: keep its entry, drop the reservation.
            payment.refunds = [r for r in payment.refunds if r is not mine]
            for theirs in payment.refunds:
                if theirs.refund_id == result.id:  # keep who asked and why on Stripe's entry
                    theirs.requested_by = theirs.requested_by or mine.requested_by
                    theirs.reason = theirs.reason or mine.reason
                    theirs.note = theirs.note or mine.note
        else:
            mine.refund_id, mine.status, mine.amount = result.id, result.status, result.amount
            mine.failure_reason = result.failure_reason
        payment.amount_refunded = payment_refunded_total(payment)
        return True

    payment_change(payment_intent_id=payment_intent_id, change=change)
    return saved[0] if saved else None


def _send(*, order: Order, refund: Refund) -> stripe_client.RefundResult:
    try:
        result = stripe_client.refund_create(
            payment_intent_id=order.payment_intent_id,
            amount=int(refund.amount),
            idempotency_key=refund.idempotency_key,
            reason=refund.reason,
            metadata={"order_id": order.order_id, "requested_by": refund.requested_by or ""},
        )
    except stripe_client.PaymentProviderError as error:
        _record(
            payment_intent_id=order.payment_intent_id,
            key=refund.idempotency_key,
            result=None,
            refusal=str(error),
        )
        logger.warning("refund refused by Stripe", extra={"order_id": order.order_id})
        raise RefundRefused(f"Stripe refused the refund: {error}") from None
    except stripe_client.PaymentProviderUnavailable:
        # The reservation stays for the next refund_create to complete with the same key (or
        # a sync to record what Stripe did with it); meanwhile the order is in the queue.
        order_actions.refund_unconfirmed(order_id=order.order_id)
        raise
    _record(payment_intent_id=order.payment_intent_id, key=refund.idempotency_key, result=result)
    return result


def refund_create(
    *,
    order_id: str,
    amount: int | None,
    staff: str,
    reason: str | None = None,
    note: str = "",
    idempotency_key: str | None = None,
    void_ticket_ids: list[str] | None = None,
) -> RefundOutcome:
    """Refund ``amount`` (minor units; ``None``: all that is left) of a paid order, as ``staff``,
    for ``reason`` (one of Stripe's, ``REFUND_REASONS``; the admin always asks for one) and
    ``note`` (staff's own words). Both are sent to Stripe (the reason as the Refund's
    ``reason``, who asked as its ``metadata``), kept on the payment's refund record and in
    the order's audit entry; the note stays with us (it is not sent to Stripe).

    Raises ``RefundNotAllowed`` (409) unless the order is paid (or fulfilled, failed to be
    fulfilled, partially refunded), ``RefundAmountInvalid`` (400) for an amount that is not
    positive or above what is left, ``RefundRefused`` (402, Stripe's reason in its message; the refund is kept as ``failed``) if Stripe declines, and
    ``PaymentProviderUnavailable`` (503) if Stripe cannot be reached (then retrying is safe).

    ``idempotency_key`` (from the admin's one-time form: ``refund:{order_id}:{submit}``) makes
    the call itself once: called again with it, it completes or answers the refund it made,
    and never reserves or sends a second one.

    Tickets follow the money, asked for *before* the refund goes to Stripe
    (``orders.actions.tickets_void``; the order's module docstring says why and what happens
    when one side fails): a refund of all that is left voids every valid ticket; a partial
    one voids ``void_ticket_ids`` (the tickets staff picked; None or empty: none)."""
    if reason is not None and reason not in REFUND_REASONS:
        raise RefundReasonInvalid(fields={"reason": [f"One of {', '.join(REFUND_REASONS)}."]})
    note = note.strip()[:500]
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    payment = (
        selectors.payment_get(payment_intent_id=order.payment_intent_id)
        if order.payment_intent_id
        else None
    )
    # A canceled order may be refunded too when its payment went through anyway (money taken
    # after it expired: the needs-attention queue's "refund" when its seats are gone).
    if payment is None or not order_actions.refund_allowed(
        order, payment_succeeded=payment.status == "succeeded"
    ):
        raise RefundNotAllowed()

    everything = amount is None or amount >= refund_left(payment=payment)
    if everything or void_ticket_ids:
        order_actions.tickets_void(
            order_id=order_id,
            ticket_ids=None if everything else void_ticket_ids,
            staff=staff,
            reason="refund" if everything else "partial_refund",
        )

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
            order_id=order_id,
            payment_intent_id=order.payment_intent_id,
            amount=amount,
            staff=staff,
            reason=reason,
            note=note,
            key=idempotency_key,
        )
        if refund.status == RESERVED:
            result = _send(order=order, refund=refund)
        else:  # this very request ran before and Stripe's answer is recorded: that is it
            result = stripe_client.RefundResult(
                id=refund.refund_id,
                status=refund.status,
                amount=int(refund.amount),
                payment_intent_id=order.payment_intent_id,
                reason=refund.reason,
                failure_reason=refund.failure_reason,
                idempotency_key=refund.idempotency_key,
            )

    before = int(order.refunded_amount or 0)
    payment_now = selectors.payment_get(payment_intent_id=order.payment_intent_id)
    audit_record(
        staff=staff,
        object_type="orders.order",
        object_id=order_id,
        object_repr=order_id,
        action="refund",
        summary=f"Refund of {money_format(result.amount, order.currency)} requested: "
        f"{result.status}",
        reason=refund_reason_text(reason=refund.reason, note=refund.note or ""),
        before={"status": order.status, "refunded_amount": before},
        after={"refund_id": result.id, "amount": result.amount, "refund_status": result.status},
    )
    if payment_now is not None:
        refunds_to_order(payment=payment_now, actor=staff)
    logger.info(
        "refund created",
        extra={"order_id": order_id, "amount": result.amount, "refund_status": result.status},
    )
    return RefundOutcome(result.id, result.amount, result.status, refund.idempotency_key)
