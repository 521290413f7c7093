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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from core.audit import SYSTEM_SCHEDULER
from core.dynamodb import iso_utc, utc_now
from core.formatting import money_format
from core.logging import log_item, order_id_var
from core.metrics import metric_emit
from integrations import stripe_client
from orders import selectors as order_selectors
from orders.models import DISPUTE_OPEN, AttentionReason, FulfillmentStatus, Order, OrderStatus
from orders.services import transitions
from orders.services.attention import order_attention_set
from orders.services.fulfillment import fulfillment_start
from payments import selectors
from payments.models import Payment
from payments.services import health, records
from payments.services.refund_records import (
    refunds_record,
    refunds_to_order,
    refunds_unanswered_fail,
)

logger = logging.getLogger(__name__)

# A pending order younger than this is most likely being paid right now; its webhook usually
# lands within seconds, so the sweep leaves it alone.
RECONCILE_AFTER_MINUTES = 5
# Orders checked per run at most (each costs one Stripe read and a few DynamoDB requests).
RECONCILE_LIMIT = 200
# How far back the sweeps read Stripe's refunds and disputes. Refunds: past Stripe's three days
# of webhook retries, with margin (a refund failing later changes an old refund: its
# ``charge.refund.updated`` event is the usual way; the staff sync and the order's own sync
# read all of an order's refunds whatever their age). Disputes: they stay open for weeks.
REFUNDS_WINDOW = timedelta(days=7)
# PaymentIntents of ours with no order (issue 29, F8): looked for among those created in this
# window, and only once older than the grace (an order is written before its intent is asked
# for, so an intent younger than this may belong to a creation still running).
ORPHANS_WINDOW = timedelta(hours=6)
ORPHANS_GRACE = timedelta(minutes=15)
# What Stripe lets us cancel (and all an orphan can be unless its buyer paid it).
CANCELABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)
DISPUTES_WINDOW = timedelta(days=120)

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
    # Marked first (only while it is pending, so once): an order whose payment succeeded and
    # which something stops from paying below (a crash, a timeout) shows in the needs-attention
    # queue as "pending with a succeeded payment" until a sync pays it (which clears the mark).
    current = order_selectors.order_get(order_id=order_id)
    if (
        current is not None
        and current.status == OrderStatus.PENDING_PAYMENT
        and payment.status != "succeeded"  # else the run that recorded it marked it
    ):
        order_attention_set(
            order_id=order_id,
            reason=AttentionReason.PENDING_SUCCEEDED,
            order=current,
            only_pending=True,
        )
    # The payment first: a payment for an order canceled meanwhile is still on record.
    if records.payment_record_success(
        payment_intent_id=payment.payment_id, charge_id=intent.latest_charge, current=payment
    ):
        result.changes.append("payment recorded as succeeded")
    outcome = transitions.order_mark_paid(order_id=order_id, actor=actor, order=current)
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
        outcome = refunds_record(payment_intent_id=payment.payment_id, refunds=refunds, actor=actor)
        lost = refunds_unanswered_fail(payment_intent_id=payment.payment_id, actor=actor)
        if lost:
            result.changes.append(
                f"{lost} refund request(s) that never reached Stripe recorded as failed: "
                "refund again if it is still wanted"
            )
        if outcome is not None and outcome.changed:
            order = outcome.order
            result.changes.append(
                f"refunds recorded ({money_format(int(order.refunded_amount or 0), order.currency)}"
                " refunded in all)"
            )
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
    """Flag (or, once Stripe decided it, close) the order's dispute, and note it on the
    payment."""
    records.payment_record_dispute(payment_intent_id=payment.payment_id, dispute=dispute)
    if dispute is not None and not dispute.open:
        outcome = transitions.order_close_dispute(
            order_id=order.order_id, dispute_status=dispute.status, actor=actor
        )
        if outcome.changed and result is not None:
            result.changes.append(f"dispute closed in Stripe ({dispute.status})")
        return outcome.order
    outcome = transitions.order_flag_dispute(
        order_id=order.order_id,
        actor=actor,
        dispute_id=dispute.id if dispute else None,
        dispute_status=dispute.status if dispute else None,
        evidence_due_by=(
            iso_utc(datetime.fromtimestamp(dispute.evidence_due_by, UTC))
            if dispute and dispute.evidence_due_by
            else None
        ),
    )
    if outcome.changed:
        metric_emit("Disputes")
        logger.warning(
            "charge disputed: answer it in Stripe before the deadline",
            extra={
                "order_id": order.order_id,
                "dispute_reason": dispute.reason if dispute else None,
            },
        )
        if result is not None:
            result.changes.append("dispute flagged: answer it in Stripe")
    return outcome.order


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
    outcome = transitions.order_mark_canceled(
        order_id=payment.order_id, reason="payment_intent_canceled", actor=actor
    )
    if outcome.changed:
        result.changes.append("canceled, its seats released")
    return outcome.order


# --- Reconciliation ------------------------------------------------------------------------


@dataclass
class SweepReport:
    """One of the reconciliation's sweeps over Stripe's lists (refunds, disputes)."""

    checked: int = 0  # payments of ours the list had something about
    changed: list[str] = field(default_factory=list)  # order ids
    failed: list[str] = field(default_factory=list)
    unavailable: bool = False  # this Stripe has no such list (localstripe: disputes)


@dataclass
class ReconcileReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)  # order ids
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    stopped_early: bool = False  # out of time; the next run goes on
    refunds: SweepReport = field(default_factory=SweepReport)
    disputes: SweepReport = field(default_factory=SweepReport)
    orphans: SweepReport = field(default_factory=SweepReport)  # changed: intents canceled

    def summary(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "refunds_checked": self.refunds.checked,
            "refunds_changed": len(self.refunds.changed),
            "disputes_checked": self.disputes.checked,
            "disputes_changed": len(self.disputes.changed),
            "orphans_checked": self.orphans.checked,
            "orphans_canceled": len(self.orphans.changed),
        }


def payments_reconcile(
    *,
    older_than_minutes: int = RECONCILE_AFTER_MINUTES,
    limit: int = RECONCILE_LIMIT,
    deadline: float | None = None,
    progress: Callable[[Order, SyncResult | None], None] | None = None,
    refunds_window: timedelta = REFUNDS_WINDOW,
    disputes_window: timedelta = DISPUTES_WINDOW,
    orphans_window: timedelta = ORPHANS_WINDOW,
    orphans_grace: timedelta = ORPHANS_GRACE,
) -> ReconcileReport:
    """Three sweeps, each bounded and each order's failure isolated (the next run retries):

    1. every ``pending_payment`` order created more than ``older_than_minutes`` ago, oldest
       first, at most ``limit``, synced (``payment_sync``);
    2. Stripe's refunds created in the last ``refunds_window``, read page by page: any of ours
       not recorded (or recorded with another status: failed since) is recorded on the payment
       and its order, and an order whose refunded amount disagrees with its payment is set
       right (``refunds_reconcile``);
    3. Stripe's disputes created in the last ``disputes_window``: any of ours not flagged is
       flagged with its evidence due date, a decided one is closed (``disputes_reconcile``);
    4. Stripe's PaymentIntents created in the last ``orphans_window``: one of ours (its
       ``order_id`` metadata) whose order does not exist, older than ``orphans_grace``, is
       canceled (``orphans_reconcile``): an order abandoned because its intent's creation
       timed out leaves an intent Stripe made after all.

    Stops starting new work after ``deadline`` (``time.monotonic()``).
    ``progress(order, result)`` is called after each order of sweep 1 (``result`` None when it
    failed)."""
    cutoff = iso_utc(utc_now() - timedelta(minutes=older_than_minutes))
    report = ReconcileReport()
    for order in order_selectors.orders_with_status(
        status=OrderStatus.PENDING_PAYMENT.value,
        created_before=cutoff,
        limit=limit,
        oldest_first=True,
    ):
        if _out_of_time(deadline):
            report.stopped_early = True
            break
        if not order.payment_intent_id:
            continue
        report.checked += 1
        result: SyncResult | None = None
        with log_item(order.order_id):
            try:
                result = payment_sync(
                    payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER
                )
            except Exception:
                logger.exception("payment sync failed")
                report.failed.append(order.order_id)
            else:
                if result.changed:
                    report.changed.append(order.order_id)
                else:
                    report.unchanged += 1
        if progress is not None:
            progress(order, result)
    now = int(time.time())
    if not report.stopped_early:
        report.stopped_early = not refunds_reconcile(
            created_after=now - int(refunds_window.total_seconds()),
            report=report.refunds,
            deadline=deadline,
        )
    if not report.stopped_early:
        report.stopped_early = not disputes_reconcile(
            created_after=now - int(disputes_window.total_seconds()),
            report=report.disputes,
            deadline=deadline,
        )
    if not report.stopped_early:
        report.stopped_early = not orphans_reconcile(
            created_after=now - int(orphans_window.total_seconds()),
            created_before=now - int(orphans_grace.total_seconds()),
            report=report.orphans,
            deadline=deadline,
        )
    return report


def orphans_reconcile(
    *, created_after: int, created_before: int, report: SweepReport, deadline: float | None
) -> bool:
    """PaymentIntents of ours (``order_id`` metadata naming one of our order ids) created in
    ``(created_after, created_before]``, still cancelable, whose order does not exist:
    canceled (once: the cancel's idempotency key is the intent's). Intents of another
    integration on the account are left alone. False if it ran out of time."""
    try:
        for intent in stripe_client.payment_intents_list(created_after=created_after):
            if _out_of_time(deadline):
                return False
            order_id = intent.metadata.get("order_id", "")
            if not order_selectors.ORDER_ID_PATTERN.match(order_id):
                continue  # not ours
            if intent.created is None or intent.created > created_before:
                continue  # too young: its order may still be being written
            if intent.status not in CANCELABLE:
                # Canceled already; or money moved (succeeded, processing): a payment event
                # about an order we do not have is kept in the event inbox as "not ours".
                continue
            if order_selectors.order_get(order_id=order_id) is not None:
                continue  # the expiry job and the sync handle intents of existing orders
            report.checked += 1
            with log_item(order_id):
                _orphan_cancel(intent, report)
    except stripe_client.PaymentProviderUnavailable:
        logger.warning("orphan intents not reconciled: Stripe unreachable; the next run retries")
        report.failed.append("stripe")
    return True


def _orphan_cancel(intent: stripe_client.PaymentIntent, report: SweepReport) -> None:
    try:
        stripe_client.payment_intent_cancel(
            payment_intent_id=intent.id, idempotency_key=f"orphan-cancel:{intent.id}"
        )
    except Exception:
        logger.exception(
            "orphan payment intent not canceled", extra={"payment_intent_id": intent.id}
        )
        report.failed.append(intent.id)
        return
    logger.info("orphan payment intent canceled", extra={"payment_intent_id": intent.id})
    report.changed.append(intent.id)


def _out_of_time(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def refunds_reconcile(*, created_after: int, report: SweepReport, deadline: float | None) -> bool:
    """Refunds in Stripe that this side has not recorded, or recorded otherwise. Stripe's list
    is read page by page (``refunds_list``) and grouped by PaymentIntent; for each of ours, one
    read of the payment and one of the order decide whether anything needs writing. False if
    it ran out of time."""
    by_intent: dict[str, list[stripe_client.RefundResult]] = {}
    try:
        for refund in stripe_client.refunds_list(created_after=created_after):
            intent_id = refund.payment_intent_id
            if not intent_id and refund.charge_id:
                intent_id = stripe_client.charge_retrieve(
                    charge_id=refund.charge_id
                ).payment_intent_id
            if intent_id:
                by_intent.setdefault(intent_id, []).append(refund)
    except stripe_client.PaymentProviderUnavailable:
        logger.warning("refunds not reconciled: Stripe unreachable; the next run retries")
        report.failed.append("stripe")
        return True
    for intent_id, refunds in by_intent.items():
        if _out_of_time(deadline):
            return False
        payment = selectors.payment_get(payment_intent_id=intent_id)
        if payment is None:
            continue  # another integration's payment on the same account
        report.checked += 1
        with log_item(payment.order_id):
            try:
                if _refunds_apply(payment, refunds):
                    report.changed.append(payment.order_id)
            except Exception:
                logger.exception("refund reconciliation failed")
                report.failed.append(payment.order_id)
    return True


def _refunds_apply(payment: Payment, refunds: list[stripe_client.RefundResult]) -> bool:
    known = {(r.refund_id, r.status, int(r.amount)) for r in payment.refunds}
    order = order_selectors.order_get(order_id=payment.order_id)
    agrees = all((r.id, r.status, r.amount) in known for r in refunds) and (
        order is None or int(order.refunded_amount or 0) == records.payment_refunded_total(payment)
    )
    if agrees:
        return False
    saved = records.payment_record_refunds(payment_intent_id=payment.payment_id, refunds=refunds)
    changed = saved is not None and saved.version != payment.version
    if saved is not None and order is not None:
        changed = refunds_to_order(payment=saved, actor=SYSTEM_SCHEDULER).changed or changed
    if changed:
        logger.info("refund reconciled", extra={"order_id": payment.order_id})
    return changed


def disputes_reconcile(*, created_after: int, report: SweepReport, deadline: float | None) -> bool:
    """Disputes in Stripe not flagged here (or decided since), from Stripe's dispute list, page
    by page. localstripe has no dispute endpoint: then the sweep says so and does nothing (the
    tests drive ``dispute_apply``, the code each listed dispute goes through, with signed
    ``charge.dispute.*`` events). False if it ran out of time."""
    try:
        for dispute in stripe_client.disputes_list(created_after=created_after):
            if _out_of_time(deadline):
                return False
            try:
                with log_item():  # dispute_apply names the order once it knows it
                    outcome = dispute_apply(dispute=dispute, actor=SYSTEM_SCHEDULER)
            except Exception:
                logger.exception("dispute reconciliation failed", extra={"dispute": dispute.id})
                report.failed.append(dispute.id)
                continue
            if outcome == "not_ours":
                continue
            report.checked += 1
            if outcome == "applied":
                report.changed.append(dispute.id)
    except stripe_client.PaymentProviderNotFound:
        if not report.unavailable:
            logger.warning("disputes not reconciled: this Stripe has no dispute list")
        report.unavailable = True
    except stripe_client.PaymentProviderUnavailable:
        logger.warning("disputes not reconciled: Stripe unreachable; the next run retries")
        report.failed.append("stripe")
    return True
