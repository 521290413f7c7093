"""Attempt every due fulfillment and ticket void now (what the scheduled sweeper does every
minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.services.fulfillment.sweeper import fulfillment_sweep
from orders.services.voids import voids_sweep


class Command(BaseCommand):
    help = (
        "Retry due ticket fulfillments and voids with the vendor (the fulfillment-due-index and "
        "void-queue-index, no Scan)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = fulfillment_sweep()
        self.stdout.write(
            f"fulfilled {report.fulfilled}, to retry {report.retry}, failed {report.failed}, "
            f"skipped {report.skipped}{', vendor circuit open' if report.breaker_open else ''}"
        )
        voids = voids_sweep()
        self.stdout.write(
            f"voids: voided {voids.voided}, to retry {voids.retry}, failed {voids.failed}, "
            f"skipped {voids.skipped}"
        )
