"""``python manage.py reconcile_payments``: the scheduled reconciliation with Stripe, run by
hand (local stack, or to catch up in AWS). Same service Zappa's schedule calls
(``payments.jobs.payments_reconcile``): every ``pending_payment`` order older than a few
minutes is synced with its PaymentIntent (``payments.services.sync.payment_sync``), then
Stripe's recent refunds and disputes are compared with ours (one line each; the last line is
the unpaid orders' summary)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.models import Order
from payments.services.reconcile import (
    RECONCILE_AFTER_MINUTES,
    RECONCILE_LIMIT,
    payments_reconcile,
)
from payments.services.sync import SyncResult


class Command(BaseCommand):
    help = (
        "Sync unpaid orders older than a few minutes with Stripe (paid, canceled), then record "
        "refunds and disputes Stripe has and we do not."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=RECONCILE_AFTER_MINUTES,
            help=f"only orders created longer ago than this (default {RECONCILE_AFTER_MINUTES})",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=RECONCILE_LIMIT,
            help=f"check at most this many orders, oldest first (default {RECONCILE_LIMIT})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done = 0

        def progress(order: Order, result: SyncResult | None) -> None:
            nonlocal done
            done += 1
            said = (
                result.describe()
                if result is not None
                else "failed (see the log); retried next run"
            )
            self.stdout.write(f"  [{done}] {order.order_id}: {said}")

        report = payments_reconcile(
            older_than_minutes=options["older_than_minutes"],
            limit=options["limit"],
            progress=progress,
        )
        for name, sweep in (("refunds", report.refunds), ("disputes", report.disputes)):
            if sweep.unavailable:
                self.stdout.write(f"{name} in Stripe: not available from this Stripe (localstripe)")
            else:
                self.stdout.write(
                    f"{name} in Stripe: {sweep.checked} payment{'' if sweep.checked == 1 else 's'}"
                    f" of ours checked, {len(sweep.changed)} changed, {len(sweep.failed)} failed"
                )
        line = (
            f"checked {report.checked} unpaid orders: {len(report.changed)} changed, "
            f"{report.unchanged} unchanged, {len(report.failed)} failed"
        )
        self.stdout.write(line + ("" if not report.failed else " (run again to retry)"))
