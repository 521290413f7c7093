"""How an attempt is asked for without waiting on it, chosen by where the code runs: Zappa's
task mechanism in Lambda (the webhook answers at once), a thread or inline locally
(``FULFILLMENT_ASYNC``). A lost dispatch is harmless: the order is queued, the sweeper finds it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from orders.services.fulfillment.attempts import fulfillment_attempt

logger = logging.getLogger(__name__)


def task_dispatch(task: Callable[..., None], *, what: str, **kwargs: str) -> None:
    """Run ``task(**kwargs)`` (a module-level function, as Zappa needs) without waiting for
    it. The work is queued already: a lost dispatch is the sweeper's."""
    mode = os.environ.get("FULFILLMENT_ASYNC") or (
        "zappa" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "inline"
    )
    try:
        if mode == "zappa":
            from zappa.asynchronous import run

            run(task, kwargs=kwargs)
        elif mode == "thread":
            threading.Thread(target=task, kwargs=kwargs, daemon=True).start()
        else:
            task(**kwargs)
    except Exception:
        # The order is queued: the sweeper will attempt it within a minute.
        logger.exception("could not dispatch %s; the sweeper will", what)


def attempt_dispatch(order_id: str) -> None:
    """Ask for an attempt of ``order_id`` (queued already) without waiting for it."""
    task_dispatch(fulfillment_attempt_task, order_id=order_id, what="a fulfillment attempt")


def fulfillment_attempt_task(order_id: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    fulfillment_attempt(order_id=order_id)
