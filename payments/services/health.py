"""Integration-health markers for Stripe: the few writes that let the admin say, while it
lasts, that webhooks fail their signature check, that Stripe's webhooks went silent while
orders were being paid, or that Stripe cannot be reached (``payments.selectors
.integration_banners`` reads them back; the alarms in ``infra/alarms.tf`` watch the metrics).

Each is one UpdateItem on ``HEALTH`` / ``webhook`` or ``HEALTH`` / ``stripe`` in the back-office
table (an ``ADD`` or a ``SET``, no read first). They are best effort: a marker that cannot be
written is logged and never fails the request that noticed the condition.

When a condition ends:

- signature failures and missed payments: when the next verified event arrives (it resets
  both counters: Stripe reaches us with the right secret again);
- Stripe unreachable: when a call succeeds in a process that saw a failure (only that process
  knows it must write), or ``STRIPE_QUIET_MINUTES`` after the last failure, whichever is first.
"""

from __future__ import annotations

import logging
import threading

from core.dynamodb import utc_now_iso
from core.metrics import metric_emit
from payments.models import HEALTH_PARTITION, IntegrationMarker

logger = logging.getLogger(__name__)

WEBHOOK = "webhook"
STRIPE = "stripe"

# This process saw Stripe fail since it last recorded a success.
_stripe_failing = threading.Event()


def _marker(name: str) -> IntegrationMarker:
    return IntegrationMarker(pk=HEALTH_PARTITION, sk=name)


def _write(name: str, actions: list) -> bool:
    try:
        _marker(name).update(actions=actions)
        return True
    except Exception:
        logger.warning("could not write a health marker", extra={"marker": name}, exc_info=True)
        return False


def webhook_event_received() -> None:
    """A verified event arrived: webhooks reach us, signed with the right secret."""
    _write(
        WEBHOOK,
        [
            IntegrationMarker.last_event_at.set(utc_now_iso()),
            IntegrationMarker.signature_failures.set(0),
            IntegrationMarker.missed_payments.set(0),
        ],
    )


def webhook_signature_failed() -> None:
    _write(
        WEBHOOK,
        [
            IntegrationMarker.signature_failures.add(1),
            IntegrationMarker.last_signature_failure_at.set(utc_now_iso()),
        ],
    )


def payment_found_without_webhook() -> None:
    """A scheduled job found a payment succeeded in Stripe that no event had announced (the
    reconciliation only looks at orders pending for minutes): webhooks are silent while orders
    are being paid."""
    metric_emit("PaymentsWithoutWebhook")
    _write(
        WEBHOOK,
        [
            IntegrationMarker.missed_payments.add(1),
            IntegrationMarker.last_missed_at.set(utc_now_iso()),
        ],
    )


def stripe_call_failed() -> None:
    """A call to Stripe failed for Stripe's reasons (connection, timeout, 5xx, rate limit)."""
    _stripe_failing.set()
    metric_emit("StripeUnavailable")
    _write(
        STRIPE,
        [IntegrationMarker.failures.add(1), IntegrationMarker.last_failure_at.set(utc_now_iso())],
    )


def stripe_call_succeeded() -> None:
    """A call to Stripe succeeded: clears the marker if this process saw it failing (other
    processes write nothing, so a healthy Stripe costs no write)."""
    if _stripe_failing.is_set() and _write(STRIPE, [IntegrationMarker.failures.set(0)]):
        _stripe_failing.clear()
