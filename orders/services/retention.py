"""The retention policy: a customer's personal data is erased N months after their last
order, and the audit lines about their orders are kept M years (SSM
``retention_personal_data_months`` and ``retention_audit_years``; ``core.config``).

``retention_apply`` walks ``order-day-index`` one UTC day at a time, page by page, from the
first day it has not finished (``RetentionCursor``; at first the oldest order's day) up to the
day before the cut-off (now minus N months). For each customer of a day's orders it reads the
customer's newest order (``customer-id-index``, one item): if that is older than the cut-off,
the customer is due and is erased by ``orders.services.personal_data.customer_erase`` (actor
``system#retention``), which makes it once per customer however often the job runs, resumes a
run that died halfway, and refuses while money or tickets are in flight. A refused or failed
customer is kept in ``RetentionHeld`` and tried again first by every run; a finished day moves
the cursor on, so a run reads only the days since the last one. No Scan.

``dry_run`` walks the same way, erases nothing and moves nothing: it counts who is due. The
scheduled job (``orders.jobs.personal_data_retention``) counts first, logs the count, then
applies. At most ``max_erasures`` per run (the function's timeout): the next run carries on.

The inbox's and idempotency records' TTLs are their own (30 days, 24 hours) and unchanged.
Must not log personal data (ids and counts only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from core.backoffice import RETENTION_CURSOR, RETENTION_HELD
from core.config import parameters_get
from core.dynamodb import condition_failed, iso_utc, utc_now, utc_now_iso
from core.exceptions import ApplicationError
from orders.models import (
    RETENTION_PARTITION,
    Customer,
    Order,
    RetentionCursor,
    RetentionHeld,
)
from orders.services.personal_data import ErasureRefused, customer_erase

logger = logging.getLogger(__name__)

SYSTEM_RETENTION = "system#retention"
MAX_ERASURES = 200  # per run: well within the back-office function's timeout


@dataclass
class RetentionReport:
    """What a run found and did (``dry_run``: found only)."""

    dry_run: bool
    cutoff: str = ""  # ISO: customers whose last order is older are due
    days_walked: int = 0
    due: int = 0  # customers due for erasure (counted once each)
    erased: int = 0
    held: int = 0  # refused (money or tickets in flight) or failed: tried again next run
    already: int = 0  # erased before (by staff, or an earlier run)
    cursor: str | None = None  # the first day not finished, after this run
    stopped_early: bool = False  # reached ``max_erasures``: the next run carries on
    held_reasons: list[str] = field(default_factory=list)


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus whole calendar months (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def _cursor_day() -> date | None:
    try:
        return date.fromisoformat(RetentionCursor.get(RETENTION_PARTITION, RETENTION_CURSOR.sk).day)
    except DoesNotExist:
        from orders.selectors import orders_oldest_day

        return orders_oldest_day()


def _cursor_move(day: date) -> None:
    """The first day not finished becomes ``day`` (forward only)."""
    try:
        RetentionCursor(day=day.isoformat(), updated_at=utc_now_iso()).save(
            condition=RetentionCursor.pk.does_not_exist() | (RetentionCursor.day < day.isoformat())
        )
    except PutError as error:
        if not condition_failed(error):
            raise  # else a concurrent run is ahead already


def _newest_order_at(customer_id: str) -> str | None:
    newest = next(
        iter(Order.customer_index.query(customer_id, scan_index_forward=False, limit=1)), None
    )
    return newest.created_at if newest else None


def retention_apply(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    max_erasures: int = MAX_ERASURES,
    page_size: int = 100,
    progress: Callable[[str], None] | None = None,
) -> RetentionReport:
    """Apply the retention policy once (see the module's docstring)."""
    report = RetentionReport(dry_run=dry_run)
    months = parameters_get().retention_personal_data_months
    if months <= 0:
        report.cutoff = "off"
        return report
    now = now or utc_now()
    cutoff = months_before(now.astimezone(UTC), months)
    report.cutoff = iso_utc(cutoff)
    seen: set[str] = set()

    def consider(customer_id: str) -> None:
        if customer_id in seen:
            return
        seen.add(customer_id)
        try:
            customer = Customer.get(customer_id, consistent_read=True)
        except DoesNotExist:
            return
        if customer.erased_at:
            report.already += 1
            if not dry_run:
                RetentionHeld(sk=RetentionHeld.key_for(customer_id)).delete()
            return
        newest = _newest_order_at(customer_id)
        if newest is None or newest >= report.cutoff:
            return  # bought again since: their time runs from that order
        report.due += 1
        if dry_run:
            return
        try:
            customer_erase(
                customer_id=customer_id, actor=SYSTEM_RETENTION, reason="retention_policy"
            )
        except (ErasureRefused, ApplicationError) as error:
            report.held += 1
            reason = str(getattr(error, "message", error))[:500]
            report.held_reasons.append(f"{customer_id}: {reason}")
            RetentionHeld(
                sk=RetentionHeld.key_for(customer_id),
                customer_id=customer_id,
                reason=reason,
                since=utc_now_iso(),
            ).save()
            return
        report.erased += 1
        RetentionHeld(sk=RetentionHeld.key_for(customer_id)).delete()
        if progress:
            progress(f"erased {customer_id} ({report.erased} this run)")

    def full() -> bool:
        return not dry_run and report.erased + report.held >= max_erasures

    # Those refused or failed before, first (one Query of the partition).
    for held in RetentionHeld.query(
        RETENTION_PARTITION, RetentionHeld.sk.startswith(RETENTION_HELD.sk), page_size=page_size
    ):
        if full():
            report.stopped_early = True
            return report
        consider(held.customer_id)

    day = _cursor_day()
    last = cutoff.date() - timedelta(days=1)  # the cut-off's own day is not over yet
    while day is not None and day <= last:
        from orders.selectors import orders_of_day

        for order in orders_of_day(day=day, page_size=page_size):
            if full():
                report.stopped_early = True
                break
            consider(order.customer_id)
        if report.stopped_early:
            break
        report.days_walked += 1
        day = day + timedelta(days=1)
        if not dry_run:
            _cursor_move(day)
    report.cursor = day.isoformat() if day else None
    return report


def retention_job(*, now: datetime | None = None) -> dict[str, object]:
    """The scheduled run: a dry-run count first (logged), then the policy applied."""
    counted = retention_apply(now=now, dry_run=True)
    logger.info(
        "retention: customers due",
        extra={"due": counted.due, "cutoff": counted.cutoff, "days": counted.days_walked},
    )
    if counted.cutoff == "off":
        return {"policy": "off"}
    applied = retention_apply(now=now)
    summary = {
        "due": counted.due,
        "erased": applied.erased,
        "held": applied.held,
        "already": applied.already,
        "cursor": applied.cursor,
        "stopped_early": applied.stopped_early,
    }
    logger.info("retention applied", extra=summary)
    return summary
