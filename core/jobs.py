"""Scheduled jobs' shape: Zappa's ``events`` call ``fn(event, context)``; ``job`` runs one in a
log context of its own: its own request id (the invocation's, in Lambda) and no order id left
over from earlier work in the same container."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from core.logging import log_scope

Job = Callable[[Any, Any], dict[str, Any]]


def job(function: Job) -> Job:
    """Run a scheduled job in a log context of its own."""

    @functools.wraps(function)
    def run(event: Any = None, context: Any = None) -> dict[str, Any]:
        request_id = getattr(context, "aws_request_id", None) or f"job-{uuid.uuid4().hex}"
        with log_scope(request_id=request_id):
            return function(event, context)

    return run
