"""Stripe webhooks: verify, claim, dispatch, finish. Each event id takes effect once.

1. **Verify** ``Stripe-Signature`` over the raw body (``stripe_client.webhook_event_verify``,
   5-minute tolerance). Missing, wrong, stale or replayed-too-late signatures raise
   ``WebhookSignatureInvalid`` (400) and change nothing; each one counts in the
   ``WebhookSignatureFailures`` metric an alarm watches.
2. **Claim** the event id before any effect: one conditional UpdateItem on
   ``EVENT#{id}`` in the back-office table that succeeds only if the item is absent, or
   ``in_progress`` with an expired lease (its worker died halfway). Concurrent deliveries of one
   event: one wins, the others answer ``409 event_in_progress`` (Stripe retries them later and
   then gets ``200 duplicate``), so a crash of the winner is never hidden behind a 200.
3. **Dispatch** by event type (``HANDLERS``). Types we do not handle are recorded as
   ``ignored`` and answered 200. Handlers re-read the PaymentIntent or charge from Stripe for
   decisions that move money or state (an event's object is a snapshot and may be stale):
   ``payment_intent.*`` events go through ``payments.services.sync.payment_sync``, the one
   entry point the scheduled jobs and the staff "Sync with Stripe" action use too.
4. **Finish**: ``done`` with its outcome, the order it touched, and an audit entry on that
   order. If a handler fails, the event is stored ``failed`` with the error and the answer is
   503, so Stripe's retry (or a staff "Replay" in the admin's Stripe events) applies it again;
   if the process dies instead, the lease (``LEASE_SECONDS``) runs out and the retry re-claims
   it. An object Stripe does not know (404) is ``not_ours`` and answered 200: no retry could
   ever apply it. A handler that found our Stripe budget full (``PaymentProviderBusy``: an
   on-sale using it all) is *deferred*: stored ``failed`` with that reason and answered 503
   ``webhook_deferred`` like a failure, but counted in ``WebhookEventsDeferred``, not in the
   ``WebhookEventsFailed`` an alarm pages on at the first.

Every verified event is kept in the inbox (``payments.services.events``) with its outcome:
applied, unchanged, stale, ignored, not_ours, failed; a repeated delivery is counted on its
row and answered ``duplicate``. Bodies up to ``WEBHOOK_MAX_BODY_BYTES`` are accepted.

Because a re-claimed event may have been half applied, every effect is idempotent on its own
(conditional writes in ``orders.services.transitions`` and ``payments.services.records``), and
a metric is emitted only by the write that actually changed the state: ten deliveries, one
change, one data point.

This module must not log payloads, client secrets or card details: ids, types and outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.audit import SYSTEM_STRIPE
from core.exceptions import ApplicationError, Conflict, PaymentProviderBusy, ServiceUnavailable
from core.logging import order_id_var
from core.metrics import metric_emit
from integrations import stripe_client
from payments import selectors
from payments.models import Payment, WebhookEventStatus
from payments.services import events, health, records
from payments.services.events import LEASE_SECONDS
from payments.services.sync import dispute_apply, payment_sync, refunds_sync

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300

# The largest event body accepted: 1 MiB. Stripe publishes no maximum event size, and an event
# carries a whole object (plus ``previous_attributes`` on ``*.updated``): metadata alone may be
# 50 keys of 40 characters with 500-character values (about 27 KB) on each of the object and
# its previous attributes, and objects embed lists (refunds, line items) and nested objects.
# Events of 100 KB and more are real, so the site-wide 64 KB limit for storefront bodies made
# such an event fail on every retry until Stripe gave up. 1 MiB is ten times the biggest events
# reported, still bounded (one request cannot make the Lambda hold more than 1 MiB), and far
# under API Gateway's 10 MB request limit and Lambda's 6 MB synchronous payload.
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024


class WebhookSignatureInvalid(ApplicationError):
    status_code = 400
    code = "invalid_signature"
    message = "The Stripe-Signature header is missing, malformed, wrong or too old."


class WebhookEventMalformed(ApplicationError):
    status_code = 400
    code = "invalid_event"
    message = "The event has no data.object with an id."


class WebhookEventInProgress(Conflict):
    code = "event_in_progress"
    message = "This event is being processed by another delivery; retry later."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": str(LEASE_SECONDS)})


class WebhookProcessingFailed(ServiceUnavailable):
    code = "webhook_processing_failed"
    message = "The event could not be processed now; it will be applied when Stripe retries."


class WebhookProcessingDeferred(ServiceUnavailable):
    """Our Stripe budget had no slot for the handler's re-read in time (an on-sale saturating
    it): nothing is wrong, the event waits for Stripe's retry."""

    code = "webhook_deferred"
    message = "Payments are busy; the event will be applied when Stripe retries."


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    outcome: str  # applied, unchanged, duplicate, ignored, not_ours, stale


# --- Handlers ------------------------------------------------------------------------------


def _payment_for_intent(payment_intent_id: str) -> Payment | None:
    payment = selectors.payment_get(payment_intent_id=payment_intent_id)
    if payment is None:
        # Another integration's PaymentIntent on the same Stripe account, or a test event.
        logger.info("webhook for a PaymentIntent that is not ours")
        return None
    order_id_var.set(payment.order_id)
    return payment


def _order_for_intent(payment_intent_id: str) -> str | None:
    payment = _payment_for_intent(payment_intent_id)
    return payment.order_id if payment else None


def _synced(event: dict[str, Any], *, announced: str) -> str:
    """A ``payment_intent.*`` event only says which PaymentIntent to re-read: the sync applies
    what Stripe says now. ``stale``: the event announced a status Stripe no longer (or never)
    had, and nothing changed."""
    result = payment_sync(payment_intent_id=event["data"]["object"]["id"], actor=SYSTEM_STRIPE)
    if result.outcome in {"not_ours", "not_in_stripe"}:
        return "not_ours"
    if not result.changed and result.stripe_status != announced:
        return "stale"
    return result.outcome


def _on_payment_intent_succeeded(event: dict[str, Any]) -> str:
    return _synced(event, announced="succeeded")


def _on_payment_intent_canceled(event: dict[str, Any]) -> str:
    return _synced(event, announced="canceled")


def _on_payment_intent_payment_failed(event: dict[str, Any]) -> str:
    intent = event["data"]["object"]
    order_id = _order_for_intent(intent["id"])
    if order_id is None:
        return "not_ours"
    # What Stripe says now first (a failure delivered after a later success changes nothing);
    # then the attempt's details, which only this event carries, on the payment's history.
    result = payment_sync(payment_intent_id=intent["id"], actor=SYSTEM_STRIPE)
    error = intent.get("last_payment_error") or {}
    # Recorded on the payment only: the order stays as it is (a pending order stays payable,
    # a paid one stays paid).
    failure_code = error.get("decline_code") or error.get("code")
    recorded = records.payment_record_attempt(
        payment_intent_id=intent["id"],
        event_id=event["id"],
        status="requires_payment_method",
        failure_code=failure_code,
        failure_message=error.get("message"),
    )
    if recorded:
        logger.info(
            "payment attempt failed", extra={"order_id": order_id, "failure_code": failure_code}
        )
        metric_emit("PaymentsFailed")
    return "applied" if recorded or result.changed else "unchanged"


def _on_charge_refunded(event: dict[str, Any]) -> str:
    """``charge.refunded``: re-read the charge's PaymentIntent's refunds, all of them."""
    charge = stripe_client.charge_retrieve(charge_id=event["data"]["object"]["id"])
    if not charge.payment_intent_id:
        return "not_ours"
    return refunds_sync(payment_intent_id=charge.payment_intent_id, actor=SYSTEM_STRIPE)


def _on_refund_changed(event: dict[str, Any]) -> str:
    """``refund.created``/``refund.updated``/``refund.failed``/``charge.refund.updated``: a
    refund was made or changed (an asynchronous refund succeeded, or failed later, with
    Stripe's ``failure_reason``). Re-read from Stripe; the event's reason is kept only for a
    refund Stripe itself says failed."""
    obj = event["data"]["object"]
    try:
        refund = stripe_client.refund_retrieve(refund_id=obj["id"])
    except stripe_client.PaymentProviderNotFound:
        return "not_ours"
    intent_id = refund.payment_intent_id
    if not intent_id and refund.charge_id:
        intent_id = stripe_client.charge_retrieve(charge_id=refund.charge_id).payment_intent_id
    if not intent_id:
        return "not_ours"
    reason = obj.get("failure_reason")
    return refunds_sync(
        payment_intent_id=intent_id,
        actor=SYSTEM_STRIPE,
        failure_reasons={refund.id: reason} if isinstance(reason, str) else None,
    )


def _on_dispute(event: dict[str, Any]) -> str:
    """``charge.dispute.created``/``updated``/``closed``: flag the order with the evidence due
    date while the dispute is open; close it once decided. The dispute is re-read from Stripe;
    localstripe has no disputes, so there (a 404) the event's object is used."""
    obj = event["data"]["object"]
    try:
        dispute = stripe_client.dispute_retrieve(dispute_id=obj["id"])
    except stripe_client.PaymentProviderNotFound:
        dispute = stripe_client.dispute_from_event(obj)
    return dispute_apply(dispute=dispute, actor=SYSTEM_STRIPE)


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "payment_intent.payment_failed": _on_payment_intent_payment_failed,
    "payment_intent.canceled": _on_payment_intent_canceled,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund_changed,
    "refund.created": _on_refund_changed,
    "refund.updated": _on_refund_changed,
    "refund.failed": _on_refund_changed,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
}


# --- Entry point ---------------------------------------------------------------------------


def _ids(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """The event's object id and the PaymentIntent it names, if any (for the inbox row)."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return None, None
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    intent = obj.get("payment_intent")
    if object_id and object_id.startswith("pi_"):
        intent = object_id
    return object_id, intent if isinstance(intent, str) else None


def webhook_process(*, payload: bytes, signature_header: str | None) -> WebhookResult:
    """Verify, claim, apply and finish one delivery of a Stripe event."""
    if not signature_header:
        metric_emit("WebhookSignatureFailures")
        health.webhook_signature_failed()
        logger.warning("webhook rejected: no Stripe-Signature header")
        raise WebhookSignatureInvalid()
    try:
        event = stripe_client.webhook_event_verify(
            payload=payload,
            signature_header=signature_header,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except ValueError as error:
        metric_emit("WebhookSignatureFailures")
        health.webhook_signature_failed()
        logger.warning("webhook rejected", extra={"reason": str(error)})
        raise WebhookSignatureInvalid() from None
    health.webhook_event_received()

    event_id, event_type = event["id"], str(event["type"])
    log = {"event_id": event_id, "event_type": event_type}
    handler = HANDLERS.get(event_type)
    object_id, intent_id = _ids(event)
    if handler is not None and object_id is None:
        # Signed but unusable (Stripe never sends this): refuse rather than fail on every retry.
        logger.warning("webhook event malformed", extra=log)
        raise WebhookEventMalformed()
    if handler is None:
        ignored = events.webhook_event_record_ignored(
            event_id=event_id, event_type=event_type, object_id=object_id
        )
        if not ignored:
            events.webhook_event_count_duplicate(event_id=event_id)
        outcome = "ignored" if ignored else "duplicate"
        logger.info("webhook event not handled", extra={**log, "outcome": outcome})
        return WebhookResult(event_id, event_type, outcome)

    token = events.webhook_event_claim(
        event_id=event_id, event_type=event_type, object_id=object_id, payment_intent_id=intent_id
    )
    if token is None:
        record = selectors.webhook_event_get(event_id=event_id)
        if record is not None and record.status != WebhookEventStatus.IN_PROGRESS:
            events.webhook_event_count_duplicate(event_id=event_id)
            logger.info("webhook event already processed", extra={**log, "outcome": "duplicate"})
            return WebhookResult(event_id, event_type, "duplicate")
        logger.info("webhook event in progress elsewhere", extra=log)
        raise WebhookEventInProgress()

    # The handlers find the order through the payment and set it as the log context: the
    # inbox row and the order's audit entry take it from there.
    order_id_var.set(None)
    try:
        outcome = handler(event)
    except stripe_client.PaymentProviderNotFound:
        # Stripe does not know the object (another account's, a test event, deleted): no retry
        # can ever apply it, so answer 2xx instead of a 503 Stripe would retry for three days.
        outcome = "not_ours"
    except Exception as error:
        # Kept ``failed`` with the reason, so the retry (or a staff replay) claims it at once.
        events.webhook_event_fail(
            event_id=event_id,
            event_type=event_type,
            token=token,
            error=error,
            order_id=order_id_var.get(),
        )
        if isinstance(error, PaymentProviderBusy):
            # Busy, not broken: counted apart from failures, whose alarm pages at the first.
            metric_emit("WebhookEventsDeferred")
            logger.warning("webhook event deferred: our Stripe budget is busy", extra=log)
            retry_after = int(error.headers["Retry-After"])
            raise WebhookProcessingDeferred(retry_after=retry_after) from None
        metric_emit("WebhookEventsFailed")
        logger.exception("webhook event failed; Stripe will retry it", extra=log)
        raise WebhookProcessingFailed() from error
    events.webhook_event_finish(
        event_id=event_id,
        event_type=event_type,
        token=token,
        outcome=outcome,
        order_id=order_id_var.get() if outcome != "not_ours" else None,
    )
    logger.info("webhook event processed", extra={**log, "outcome": outcome})
    return WebhookResult(event_id, event_type, outcome)
