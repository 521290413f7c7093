"""``python manage.py apply_retention [--dry-run]``: the retention policy's scheduled run, by
hand (the same service the daily job runs; ``orders.services.retention``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.services.retention import MAX_ERASURES, retention_apply


class Command(BaseCommand):
    help = (
        "Erase the personal data of customers whose last order is older than the retention "
        "policy (SSM retention_personal_data_months); --dry-run only counts them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, erase nothing")
        parser.add_argument("--max", type=int, default=MAX_ERASURES, help="erasures at most")

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_apply(
            dry_run=options["dry_run"], max_erasures=options["max"], progress=self.stdout.write
        )
        if report.cutoff == "off":
            self.stdout.write("retention policy off (retention_personal_data_months is 0)")
            return
        for line in report.held_reasons:
            self.stdout.write(f"held {line}")
        verb = "due (dry run, nothing erased)" if report.dry_run else "due"
        self.stdout.write(
            f"last order before {report.cutoff}: {report.due} customers {verb}, "
            f"{report.erased} erased, {report.held} held, {report.already} erased before; "
            f"{report.days_walked} days walked, next from {report.cursor or '-'}"
            + ("; stopped at the limit, run again" if report.stopped_early else "")
        )
