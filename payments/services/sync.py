"""One entry point for every payment update: ``payment_sync`` re-reads a PaymentIntent (and its
latest charge's refunds and dispute flag) from Stripe, records it on the payment, and hands
the facts to ``orders.actions``, which moves the order forward to match.

Stripe is the source of truth. Every caller goes through here: the webhook handlers for
``payment_intent.*`` (an event only says *what* to re-read; actor ``system#stripe``), the order
expiry job and the reconciliation job (``system#scheduler``), and the staff "Sync with Stripe"
action on the order page (the staff member's username). So an order paid in Stripe whose
webhook never arrived is paid by the next job run, the same way the webhook would have paid it.

Forward only, exactly once: every effect is a conditional write (the payment item's in
``payments.services.records``; the order's behind ``orders.actions``: paid from
``pending_payment``, canceled from ``pending_payment``, a refund total conditioned on the
payment's version, a dispute flagged once). Each records its own audit entry with the actor
when, and only when, it changes something; a late or repeated sync finds its condition false
and changes nothing, so a sync never moves an order backwards (a ``canceled`` intent never
un-pays an order).

``payments.services.reconcile`` is the scheduled sweep that calls it for the unpaid orders no
webhook settled.

This module must not log payloads, client secrets or card data: ids, statuses and amounts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from core.audit import SYSTEM_SCHEDULER
from core.dynamodb import iso_utc
from core.logging import order_id_var
from integrations import stripe_client
from orders import actions as order_actions
from orders import selectors as order_selectors
from orders.models import DISPUTE_OPEN, Order, OrderStatus
from payments import selectors
from payments.models import Payment
from payments.services import health, records
from payments.services.refunds import (
    refunds_record,
    refunds_to_order,
    refunds_unanswered_fail,
)

logger = logging.getLogger(__name__)

# A PaymentIntent's status, for staff: "Stripe says the payment ..."
STATUS_WORDS = {
    "succeeded": "succeeded",
    "canceled": "was canceled",
    "processing": "is processing (not decided yet)",
    "requires_payment_method": "is not made yet (no card accepted so far)",
    "requires_confirmation": "awaits confirmation",
    "requires_action": "awaits the buyer's action (e.g. 3-D Secure)",
    "requires_capture": "is authorized, not captured",
}


@dataclass
class SyncResult:
    """What a sync found and did. ``outcome``: ``applied`` (something changed), ``unchanged``,
    ``not_ours`` (no payment of ours has this PaymentIntent) or ``not_in_stripe`` (Stripe does
    not know it: demo data, another account)."""

    payment_intent_id: str
    order_id: str | None = None
    stripe_status: str | None = None
    order_status: str | None = None
    changes: list[str] = field(default_factory=list)
    outcome: str = "unchanged"

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        """The result in plain words, for staff and the command's progress lines."""
        if self.outcome == "not_ours":
            return (
                f"No payment of ours has PaymentIntent {self.payment_intent_id}: nothing changed."
            )
        if self.outcome == "not_in_stripe":
            return f"Stripe does not know PaymentIntent {self.payment_intent_id}: nothing changed."
        said = "Stripe says the payment " + STATUS_WORDS.get(
            self.stripe_status or "", f"is {(self.stripe_status or '').replace('_', ' ')}"
        )
        if self.changes:
            text = f"{said}. Order {self.order_id}: " + "; ".join(self.changes) + "."
        else:
            text = f"{said}; order {self.order_id} is {self.order_status}: nothing to change."
        if self.stripe_status == "succeeded" and self.order_status == OrderStatus.CANCELED:
            text += " Money was taken for a canceled order: refund it."
        return text


def payment_sync(*, payment_intent_id: str, actor: str) -> SyncResult:
    """Bring the order of ``payment_intent_id`` in line with Stripe, forward only; see the
    module's docstring. Raises ``PaymentProviderUnavailable`` if Stripe cannot be reached
    (nothing is changed then)."""
    result = SyncResult(payment_intent_id)
    payment = selectors.payment_get(payment_intent_id=payment_intent_id)
    if payment is None:
        result.outcome = "not_ours"
        return result
    result.order_id = payment.order_id
    order_id_var.set(payment.order_id)
    try:
        intent = stripe_client.payment_intent_retrieve(payment_intent_id=payment_intent_id)
    except stripe_client.PaymentProviderNotFound:
        logger.warning("PaymentIntent unknown to Stripe", extra={"order_id": payment.order_id})
        result.outcome = "not_in_stripe"
        return result
    result.stripe_status = intent.status
    if intent.status == "succeeded":
        order = _apply_succeeded(payment, intent, actor=actor, result=result)
    elif intent.status == "canceled":
        order = _apply_canceled(payment, actor=actor, result=result)
    else:  # still payable or moving (requires_*, processing): nothing is decided yet
        order = order_selectors.order_get(order_id=payment.order_id)
    result.order_status = order.status if order is not None else None
    result.outcome = "applied" if result.changes else "unchanged"
    logger.info(
        "payment synced with Stripe",
        extra={
            "order_id": payment.order_id,
            "stripe_status": intent.status,
            "outcome": result.outcome,
            "actor": actor,
        },
    )
    return result


def _apply_succeeded(
    payment: Payment, intent: stripe_client.PaymentIntent, *, actor: str, result: SyncResult
) -> Order:
    """Stripe says the payment succeeded: recorded on the payment, handed to the order
    (``orders.actions.payment_succeeded``), then the charge's refunds and dispute."""
    applied = order_actions.payment_succeeded(
        order_id=payment.order_id,
        actor=actor,
        first_news=payment.status != "succeeded",  # else the run that recorded it told orders
        payment_record=lambda: records.payment_record_success(
            payment_intent_id=payment.payment_id, charge_id=intent.latest_charge, current=payment
        ),
    )
    result.changes += applied.changes
    order = applied.order
    if applied.paid and actor == SYSTEM_SCHEDULER:
        health.payment_found_without_webhook()  # a job found what no webhook announced
    if intent.latest_charge and order.status != OrderStatus.PENDING_PAYMENT:
        order = _apply_charge(payment, order, intent.latest_charge, actor=actor, result=result)
    return order


def _apply_charge(
    payment: Payment, order: Order, charge_id: str, *, actor: str, result: SyncResult
) -> Order:
    """Refunds and disputes Stripe knows of on the charge and we have not recorded (or recorded
    differently: a refund that failed since)."""
    charge = stripe_client.charge_retrieve(charge_id=charge_id)
    refunds = (
        list(charge.refunds)
        if charge.refunds_complete
        else stripe_client.refunds_of_payment_intent(payment_intent_id=payment.payment_id)
    )
    if refunds or payment.refunds or int(order.refunded_amount or 0):
        applied = refunds_record(payment_intent_id=payment.payment_id, refunds=refunds, actor=actor)
        lost = refunds_unanswered_fail(payment_intent_id=payment.payment_id, actor=actor)
        if lost:
            result.changes.append(
                f"{lost} refund request(s) that never reached Stripe recorded as failed: "
                "refund again if it is still wanted"
            )
        if applied is not None and applied.changed:
            order = applied.order
            result.changes += applied.changes
    if charge.disputed and not order.dispute_flag and not order.disputed:
        dispute = _dispute_of_payment(payment.payment_id)
        order = _dispute_record(payment, order, dispute, actor=actor, result=result)
    elif order.dispute_flag == DISPUTE_OPEN:
        # Open here: has Stripe decided it (its closing event lost)? Not knowable where Stripe
        # has no dispute list (localstripe): then it stays open.
        dispute = _dispute_of_payment(payment.payment_id)
        if dispute is not None and dispute.status != order.dispute_status:
            order = _dispute_record(payment, order, dispute, actor=actor, result=result)
    return order


def _dispute_of_payment(payment_intent_id: str) -> stripe_client.Dispute | None:
    """The newest dispute of a PaymentIntent, for its id and evidence due date; None where
    Stripe's dispute list cannot say (localstripe has no disputes endpoint)."""
    try:
        for dispute in stripe_client.disputes_of_payment_intent(
            payment_intent_id=payment_intent_id
        ):
            return dispute
    except stripe_client.PaymentProviderNotFound:
        return None
    return None


def _dispute_record(
    payment: Payment,
    order: Order,
    dispute: stripe_client.Dispute | None,
    *,
    actor: str,
    result: SyncResult | None = None,
) -> Order:
    """Note the dispute on the payment, and hand it to the order: open (with its evidence due
    date) or decided."""
    records.payment_record_dispute(payment_intent_id=payment.payment_id, dispute=dispute)
    if dispute is not None and not dispute.open:
        applied = order_actions.dispute_decided(
            order_id=order.order_id, dispute_status=dispute.status, actor=actor
        )
    else:
        applied = order_actions.dispute_opened(
            order_id=order.order_id,
            actor=actor,
            dispute_id=dispute.id if dispute else None,
            dispute_status=dispute.status if dispute else None,
            evidence_due_by=(
                iso_utc(datetime.fromtimestamp(dispute.evidence_due_by, UTC))
                if dispute and dispute.evidence_due_by
                else None
            ),
            dispute_reason=dispute.reason if dispute else None,
        )
    if result is not None:
        result.changes += applied.changes
    return applied.order


def dispute_apply(*, dispute: stripe_client.Dispute, actor: str) -> str:
    """A dispute (from its webhook or the reconciliation's list) applied to its order: flagged
    while open, with its evidence due date; closed once Stripe decided it. ``applied``,
    ``unchanged`` or ``not_ours``."""
    intent_id = dispute.payment_intent_id
    if not intent_id and dispute.charge_id:
        try:
            intent_id = stripe_client.charge_retrieve(charge_id=dispute.charge_id).payment_intent_id
        except stripe_client.PaymentProviderNotFound:
            return "not_ours"
    payment = selectors.payment_get(payment_intent_id=intent_id) if intent_id else None
    order = order_selectors.order_get(order_id=payment.order_id) if payment else None
    if payment is None or order is None:
        return "not_ours"
    order_id_var.set(order.order_id)
    before = (order.dispute_flag, order.dispute_status, order.dispute_evidence_due_by)
    after = _dispute_record(payment, order, dispute, actor=actor)
    now = (after.dispute_flag, after.dispute_status, after.dispute_evidence_due_by)
    return "applied" if now != before else "unchanged"


def refunds_sync(
    *, payment_intent_id: str, actor: str, failure_reasons: dict[str, str] | None = None
) -> str:
    """Re-read every refund of a PaymentIntent from Stripe (all pages) and record them on the
    payment and its order: the refund webhooks' entry point. ``failure_reasons``: refund id ->
    the reason an event carried, used only for a refund Stripe itself says failed and whose
    re-read has no reason (localstripe keeps none). ``applied``, ``unchanged`` or
    ``not_ours``."""
    known = selectors.payment_get(payment_intent_id=payment_intent_id)
    if known is None:
        return "not_ours"
    order_id_var.set(known.order_id)
    refunds = stripe_client.refunds_of_payment_intent(payment_intent_id=payment_intent_id)
    if failure_reasons:
        refunds = [
            replace(r, failure_reason=failure_reasons[r.id])
            if r.status == "failed" and not r.failure_reason and r.id in failure_reasons
            else r
            for r in refunds
        ]
    payment = records.payment_record_refunds(payment_intent_id=payment_intent_id, refunds=refunds)
    if payment is None:
        return "not_ours"
    outcome = refunds_to_order(payment=payment, actor=actor)
    if outcome.changed:
        logger.info(
            "refunds recorded",
            extra={"order_id": payment.order_id, "refunded_amount": payment.amount_refunded},
        )
    changed = outcome.changed or payment.version != known.version
    return "applied" if changed else "unchanged"


def _apply_canceled(payment: Payment, *, actor: str, result: SyncResult) -> Order:
    if records.payment_record_canceled(payment_intent_id=payment.payment_id):
        result.changes.append("payment recorded as canceled")
    applied = order_actions.payment_canceled(order_id=payment.order_id, actor=actor)
    result.changes += applied.changes
    return applied.order
