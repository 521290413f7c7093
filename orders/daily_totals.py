"""Daily totals for the dashboard: orders and revenue per UTC day, kept as counter items.

Counting orders or summing revenue at read time would read every order of the period (a cost
that grows with sales); instead each change adds to a counter item in the back-office table,
and the dashboard reads 30 days of counters with one Query::

    pk = DAILYTOTALS    sk = {YYYY-MM-DD}#{currency}    orders, revenue (minor units)

How order services keep them current (call after the conditional write that made the change
succeeded, exactly once per change; ``ADD`` is not idempotent, so a retried webhook must not
call it again; its event claim already guarantees that):

- an order is created: ``daily_totals_record(day=<created day>, orders=1, revenue=0,
  currency=...)``;
- a payment succeeds: ``daily_totals_record(day=<payment day>, orders=0, revenue=+amount, ...)``;
- a refund succeeds: ``daily_totals_record(day=<refund day>, orders=0, revenue=-amount, ...)``.

``python manage.py daily_totals_rebuild`` recomputes past days from ``order-day-index`` (a
Query per day, never a Scan) to repair or backfill them. All counters sit in one partition:
at a few writes a second that is far below DynamoDB's per-partition limit; shard the pk
(``DAILYTOTALS#n``) if order volume ever needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.dynamodb import utc_now_iso
from orders.models import DAILY_TOTALS_PARTITION as PARTITION
from orders.models import DailyTotal


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
    counters (``YYYY-MM-DD``, UTC). One atomic UpdateItem; creates the item if needed."""
    date.fromisoformat(day)  # refuse anything but a day: it is a sort key
    DailyTotal._get_connection().update_item(
        PARTITION,
        range_key=f"{day}#{currency.lower()}",
        actions=[
            DailyTotal.orders.add(orders),
            DailyTotal.revenue.add(revenue),
            DailyTotal.kind.set("daily_total"),
            DailyTotal.updated_at.set(utc_now_iso()),
        ],
    )


def daily_totals_set(*, day: str, orders: int, revenue: int, currency: str = "usd") -> None:
    """Overwrite ``day``'s counters (the rebuild command; services use ``daily_totals_record``)."""
    DailyTotal(
        sk=f"{day}#{currency.lower()}", orders=orders, revenue=revenue, updated_at=utc_now_iso()
    ).save()


def daily_totals_list(*, first: date, last: date) -> list[DayTotal]:
    """Counters from ``first`` to ``last`` inclusive: one Query."""
    return [
        DayTotal(
            day=item.sk[:10],
            currency=item.sk[11:],
            orders=int(item.orders or 0),
            revenue=int(item.revenue or 0),
        )
        for item in DailyTotal.query(
            PARTITION,
            range_key_condition=DailyTotal.sk.between(first.isoformat(), f"{last.isoformat()}#~"),
        )
    ]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
