"""How an attempt is asked for without waiting on it, chosen by where the code runs: Zappa's
task mechanism in Lambda (the webhook answers at once), a thread or inline locally
(``FULFILLMENT_ASYNC``). A lost dispatch is harmless: the order is queued, the sweeper finds it.
"""

from __future__ import annotations

import logging
import os
import threading

from orders.services.fulfillment.attempts import fulfillment_attempt

logger = logging.getLogger(__name__)


def attempt_dispatch(order_id: str) -> None:
    """Ask for an attempt of ``order_id`` (queued already) without waiting for it."""
    mode = os.environ.get("FULFILLMENT_ASYNC") or (
        "zappa" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "inline"
    )
    try:
        if mode == "zappa":
            from zappa.asynchronous import run

            run(fulfillment_attempt_task, kwargs={"order_id": order_id})
        elif mode == "thread":
            threading.Thread(
                target=fulfillment_attempt_task, kwargs={"order_id": order_id}, daemon=True
            ).start()
        else:
            fulfillment_attempt_task(order_id=order_id)
    except Exception:
        # The order is queued: the sweeper will attempt it within a minute.
        logger.exception("could not dispatch a fulfillment attempt; the sweeper will")


def fulfillment_attempt_task(order_id: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    fulfillment_attempt(order_id=order_id)
