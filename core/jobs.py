"""Scheduled jobs' shape: Zappa's ``events`` call ``fn(event, context)``; ``job`` runs one in a
log context of its own: its own request id (the invocation's, in Lambda) and no order id left
over from earlier work in the same container. ``task_dispatch`` asks for work without waiting
on it (Zappa's asynchronous task in Lambda; a thread or inline locally, ``FULFILLMENT_ASYNC``)."""

from __future__ import annotations

import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from core.logging import log_scope

logger = logging.getLogger(__name__)

Job = Callable[[Any, Any], dict[str, Any]]


def job(function: Job) -> Job:
    """Run a scheduled job in a log context of its own."""

    @functools.wraps(function)
    def run(event: Any = None, context: Any = None) -> dict[str, Any]:
        request_id = getattr(context, "aws_request_id", None) or f"job-{uuid.uuid4().hex}"
        with log_scope(request_id=request_id):
            return function(event, context)

    return run


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
        # The work is queued: its sweeper will do it within a minute.
        logger.exception("could not dispatch %s; the sweeper will", what)
