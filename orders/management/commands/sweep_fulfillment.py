"""Attempt every due fulfillment now (what the scheduled sweeper does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.services.fulfillment.sweeper import fulfillment_sweep


class Command(BaseCommand):
    help = (
        "Retry due ticket fulfillments with the vendor (uses the fulfillment-due-index, no Scan)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = fulfillment_sweep()
        self.stdout.write(
            f"fulfilled {report.fulfilled}, to retry {report.retry}, failed {report.failed}, "
            f"skipped {report.skipped}{', vendor circuit open' if report.breaker_open else ''}"
        )
