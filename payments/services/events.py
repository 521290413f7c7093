"""The Stripe event inbox (``EVENT#{id}`` / ``RECORD`` in the back-office table): the writes
that make each event take effect once and keep what it did (``payments.webhooks`` decides
when), and the staff replay of a failed event.

``webhook_event_claim`` is one conditional UpdateItem that succeeds only if the item is absent,
``in_progress`` with an expired lease (its worker died halfway), or ``failed`` (Stripe's retry
takes it again). ``webhook_event_finish`` stores the outcome (condition: our token);
``webhook_event_fail`` stores the error and lets the next retry re-claim it at once. Each
moves the item to its outcome's partitions of ``gsi1``/``gsi2`` (the admin's inbox).

An event that touched an order also writes an audit entry on that order (actor
``system#stripe``, the event type and outcome), so the order's timeline shows what Stripe told
us and what came of it. A failure is audited once (its first), not on every retry.

``webhook_event_replay`` is the admin's "Replay": for a ``failed`` event only, claimed with the
condition ``status = failed`` (two clicks, one replay), it re-reads the payment from Stripe
through ``payments.services.sync.payment_sync`` (never the stored payload: there is none, and
it could be stale) and records the outcome, audited on the event and on the order.

This module keeps ids, types and outcomes, never a payload.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import PutError, UpdateError

from core.audit import SYSTEM_STRIPE, audit_record
from core.backoffice import STRIPE_EVENT
from core.dynamodb import condition_failed, utc_now, utc_now_iso
from core.exceptions import ApplicationError
from integrations import stripe_client
from payments import selectors
from payments.models import (
    EventOutcome,
    WebhookEvent,
    WebhookEventStatus,
    inbox_partition,
    inbox_type_partition,
)
from payments.services.sync import payment_sync

logger = logging.getLogger(__name__)

# Longer than a Lambda invocation can run (30 s): a live worker never loses its claim.
LEASE_SECONDS = 60
# Events are kept well past Stripe's three days of retries, for staff to look back a month.
RETENTION = timedelta(days=30)
# What of an error is kept: its type and the start of its message (never a payload).
ERROR_CHARS = 300

EVENT_OBJECT_TYPE = "payments.stripeevent"  # the inbox's admin shape, for audit entries
ORDER_OBJECT_TYPE = "orders.order"


class EventNotReplayable(ApplicationError):
    status_code = 409
    code = "event_not_replayable"
    message = "Only a failed event can be replayed; this one is not failed (any more)."


class EventReplayFailed(ApplicationError):
    status_code = 503
    code = "event_replay_failed"
    message = "The replay failed; the event stays failed."


def _record(event_id: str) -> WebhookEvent:
    return WebhookEvent(pk=WebhookEvent.key_for(event_id), sk=STRIPE_EVENT.sk)


def _placed(event_type: str, outcome: str) -> list:
    """The actions that put the item in its outcome's partitions of the inbox."""
    return [
        WebhookEvent.outcome.set(outcome),
        WebhookEvent.gsi1pk.set(inbox_partition(outcome)),
        WebhookEvent.gsi2pk.set(inbox_type_partition(event_type, outcome)),
    ]


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:ERROR_CHARS]


def _order_audit(
    *, actor: str, order_id: str, event_type: str, outcome: str, event_id: str
) -> None:
    """The event's line in the order's timeline. Best effort: the event's own record already
    holds the outcome, and a failing audit write must not make Stripe retry an applied event."""
    words = "replayed by staff" if actor != SYSTEM_STRIPE else "Stripe webhook"
    try:
        audit_record(
            staff=actor,
            object_type=ORDER_OBJECT_TYPE,
            object_id=order_id,
            object_repr=order_id,
            action="stripe_event",
            summary=f"{words}: {event_type} ({event_id}) {outcome.replace('_', ' ')}",
            after={"event_id": event_id, "event_type": event_type, "outcome": outcome},
        )
    except Exception:
        logger.warning("could not audit a Stripe event on its order", exc_info=True)


def webhook_event_claim(
    *,
    event_id: str,
    event_type: str,
    object_id: str | None = None,
    payment_intent_id: str | None = None,
) -> str | None:
    """Take the event for this delivery; the claim token, or None if someone else holds it or
    it is done."""
    token = secrets.token_hex(8)
    now = int(time.time())
    received = utc_now_iso()
    sort = f"{received}#{event_id}"
    actions = [
        WebhookEvent.kind.set("webhook_event"),
        WebhookEvent.event_id.set(event_id),
        WebhookEvent.event_type.set(event_type),
        WebhookEvent.status.set(WebhookEventStatus.IN_PROGRESS),
        WebhookEvent.claim_token.set(token),
        WebhookEvent.lease_until.set(now + LEASE_SECONDS),
        WebhookEvent.deliveries.add(1),
        # The first delivery's time places the event in the inbox, whatever happens later.
        WebhookEvent.received_at.set(WebhookEvent.received_at | received),
        WebhookEvent.gsi1sk.set(WebhookEvent.gsi1sk | sort),
        WebhookEvent.gsi2sk.set(WebhookEvent.gsi2sk | sort),
        WebhookEvent.expires_at.set(utc_now() + RETENTION),
        *_placed(event_type, EventOutcome.PROCESSING),
    ]
    if object_id:
        actions.append(WebhookEvent.object_id.set(object_id))
    if payment_intent_id:
        actions.append(WebhookEvent.payment_intent_id.set(payment_intent_id))
    try:
        _record(event_id).update(
            actions=actions,
            condition=WebhookEvent.pk.does_not_exist()
            | (
                (WebhookEvent.status == WebhookEventStatus.IN_PROGRESS)
                & (WebhookEvent.lease_until < now)
            )
            | (WebhookEvent.status == WebhookEventStatus.FAILED),
        )
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return token


def webhook_event_finish(
    *,
    event_id: str,
    event_type: str,
    token: str,
    outcome: str,
    order_id: str | None = None,
    actor: str = SYSTEM_STRIPE,
) -> bool:
    """Store the outcome; audit it on the order it touched. False if our lease ran out and
    another delivery re-claimed the event (that one finishes it)."""
    actions = [
        WebhookEvent.status.set(WebhookEventStatus.DONE),
        WebhookEvent.done_at.set(utc_now_iso()),
        WebhookEvent.lease_until.remove(),
        *_placed(event_type, outcome),
    ]
    if order_id:
        actions.append(WebhookEvent.order_id.set(order_id))
    if actor != SYSTEM_STRIPE:
        actions.append(WebhookEvent.replayed_by.set(actor))
    try:
        _record(event_id).update(actions=actions, condition=WebhookEvent.claim_token == token)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    if order_id:
        _order_audit(
            actor=actor,
            order_id=order_id,
            event_type=event_type,
            outcome=outcome,
            event_id=event_id,
        )
    return True


def webhook_event_fail(
    *,
    event_id: str,
    event_type: str,
    token: str,
    error: BaseException,
    order_id: str | None = None,
) -> None:
    """Store the failure (``failed`` with its error) and let the next delivery, or a staff
    replay, claim the event at once instead of waiting for the lease."""
    actions = [
        WebhookEvent.status.set(WebhookEventStatus.FAILED),
        WebhookEvent.error.set(_error_text(error)),
        WebhookEvent.lease_until.set(0),
        WebhookEvent.failures.add(1),
        WebhookEvent.done_at.set(utc_now_iso()),
        *_placed(event_type, EventOutcome.FAILED),
    ]
    if order_id:
        actions.append(WebhookEvent.order_id.set(order_id))
    record = _record(event_id)
    try:
        record.update(
            actions=actions,
            condition=(WebhookEvent.claim_token == token)
            & (WebhookEvent.status == WebhookEventStatus.IN_PROGRESS),
        )
    except Exception:
        logger.warning("could not record a webhook failure; its lease will expire", exc_info=True)
        return
    if order_id and int(record.failures or 0) == 1:
        _order_audit(
            actor=SYSTEM_STRIPE,
            order_id=order_id,
            event_type=event_type,
            outcome=EventOutcome.FAILED,
            event_id=event_id,
        )


def webhook_event_record_ignored(
    *, event_id: str, event_type: str, object_id: str | None = None
) -> bool:
    """Record an event type we do not handle; False if it was recorded before."""
    now = utc_now_iso()
    sort = f"{now}#{event_id}"
    try:
        WebhookEvent(
            pk=WebhookEvent.key_for(event_id),
            event_id=event_id,
            event_type=event_type,
            status=WebhookEventStatus.IGNORED,
            deliveries=1,
            outcome=EventOutcome.IGNORED,
            object_id=object_id,
            received_at=now,
            done_at=now,
            gsi1pk=inbox_partition(EventOutcome.IGNORED),
            gsi1sk=sort,
            gsi2pk=inbox_type_partition(event_type, EventOutcome.IGNORED),
            gsi2sk=sort,
            expires_at=utc_now() + RETENTION,
        ).save(condition=WebhookEvent.pk.does_not_exist())
        return True
    except PutError as error:
        if condition_failed(error):
            return False
        raise


def webhook_event_count_duplicate(*, event_id: str) -> None:
    """Count a repeated delivery on the event's row (best effort: it changes nothing else)."""
    try:
        _record(event_id).update(
            actions=[WebhookEvent.duplicates.add(1)], condition=WebhookEvent.pk.exists()
        )
    except Exception:
        logger.warning("could not count a duplicate webhook delivery", exc_info=True)


# --- Replay -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    event_id: str
    outcome: str
    order_id: str | None
    description: str


def _payment_intent_of(record: WebhookEvent) -> str | None:
    """The PaymentIntent the event is about: named by the event, or read from Stripe (a
    charge's)."""
    if record.payment_intent_id:
        return record.payment_intent_id
    object_id = record.object_id or ""
    if object_id.startswith("pi_"):
        return object_id
    if object_id.startswith("ch_"):
        return stripe_client.charge_retrieve(charge_id=object_id).payment_intent_id
    return None


def webhook_event_replay(*, event_id: str, staff: str) -> ReplayResult:
    """Apply a failed event again by re-reading its payment from Stripe; once, however many
    times staff click."""
    record = selectors.webhook_event_get(event_id=event_id)
    if record is None or record.status != WebhookEventStatus.FAILED:
        raise EventNotReplayable()
    token = secrets.token_hex(8)
    try:
        _record(event_id).update(
            actions=[
                WebhookEvent.status.set(WebhookEventStatus.IN_PROGRESS),
                WebhookEvent.claim_token.set(token),
                WebhookEvent.lease_until.set(int(time.time()) + LEASE_SECONDS),
                *_placed(record.event_type, EventOutcome.PROCESSING),
            ],
            condition=WebhookEvent.status == WebhookEventStatus.FAILED,
        )
    except UpdateError as error:
        if condition_failed(error):  # someone (Stripe's retry, another click) got there first
            raise EventNotReplayable() from None
        raise
    order_id = record.order_id
    try:
        intent_id = _payment_intent_of(record)
        if intent_id is None:
            outcome, description = EventOutcome.NOT_OURS, "It names no payment of ours."
        else:
            result = payment_sync(payment_intent_id=intent_id, actor=staff)
            order_id = result.order_id or order_id
            outcome = (
                EventOutcome.NOT_OURS
                if result.outcome in {"not_ours", "not_in_stripe"}
                else result.outcome
            )
            description = result.describe()
    except stripe_client.PaymentProviderNotFound:
        outcome, description = EventOutcome.NOT_OURS, "Stripe does not know its object."
    except Exception as error:
        webhook_event_fail(
            event_id=event_id, event_type=record.event_type, token=token, error=error
        )
        logger.warning("replay of a Stripe event failed", extra={"event_id": event_id})
        raise EventReplayFailed() from error
    webhook_event_finish(
        event_id=event_id,
        event_type=record.event_type,
        token=token,
        outcome=outcome,
        order_id=order_id,
        actor=staff,
    )
    audit_record(
        staff=staff,
        object_type=EVENT_OBJECT_TYPE,
        object_id=event_id,
        object_repr=f"{record.event_type} {event_id}",
        action="replay",
        summary=f"Replayed: {outcome.replace('_', ' ')}",
        before={"outcome": EventOutcome.FAILED, "error": record.error},
        after={"outcome": outcome},
    )
    logger.info("Stripe event replayed", extra={"event_id": event_id, "outcome": outcome})
    return ReplayResult(event_id, outcome, order_id, description)
