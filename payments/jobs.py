"""Entry points for Zappa's scheduled ``events`` of the payments app (see ``core.jobs`` for
the shape: ``fn(event, context)``, a log context of its own, bounded by the function's
timeout)."""

from __future__ import annotations

import logging
import time
from typing import Any

from core.jobs import job
from payments.services.reconcile import payments_reconcile as _payments_reconcile

logger = logging.getLogger(__name__)

# Stop starting new syncs this long before Lambda's timeout (one sync is a few requests).
SAFETY_SECONDS = 5.0
# Without a Lambda context (a local run), stop after this long.
DEFAULT_BUDGET_SECONDS = 25.0


@job
def payments_reconcile(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Every 15 minutes: sync each unpaid order older than a few minutes with its PaymentIntent
    in Stripe, so a payment whose webhook never arrived (or a cancel) is applied anyway."""
    remaining = (
        context.get_remaining_time_in_millis() / 1000
        if hasattr(context, "get_remaining_time_in_millis")
        else DEFAULT_BUDGET_SECONDS + SAFETY_SECONDS
    )
    report = _payments_reconcile(deadline=time.monotonic() + max(remaining - SAFETY_SECONDS, 1.0))
    summary = {**report.summary(), "stopped_early": report.stopped_early}
    logger.info("payments reconciled", extra=summary)
    return summary
