"""The reconciliation: the scheduled sweep that finds what no webhook announced.

``payments_reconcile`` (every 15 minutes, ``payments.jobs``) runs four bounded sweeps, each
order's failure isolated (the next run retries): unpaid orders older than a few minutes synced
with their PaymentIntent (``payments.services.sync.payment_sync``, the same path as the
webhook); Stripe's recent refunds, disputes and our orphaned PaymentIntents, read page by page
from Stripe's lists. Every change goes through the same services as the webhooks', so a sweep
repeated or racing a webhook changes nothing twice.

This module must not log payloads, client secrets or card data: ids, statuses and amounts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from core.audit import SYSTEM_SCHEDULER
from core.dynamodb import iso_utc, utc_now
from core.logging import log_item
from integrations import stripe_client
from orders import selectors as order_selectors
from orders.models import Order, OrderStatus
from payments import selectors
from payments.models import Payment
from payments.services import records
from payments.services.refund_records import refunds_to_order
from payments.services.sync import SyncResult, dispute_apply, payment_sync

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
    ``(created_after, created_before]``, still cancelable, whose order does not exist or
    never recorded them and no longer awaits payment (a "Pay" whose record failed, then the
    order expired): canceled (once: the cancel's idempotency key is the intent's). Intents of another
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
            order = order_selectors.order_get(order_id=order_id)
            if order is not None and (
                order.payment_intent_id == intent.id
                or order.status == OrderStatus.PENDING_PAYMENT.value
            ):
                # The order's own intent (the expiry job and the sync handle it), or one its
                # buyer may still record by pressing "Pay" again.
                continue
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
