"""Entry points for Zappa's scheduled ``events``: plain functions called as ``fn(event, context)``.

Each is a thin wrapper over a service, bounded by the function's timeout; the management
commands run the same services locally. Each run logs in a clean context (``core.jobs.job``).
"""

from __future__ import annotations

import logging
from typing import Any

from core.jobs import job
from orders.actions import EXPIRY_EVERY_MINUTES
from orders.actions import orders_expire as _orders_expire
from orders.services.buyer_mail import buyer_emails_sweep, email_events_drain
from orders.services.fulfillment.sweeper import fulfillment_sweep as _fulfillment_sweep
from orders.services.retention import retention_job
from orders.services.voids import voids_sweep

logger = logging.getLogger(__name__)


@job
def fulfillment_sweep(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Every minute: retry due ticket fulfillments (see ``orders.services.fulfillment``), then
    the due voids of tickets (``orders.services.voids``) and the due e-mails to buyers
    (``orders.services.buyer_mail``), and SES's bounces (addresses marked undeliverable)."""
    return {
        **vars(_fulfillment_sweep()),
        "voids": vars(voids_sweep()),
        "emails": vars(buyer_emails_sweep()),
        "undeliverable": email_events_drain(),
    }


@job
def orders_expire(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Every minute (``EXPIRY_EVERY_MINUTES``): expire unpaid orders whose hold (SSM
    ``order_expiry_minutes``, or the on-sale's own) ends before the next run (PaymentIntent canceled, order
    canceled, seats released), so seats are back within the hold. A payment that landed
    meanwhile wins: it is applied (order paid, seats sold, fulfillment started) without
    waiting for its webhook. Safe to run concurrently with itself."""
    report = _orders_expire(every_minutes=EXPIRY_EVERY_MINUTES)
    summary = {
        "expired": len(report.expired),
        "paid": len(report.paid),
        "left_for_payment": len(report.left_for_payment),
        "failed": len(report.failed),
    }
    logger.info("orders expired", extra=summary)
    return summary


@job
def personal_data_retention(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Daily: the retention policy (SSM ``retention_personal_data_months``): customers whose
    last order is older have their personal data erased, once each; a dry-run count first
    (``orders.services.retention``)."""
    return retention_job()
