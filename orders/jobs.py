"""Scheduled functions, called by Zappa's ``events`` (``zappa_settings.json``) as
``orders.jobs.<name>(event, context)``; locally, by their management commands.

Each is a thin wrapper: make sure Django is set up (a scheduled invocation may be the first in a
fresh container), call one service, log a summary without personal data, and return it.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def _django_ready() -> None:
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def orders_expire(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Expire unpaid orders older than SSM ``order_expiry_minutes``: PaymentIntent canceled,
    order canceled, seats released. A payment that landed meanwhile wins (left for its
    webhook). Safe to run concurrently with itself."""
    _django_ready()
    from orders.services.transitions import orders_expire as expire

    report = expire()
    summary = {
        "expired": len(report.expired),
        "left_for_payment": len(report.left_for_payment),
        "failed": len(report.failed),
    }
    logger.info("orders expired", extra=summary)
    return summary
