"""The claim on a Stripe event id (``EVENT#{id}`` / ``RECORD`` in the back-office table): the
writes that make each event take effect once (``payments.webhooks`` decides when).

``webhook_event_claim`` is one conditional UpdateItem that succeeds only if the item is absent,
or ``in_progress`` with an expired lease (its worker died halfway); ``webhook_event_finish``
marks it done (condition: our token); ``webhook_event_release`` lets Stripe's next retry
re-claim it at once after a handler error.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from pynamodb.exceptions import PutError, UpdateError

from payments.models import WebhookEvent, WebhookEventStatus
from tickets.dynamodb import condition_failed, utc_now, utc_now_iso

logger = logging.getLogger(__name__)

# Longer than a Lambda invocation can run (30 s): a live worker never loses its claim.
LEASE_SECONDS = 60
# Event ids are kept well past Stripe's three days of retries.
RETENTION = timedelta(days=30)


def _record(event_id: str) -> WebhookEvent:
    return WebhookEvent(pk=WebhookEvent.key_for(event_id), sk="RECORD")


def webhook_event_claim(*, event_id: str, event_type: str) -> str | None:
    """Take the event for this delivery; the claim token, or None if someone else holds it or
    it is done."""
    token = secrets.token_hex(8)
    now = int(time.time())
    try:
        _record(event_id).update(
            actions=[
                WebhookEvent.kind.set("webhook_event"),
                WebhookEvent.event_type.set(event_type),
                WebhookEvent.status.set(WebhookEventStatus.IN_PROGRESS),
                WebhookEvent.claim_token.set(token),
                WebhookEvent.lease_until.set(now + LEASE_SECONDS),
                WebhookEvent.deliveries.add(1),
                WebhookEvent.received_at.set(utc_now_iso()),
                WebhookEvent.expires_at.set(utc_now() + RETENTION),
            ],
            condition=WebhookEvent.pk.does_not_exist()
            | (
                (WebhookEvent.status == WebhookEventStatus.IN_PROGRESS)
                & (WebhookEvent.lease_until < now)
            ),
        )
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return token


def webhook_event_finish(*, event_id: str, token: str, outcome: str) -> None:
    try:
        _record(event_id).update(
            actions=[
                WebhookEvent.status.set(WebhookEventStatus.DONE),
                WebhookEvent.outcome.set(outcome),
                WebhookEvent.done_at.set(utc_now_iso()),
                WebhookEvent.lease_until.remove(),
            ],
            condition=WebhookEvent.claim_token == token,
        )
    except UpdateError as error:
        # Our lease ran out and another delivery re-claimed the event: it finishes it.
        if not condition_failed(error):
            raise


def webhook_event_release(*, event_id: str, token: str) -> None:
    """Let Stripe's next retry re-claim the event at once instead of waiting for the lease."""
    try:
        _record(event_id).update(
            actions=[WebhookEvent.lease_until.set(0)],
            condition=(WebhookEvent.claim_token == token)
            & (WebhookEvent.status == WebhookEventStatus.IN_PROGRESS),
        )
    except Exception:
        logger.warning("could not release a webhook claim; its lease will expire", exc_info=True)


def webhook_event_record_ignored(*, event_id: str, event_type: str) -> bool:
    """Record an event type we do not handle; False if it was recorded before."""
    try:
        WebhookEvent(
            pk=WebhookEvent.key_for(event_id),
            event_type=event_type,
            status=WebhookEventStatus.IGNORED,
            deliveries=1,
            outcome="ignored",
            received_at=utc_now_iso(),
            done_at=utc_now_iso(),
            expires_at=utc_now() + RETENTION,
        ).save(condition=WebhookEvent.pk.does_not_exist())
        return True
    except PutError as error:
        if condition_failed(error):
            return False
        raise
