"""``python manage.py audit_entries_migrate``: move order audit entries written before the one
audit log into it (``orders.services.audit_migration``). MAINTENANCE ONLY (a Scan of the
back-office table); safe to run again. Run it once after deploying this version."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.services.audit_migration import MigrationReport, audit_legacy_entries_migrate


class Command(BaseCommand):
    help = "Move legacy order audit entries into the audit log (Scans: maintenance only)."

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(report: MigrationReport) -> None:
            done = report.moved + report.already_moved
            if done % 100 == 0:
                self.stdout.write(f"{done} entries moved so far")

        report = audit_legacy_entries_migrate(progress=progress)
        self.stdout.write(
            f"moved {report.moved} audit entries into the audit log "
            f"({report.already_moved} moved meanwhile by another run)"
        )
