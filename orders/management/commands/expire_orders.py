"""``python manage.py expire_orders``: the scheduled expiry, run by hand (local stack, or to
catch up in AWS). Same function Zappa's schedule calls."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.actions import orders_expire


class Command(BaseCommand):
    help = "Cancel unpaid orders older than order_expiry_minutes and release their seats."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=None,
            help="override the SSM parameter order_expiry_minutes",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = orders_expire(older_than_minutes=options["older_than_minutes"])
        self.stdout.write(
            f"expired {len(report.expired)}, paid (payment found in Stripe) {len(report.paid)}, "
            f"left for a payment in progress "
            f"{len(report.left_for_payment)}, failed {len(report.failed)}"
        )
