"""Entry points for Zappa's scheduled ``events``: plain functions called as ``fn(event, context)``.

Each is a thin wrapper over a service, bounded by the function's timeout; the management
commands run the same services locally.
"""

from __future__ import annotations

from typing import Any

from orders.services.fulfillment import fulfillment_sweep as _fulfillment_sweep


def fulfillment_sweep(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Every minute: retry due ticket fulfillments (see ``orders.services.fulfillment``)."""
    return vars(_fulfillment_sweep())
