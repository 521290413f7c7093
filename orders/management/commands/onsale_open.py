"""``python manage.py onsale_open SKU --start ISO --hold-minutes N --admit-per-second R``:
open (or change) a ticket type's on-sale, so that its buyers come through a fair line
(``orders.services.line``). Staff see the line on the admin's dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orders.services.line import onsale_open


class Command(BaseCommand):
    help = "Open a ticket type's on-sale: buyers are admitted through a line, first come first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("sku")
        parser.add_argument("--start", help="ISO 8601 UTC (default: now)")
        parser.add_argument("--hold-minutes", type=int, default=15, help="a cart's hold")
        parser.add_argument(
            "--admit-per-second",
            type=float,
            default=25.0,
            help="buyers admitted a second (about the Stripe budget's PaymentIntent rate)",
        )
        parser.add_argument("--staff", default="", help="who opened it (for the record)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = (
                datetime.fromisoformat(options["start"].replace("Z", "+00:00"))
                if options["start"]
                else datetime.now(UTC)
            )
        except ValueError:
            raise CommandError("--start is not an ISO 8601 time") from None
        line = onsale_open(
            sku=options["sku"],
            start=start,
            hold_minutes=options["hold_minutes"],
            admit_per_second=options["admit_per_second"],
            staff=options["staff"],
        )
        self.stdout.write(
            f"on-sale of {line.sku} opens at {start.isoformat()}: "
            f"{line.admit_per_second:g} buyers admitted a second, hold {line.hold_minutes} min"
        )
