"""How an attempt is asked for without waiting on it (``core.jobs.task_dispatch``: Zappa's
task mechanism in Lambda, so the webhook answers at once; a thread or inline locally). A lost
dispatch is harmless: the order is queued, the sweeper finds it.
"""

from __future__ import annotations

import logging

from core.jobs import task_dispatch
from orders.services.fulfillment.attempts import fulfillment_attempt

logger = logging.getLogger(__name__)


def attempt_dispatch(order_id: str) -> None:
    """Ask for an attempt of ``order_id`` (queued already) without waiting for it."""
    task_dispatch(fulfillment_attempt_task, order_id=order_id, what="a fulfillment attempt")


def fulfillment_attempt_task(order_id: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    fulfillment_attempt(order_id=order_id)
