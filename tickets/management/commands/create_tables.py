"""Create every DynamoDB table and index the models declare, and leave existing ones alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tickets.dynamodb import tables_ensure


class Command(BaseCommand):
    help = "Create missing DynamoDB tables and indexes (safe to run repeatedly)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = tables_ensure()
        for name in report.created:
            self.stdout.write(f"created table {name}")
        for name in report.indexes_added:
            self.stdout.write(f"added index {name}")
        for name in report.unchanged:
            self.stdout.write(f"up to date  {name}")
