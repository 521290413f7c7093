"""``python manage.py daily_totals_rebuild [--days 30]``: recompute the dashboard's daily
counters from the orders themselves (one Query of ``order-day-index`` per day, no Scan).

For backfilling after a deploy and repairing drift. Revenue here is what an order brought in
net of refunds, counted on the day it was created (the live counters count it on the day it
was paid or refunded), so a rebuilt day can differ slightly from a live one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.formatting import today
from orders.daily_totals import daily_totals_set, days_between
from orders.models import OrderStatus
from orders.selectors import orders_of_day

EARNING = {
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.FULFILLMENT_FAILED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
}


class Command(BaseCommand):
    help = "Recompute the dashboard's daily order and revenue counters from the orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        last = today()
        first = last - timedelta(days=options["days"] - 1)
        for day in days_between(first, last):
            totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for order in orders_of_day(day=day, page_size=500):
                counts = totals[order.currency]
                counts[0] += 1
                if order.status in EARNING:
                    counts[1] += order.total_amount - (order.refunded_amount or 0)
            for currency, (orders, revenue) in totals.items():
                daily_totals_set(
                    day=day.isoformat(), orders=orders, revenue=revenue, currency=currency
                )
        self.stdout.write(f"rebuilt daily totals for {first} to {last}")
