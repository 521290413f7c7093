"""Daily totals for the dashboard: orders and revenue per UTC day, kept as counter items.

Counting orders or summing revenue at read time would read every order of the period (a cost
that grows with sales); instead each change adds to a counter item in the back-office table,
and the dashboard reads 30 days of counters with one Query per shard::

    pk = DAILYTOTALS#{shard}    sk = {YYYY-MM-DD}#{currency}    orders, revenue (minor units)

Every new order adds to its day's counter, so in an on-sale one counter item would take every
order's write (~1,000 a second is a partition's limit): the counters are split over
``DAILY_TOTAL_SHARDS`` partitions, each change adding to a shard at random (an addition can go
to any of them), and a day's totals are the sum over the shards.

How order services keep them current (call after the conditional write that made the change
succeeded, exactly once per change; ``ADD`` is not idempotent, so a retried webhook must not
call it again; its event claim already guarantees that):

- an order is created: ``daily_totals_record(day=<created day>, orders=1, revenue=0,
  currency=...)``;
- a payment succeeds: ``daily_totals_record(day=<payment day>, orders=0, revenue=+amount, ...)``;
- a refund succeeds: ``daily_totals_record(day=<refund day>, orders=0, revenue=-amount, ...)``.

``python manage.py daily_totals_rebuild`` recomputes past days from ``order-day-index`` (a
Query per day and shard, never a Scan) to repair or backfill them.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from pynamodb.exceptions import UpdateError

from core.backoffice import DAILY_TOTALS
from core.dynamodb import utc_now_iso
from orders.models import DAILY_TOTAL_SHARDS, DailyTotal

SHARD_ATTEMPTS = 4  # shards an addition tries when one is over its write budget


def throttled(error: UpdateError) -> bool:
    return getattr(error, "cause_response_code", None) in {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
    }


@dataclass(frozen=True)
class DayTotal:
    day: str
    currency: str
    orders: int
    revenue: int


def daily_totals_record(
    *, day: str, orders: int = 0, revenue: int = 0, currency: str = "usd"
) -> None:
    """Add ``orders`` and ``revenue`` (minor units; negative for refunds) to ``day``'s
    counters (``YYYY-MM-DD``, UTC). One atomic UpdateItem, on a shard chosen at random (another
    one if that shard is over its write budget); creates the item if needed."""
    date.fromisoformat(day)  # refuse anything but a day: it is a sort key
    shards = list(range(DAILY_TOTAL_SHARDS))
    secrets.SystemRandom().shuffle(shards)
    for attempt, shard in enumerate(shards[:SHARD_ATTEMPTS], start=1):
        try:
            DailyTotal._get_connection().update_item(
                DAILY_TOTALS.pk(shard),
                range_key=f"{day}#{currency.lower()}",
                actions=[
                    DailyTotal.orders.add(orders),
                    DailyTotal.revenue.add(revenue),
                    DailyTotal.kind.set("daily_total"),
                    DailyTotal.updated_at.set(utc_now_iso()),
                ],
            )
            return
        except UpdateError as error:
            # A shard over its write budget: the addition goes to another one.
            if attempt == SHARD_ATTEMPTS or not throttled(error):
                raise


def daily_totals_set(*, day: str, orders: int, revenue: int, currency: str = "usd") -> None:
    """Overwrite ``day``'s counters (the rebuild command; services use ``daily_totals_record``):
    the totals on shard 0, the other shards zero."""
    now = utc_now_iso()
    with DailyTotal.batch_write() as batch:
        for shard in range(DAILY_TOTAL_SHARDS):
            batch.save(
                DailyTotal(
                    pk=DAILY_TOTALS.pk(shard),
                    sk=f"{day}#{currency.lower()}",
                    orders=orders if shard == 0 else 0,
                    revenue=revenue if shard == 0 else 0,
                    updated_at=now,
                )
            )


def daily_totals_list(*, first: date, last: date) -> list[DayTotal]:
    """Counters from ``first`` to ``last`` inclusive, summed over the shards: one Query per
    shard."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for shard in range(DAILY_TOTAL_SHARDS):
        for item in DailyTotal.query(
            DAILY_TOTALS.pk(shard),
            range_key_condition=DailyTotal.sk.between(first.isoformat(), f"{last.isoformat()}#~"),
        ):
            total = sums[item.sk]
            total[0] += int(item.orders or 0)
            total[1] += int(item.revenue or 0)
    return [
        DayTotal(day=sk[:10], currency=sk[11:], orders=orders, revenue=revenue)
        for sk, (orders, revenue) in sorted(sums.items())
    ]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
