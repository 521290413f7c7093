"""One entry point for every payment update: ``payment_sync`` re-reads a PaymentIntent (and its
latest charge's refunds and dispute flag) from Stripe and moves the order forward to match.

Stripe is the source of truth. Every caller goes through here: the webhook handlers for
``payment_intent.*`` (an event only says *what* to re-read; actor ``system#stripe``), the order
expiry job and the reconciliation job (``system#scheduler``), and the staff "Sync with Stripe"
action on the order page (the staff member's username). So an order paid in Stripe whose
webhook never arrived is paid by the next job run, the same way the webhook would have paid it.

Forward only, exactly once: every effect is one of the existing conditional actions
(``orders.services.transitions``: ``order_mark_paid`` from ``pending_payment``,
``order_mark_canceled`` from ``pending_payment``, ``order_record_refund`` with a total that
only grows, ``order_flag_dispute`` once; ``orders.services.fulfillment.fulfillment_start``
from ``not_started``; the payment item's changes in ``payments.services.records``). Each
records its own audit entry with the actor when, and only when, it changes something; a late
or repeated sync finds its condition false and changes nothing, so a sync never moves an order
backwards (a ``canceled`` intent never un-pays an order; a smaller refund total never lowers
the recorded one).

``payments_reconcile`` is the scheduled sweep: the ``pending_payment`` orders older than a few
minutes, read from ``order-status-index`` oldest first (a Query, never a Scan), each synced.

This module must not log payloads, client secrets or card data: ids, statuses and amounts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from orders import selectors as order_selectors
from orders.models import FulfillmentStatus, Order, OrderStatus
from orders.services import transitions
from orders.services.fulfillment import fulfillment_start
from payments import selectors, stripe_client
from payments.models import Payment
from payments.services import health, records
from tickets.audit import SYSTEM_SCHEDULER
from tickets.dynamodb import iso_utc, utc_now
from tickets.formatting import money_format
from tickets.logging import order_id_var
from tickets.metrics import metric_emit

logger = logging.getLogger(__name__)

# A pending order younger than this is most likely being paid right now; its webhook usually
# lands within seconds, so the sweep leaves it alone.
RECONCILE_AFTER_MINUTES = 5
# Orders checked per run at most (each costs one Stripe read and a few DynamoDB requests).
RECONCILE_LIMIT = 200

PAID_OR_LATER = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.FULFILLMENT_FAILED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
)


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
    order_id = payment.order_id
    # The payment first: a payment for an order canceled meanwhile is still on record.
    if records.payment_record_success(
        payment_intent_id=payment.payment_id, charge_id=intent.latest_charge, current=payment
    ):
        result.changes.append("payment recorded as succeeded")
    outcome = transitions.order_mark_paid(order_id=order_id, actor=actor)
    order = outcome.order
    if outcome.changed:
        metric_emit("PaymentsSucceeded")
        logger.info("order paid", extra={"order_id": order_id, "actor": actor})
        result.changes.append("marked paid, its seats sold")
        if actor == SYSTEM_SCHEDULER:  # a job found what no webhook event announced
            health.payment_found_without_webhook()
    # Also when the order was paid already: a sync whose first run died between paying and
    # starting fulfillment must still start it (the start is conditional, the vendor call
    # idempotent).
    if (
        order.status == OrderStatus.PAID
        and order.fulfillment_status == FulfillmentStatus.NOT_STARTED
        and fulfillment_start(order_id=order_id)
    ):
        result.changes.append("fulfillment started")
    if intent.latest_charge and order.status in PAID_OR_LATER:
        order = _apply_charge(payment, order, intent.latest_charge, actor=actor, result=result)
    return order


def _apply_charge(
    payment: Payment, order: Order, charge_id: str, *, actor: str, result: SyncResult
) -> Order:
    """Refunds and disputes Stripe knows of on the charge and we have not recorded."""
    charge = stripe_client.charge_retrieve(charge_id=charge_id)
    recorded = int(order.refunded_amount or 0)
    if charge.refunds or charge.amount_refunded:
        records.payment_record_refunds(payment_intent_id=payment.payment_id, charge=charge)
    if charge.amount_refunded > recorded:
        outcome = transitions.order_record_refund(
            order_id=order.order_id, refunded_total=charge.amount_refunded, actor=actor
        )
        if outcome.changed:
            order = outcome.order
            result.changes.append(
                f"refund recorded ({money_format(int(order.refunded_amount or 0), order.currency)}"
                " refunded in all)"
            )
    if charge.disputed and not order.disputed:
        records.payment_record_dispute(payment_intent_id=payment.payment_id)
        outcome = transitions.order_flag_dispute(order_id=order.order_id, actor=actor)
        if outcome.changed:
            order = outcome.order
            metric_emit("Disputes")
            result.changes.append("dispute flagged: answer it in Stripe")
    return order


def _apply_canceled(payment: Payment, *, actor: str, result: SyncResult) -> Order:
    if records.payment_record_canceled(payment_intent_id=payment.payment_id):
        result.changes.append("payment recorded as canceled")
    outcome = transitions.order_mark_canceled(
        order_id=payment.order_id, reason="payment_intent_canceled", actor=actor
    )
    if outcome.changed:
        result.changes.append("canceled, its seats released")
    return outcome.order


# --- Reconciliation ------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)  # order ids
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    stopped_early: bool = False  # out of time; the next run goes on

    def summary(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "failed": len(self.failed),
        }


def payments_reconcile(
    *,
    older_than_minutes: int = RECONCILE_AFTER_MINUTES,
    limit: int = RECONCILE_LIMIT,
    deadline: float | None = None,
    progress: Callable[[Order, SyncResult | None], None] | None = None,
) -> ReconcileReport:
    """Sync every ``pending_payment`` order created more than ``older_than_minutes`` ago, oldest
    first, at most ``limit``; stop starting new ones after ``deadline`` (``time.monotonic()``).
    One order's failure (Stripe unreachable...) does not stop the others: the next run retries
    it. ``progress(order, result)`` is called after each (``result`` None when it failed)."""
    cutoff = iso_utc(utc_now() - timedelta(minutes=older_than_minutes))
    report = ReconcileReport()
    for order in order_selectors.orders_with_status(
        status=OrderStatus.PENDING_PAYMENT.value,
        created_before=cutoff,
        limit=limit,
        oldest_first=True,
    ):
        if deadline is not None and time.monotonic() > deadline:
            report.stopped_early = True
            break
        if not order.payment_intent_id:
            continue
        report.checked += 1
        result: SyncResult | None = None
        try:
            result = payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
        except Exception:
            logger.exception("payment sync failed", extra={"order_id": order.order_id})
            report.failed.append(order.order_id)
        else:
            if result.changed:
                report.changed.append(order.order_id)
            else:
                report.unchanged += 1
        if progress is not None:
            progress(order, result)
    return report
