"""The payments app's scheduled jobs that run in the back office's function only (its Stripe
key may refund; the public function cannot: ``tests/test_public_function.py``). Zappa's
``events`` of the ``*-backoffice`` stages name them; the shape is ``core.jobs``'s."""

from __future__ import annotations

from typing import Any

from core.jobs import job
from payments.jobs import DEFAULT_BUDGET_SECONDS, SAFETY_SECONDS
from payments.services.event_cancellation import (
    event_cancellations_continue as _continue,
)


@job
def event_cancellations_continue(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Every minute (the back office's function: refunds need its Stripe key): a run of each
    event cancellation not done yet (``payments.services.event_cancellation``)."""
    remaining = (
        context.get_remaining_time_in_millis() / 1000
        if hasattr(context, "get_remaining_time_in_millis")
        else DEFAULT_BUDGET_SECONDS + SAFETY_SECONDS
    )
    reports = _continue(budget_seconds=max(1.0, remaining - SAFETY_SECONDS))
    return {
        sku: {"handled": r.handled, "waiting": r.waiting, "stopped": r.stopped, "done": r.done}
        for sku, r in reports.items()
    }
