"""``python manage.py erasures_redo``: after restoring the tables to a point in time, erase
again the customers erased since then (the restored copy holds their data again).

Run it twice (docs/runbook.md, "Restore a table to a point in time"): before switching to the
restored tables, ``--since 2026-12-07T01:00:00Z --save erased.txt`` lists the erasures done
since the restore time from the tables in use (one Query); after switching,
``--from-file erased.txt`` erases each of those customers again (the same service as the
admin's button: once each, resumable). Nothing here reads or prints personal data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import ApplicationError
from orders.services.personal_data import customer_erase, erasures_since


class Command(BaseCommand):
    help = "List the erasures since a time, or erase those customers again (after a restore)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="ISO time: list the erasures started since")
        parser.add_argument("--save", help="write the customer ids (and reasons) to this file")
        parser.add_argument("--from-file", help="erase again the customers listed in this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"]:
            records = erasures_since(since=options["since"])
            lines = [f"{r.customer_id} {r.reason}" for r in records]
            if options["save"]:
                Path(options["save"]).write_text("".join(f"{line}\n" for line in lines))
            for line in lines:
                self.stdout.write(line)
            self.stdout.write(f"{len(lines)} erasures since {options['since']}")
            return
        if not options["from_file"]:
            raise CommandError("give --since (to list) or --from-file (to erase again)")
        erased = failed = 0
        for line in Path(options["from_file"]).read_text().splitlines():
            customer_id, _, reason = line.strip().partition(" ")
            if not customer_id:
                continue
            try:
                outcome = customer_erase(
                    customer_id=customer_id, actor="system#restore", reason=reason
                )
            except ApplicationError as error:
                failed += 1
                self.stdout.write(f"{customer_id}: not erased: {error}")
                continue
            erased += 0 if outcome.already else 1
            self.stdout.write(f"{customer_id}: {outcome.summary}")
        self.stdout.write(f"{erased} erased again, {failed} not erased")
