"""Reads of payments and claimed webhook events: the only place that knows their keys and indexes.

No function here Scans: each is a Query of one partition (the payments table's range key is
``created_at``, so even "the payment of this PaymentIntent" is a one-item Query) or of one index.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from core.backoffice import STRIPE_EVENT
from core.dynamodb import utc_now
from core.formatting import label, money_format, when
from core.health import Banner
from orders.models import Order
from orders.selectors import order_get
from orders.timeline import TimelineEvent
from payments.models import HEALTH_PARTITION, IntegrationMarker, Payment, WebhookEvent

# A signature failure older than Stripe's three days of retries with no event since is history.
SIGNATURE_FAILURES_SHOWN_FOR = timedelta(days=3)
# Stripe counts as reachable again this long after its last failure, whatever else we know.
STRIPE_QUIET_MINUTES = 10


def payment_get(*, payment_intent_id: str) -> Payment | None:
    """The payment of a PaymentIntent, strongly consistent, or None if it is not one of ours."""
    if not payment_intent_id.startswith("pi_"):
        return None
    return next(iter(Payment.query(payment_intent_id, limit=1, consistent_read=True)), None)


def payments_for_order(*, order_id: str, limit: int | None = None) -> list[Payment]:
    """An order's payments, newest first (``order-id-index``; eventually consistent), at most
    ``limit`` (None: all; an order has a handful)."""
    return list(Payment.order_index.query(order_id, scan_index_forward=False, limit=limit))


def orders_by_payment_intent(*, payment_intent_id: str) -> list[Order]:
    """The order a PaymentIntent paid for (the payments table's key, then the order's), as a
    list for searches: empty when the intent or its order is unknown."""
    payment = payment_get(payment_intent_id=payment_intent_id)
    order = order_get(order_id=payment.order_id) if payment else None
    return [order] if order else []


def orders_by_charge(*, charge_id: str) -> list[Order]:
    """The order a Stripe charge paid for (``charge-id-index``, then the order), as a list for
    searches: empty when the charge is not ours."""
    charge_id = charge_id.strip()
    if not charge_id:
        return []
    payment = next(iter(Payment.charge_index.query(charge_id, limit=1)), None)
    order = order_get(order_id=payment.order_id) if payment else None
    return [order] if order else []


def payments_with_status(*, status: str, limit: int = 50) -> list[Payment]:
    """Payments in one PaymentIntent status, newest first (``payment-status-index``)."""
    return list(Payment.status_index.query(status, scan_index_forward=False, limit=limit))


def webhook_event_get(*, event_id: str) -> WebhookEvent | None:
    try:
        return WebhookEvent.get(
            WebhookEvent.key_for(event_id), STRIPE_EVENT.sk, consistent_read=True
        )
    except DoesNotExist:
        return None


def _age(at: str | None) -> timedelta | None:
    return utc_now() - datetime.fromisoformat(at) if at else None


def integration_banners() -> list[Banner]:
    """Stripe's conditions that last right now (one Query of the ``HEALTH`` markers; see
    ``payments.services.health`` for when each one starts and ends)."""
    markers = {m.sk: m for m in IntegrationMarker.query(HEALTH_PARTITION, consistent_read=True)}
    banners: list[Banner] = []
    webhook, stripe = markers.get("webhook"), markers.get("stripe")
    last_event = (
        f"last verified event {when(webhook.last_event_at)}"
        if webhook and (webhook.last_event_at)
        else "no verified event yet"
    )
    if webhook and int(webhook.signature_failures or 0) > 0:
        age = _age(webhook.last_signature_failure_at)
        if age is not None and age < SIGNATURE_FAILURES_SHOWN_FOR:
            banners.append(
                Banner(
                    "webhook-signature-failures",
                    "Stripe webhooks fail their signature check",
                    f"{int(webhook.signature_failures)} refused since the last good event, the "
                    f"latest {when(webhook.last_signature_failure_at)} ({last_event}). If the "
                    "signing secret was rotated in Stripe, update the stripe secret; until "
                    "then no event is applied (the reconciliation job still pays orders).",
                )
            )
    if webhook and int(webhook.missed_payments or 0) > 0:
        banners.append(
            Banner(
                "webhook-silent",
                "Stripe webhooks are silent while orders are being paid",
                f"{int(webhook.missed_payments)} payment(s) succeeded in Stripe with no event "
                f"since the last one ({last_event}); the reconciliation job applied them, the "
                f"latest {when(webhook.last_missed_at)}. Check the webhook endpoint in Stripe's "
                "dashboard (URL, enabled, failed deliveries).",
            )
        )
    if stripe and int(stripe.failures or 0) > 0:
        age = _age(stripe.last_failure_at)
        if age is not None and age < timedelta(minutes=STRIPE_QUIET_MINUTES):
            banners.append(
                Banner(
                    "stripe-unreachable",
                    "Stripe cannot be reached",
                    f"{int(stripe.failures)} call(s) failed (connection, timeout or Stripe "
                    f"error), the latest {when(stripe.last_failure_at)}. Checkouts, refunds "
                    "and syncs fail until it answers; see status.stripe.com.",
                )
            )
    return banners


# --- The payments part of an order's timeline ---------------------------------------------------


def _attempt_title(status: str, first: bool) -> tuple[str, str]:
    if first and status != "succeeded":
        return "payment", "Payment opened in Stripe"
    if status == "succeeded":
        return "payment", "Payment succeeded"
    if status in {"requires_payment_method", "failed"}:
        return "payment", "Payment attempt failed"
    return "payment", f"Payment {status.replace('_', ' ')}"


def order_payment_events(order: Order) -> list[TimelineEvent]:
    """The payment attempts and refunds of ``order`` as timeline lines (one Query of
    ``order-id-index``): each attempt with Stripe's failure code and message, each refund
    with its amount, status, reason and who asked for it (``ref``: the refund id, so the
    audit log's copy is not shown twice)."""
    events: list[TimelineEvent] = []
    for payment in payments_for_order(order_id=order.order_id, limit=20):
        for n, attempt in enumerate(payment.attempts or []):
            kind, title = _attempt_title(attempt.status, n == 0)
            failure = " ".join(x for x in [attempt.failure_code, attempt.failure_message] if x)
            events.append(
                TimelineEvent(
                    at=attempt.at,
                    kind=kind,
                    title=title,
                    actor="Storefront" if n == 0 else "Stripe (system)",
                    detail=f"{payment.payment_id}" + (f": {failure}" if failure else ""),
                    system=n != 0,
                )
            )
        for refund in payment.refunds or []:
            who = refund.requested_by or "Stripe dashboard"
            events.append(
                TimelineEvent(
                    at=refund.created_at,
                    kind="refund",
                    title=f"Refund of {money_format(int(refund.amount), payment.currency)}: "
                    f"{label(refund.status)}",
                    actor=who,
                    detail=refund.refund_id,
                    reason=refund.reason or "",
                    system=refund.requested_by is None,
                    ref=refund.refund_id,
                )
            )
    return events
