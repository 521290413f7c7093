"""The vendor's circuit breaker: one item in the back-office table, shared by every container.

It opens after ``BREAKER_THRESHOLD`` retryable failures in a row: while open, no invocation
waits on the vendor's timeout; orders stay queued and drain when a probe after
``BREAKER_COOLDOWN`` works. ``attempts`` records each answer here; the sweeper asks before it
calls; the admin shows the banner.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from core.backoffice import VENDOR_CIRCUIT
from core.health import Banner
from core.metrics import metric_emit
from orders.models import VendorBreaker

logger = logging.getLogger(__name__)

BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = timedelta(seconds=30)


def now_or(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


_BREAKER_KEY = (VENDOR_CIRCUIT.pk("vendor"), VENDOR_CIRCUIT.sk)


def breaker_state() -> VendorBreaker | None:
    try:
        return VendorBreaker.get(*_BREAKER_KEY)
    except DoesNotExist:
        return None


def breaker_open_until(*, now: datetime | None = None) -> datetime | None:
    """When the breaker is open, the time it lets a probe through again; else None."""
    state = breaker_state()
    if state is None:
        return None
    until = datetime.fromtimestamp(state.open_until, UTC)
    return until if until > now_or(now) else None


def breaker_half_open(*, now: datetime | None = None) -> bool:
    """Open before, cooled down now: the next call is a probe, and should be the only one."""
    state = breaker_state()
    return (
        state is not None
        and state.failures >= BREAKER_THRESHOLD
        and datetime.fromtimestamp(state.open_until, UTC) <= now_or(now)
    )


def breaker_banners() -> list[Banner]:
    """The admin's health banner while the vendor's circuit is open, or half open (cooled
    down, waiting for a probe to succeed): it ends with the first success (one GetItem)."""
    state = breaker_state()
    if state is None or state.failures < BREAKER_THRESHOLD:
        return []
    until = datetime.fromtimestamp(state.open_until, UTC)
    if until > now_or(None):
        detail = (
            f"{int(state.failures)} failures in a row: no fulfillment is attempted until "
            f"{until:%Y-%m-%d %H:%M:%S} UTC, then one probe. Paid orders wait in the queue "
            "and are sent when the vendor answers again."
        )
    else:
        detail = (
            f"{int(state.failures)} failures in a row; the next attempt is a probe, and the "
            "circuit closes when one succeeds. Paid orders wait in the queue."
        )
    return [Banner("vendor-circuit-open", "The ticket vendor's circuit is open", detail)]


def breaker_record(*, success: bool, now: datetime) -> None:
    breaker = VendorBreaker(*_BREAKER_KEY)
    if success:
        breaker.update(actions=[VendorBreaker.failures.set(0), VendorBreaker.open_until.set(0)])
        return
    breaker.update(actions=[VendorBreaker.failures.add(1)])
    if breaker.failures >= BREAKER_THRESHOLD:
        breaker.update(
            actions=[VendorBreaker.open_until.set(int((now + BREAKER_COOLDOWN).timestamp()))]
        )
        logger.warning("vendor circuit opened", extra={"failures": int(breaker.failures)})
        metric_emit("VendorCircuitOpened")
