"""``python manage.py restore_tables``: restore every table of this ``STAGE`` to one point in
time, into new tables, and check them (docs/runbook.md, "Restore a table to a point in time").

MAINTENANCE ONLY, from the operator's machine with the operator's credentials
(``STAGE=prod PROJECT_NAME=ticketstoheaven .venv/bin/python manage.py restore_tables ...``):
the Lambda role can neither restore nor Scan.

1. One time for every table (``--restore-time``, UTC; default: the latest time every table
   can be restored to), so orders, payments and seats agree with each other.
2. ``RestoreTableToPointInTime`` of each ``{project}-{stage}-{name}`` into
   ``{project}-{stage}-{suffix}-{name}`` (on demand, encrypted), then waits for them.
3. ``restore_check`` on the restored tables (``STAGE={stage}-{suffix}``): counts and
   invariants. Exit status 1 when an invariant is broken.

Nothing live is touched: switching or copying back is the runbook's next step, by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.dynamodb import registered_models

ROOT = Path(__file__).resolve().parents[3]


def _client() -> Any:
    import boto3

    return boto3.client("dynamodb")


class Command(BaseCommand):
    help = "Restore every table to one point in time into new tables, and check them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--restore-time", help="ISO time, UTC (default: latest restorable)")
        parser.add_argument("--suffix", help="the restored tables' marker (default r{time})")

    def handle(self, *args: Any, **options: Any) -> None:
        dynamodb = _client()
        names = [
            model.Meta.table_name.removeprefix(settings.TABLE_PREFIX)
            for model in registered_models()
        ]
        sources = {name: f"{settings.TABLE_PREFIX}{name}" for name in names}
        if options["restore_time"]:
            when = datetime.fromisoformat(options["restore_time"]).astimezone(UTC)
        else:
            latest = []
            for source in sources.values():
                backups = dynamodb.describe_continuous_backups(TableName=source)
                pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
                if pitr["PointInTimeRecoveryStatus"] != "ENABLED":
                    raise CommandError(f"{source}: point-in-time recovery is off")
                latest.append(pitr.get("LatestRestorableDateTime") or datetime.now(UTC))
            when = min(latest).astimezone(UTC)
        suffix = options["suffix"] or "r" + when.strftime("%Y%m%dt%H%M%S")
        if not re.fullmatch(r"r[0-9a-z]{1,20}", suffix):
            raise CommandError("--suffix: r followed by up to 20 lowercase letters or digits")
        restored_stage = f"{settings.STAGE}-{suffix}"
        prefix = f"{settings.PROJECT_NAME}-{restored_stage}-"
        self.stdout.write(f"restoring {len(sources)} tables to {when.isoformat()} as {prefix}*")
        for name, source in sources.items():
            dynamodb.restore_table_to_point_in_time(
                SourceTableName=source,
                TargetTableName=f"{prefix}{name}",
                RestoreDateTime=when,
                BillingModeOverride="PAY_PER_REQUEST",
                SSESpecificationOverride={"Enabled": True, "SSEType": "KMS"},
            )
        waiter = dynamodb.get_waiter("table_exists")
        for name in sources:
            waiter.wait(TableName=f"{prefix}{name}", WaiterConfig={"Delay": 5, "MaxAttempts": 720})
        self.stdout.write("restored; checking counts and invariants")
        result = subprocess.run(  # noqa: S603 (this interpreter, this project's manage.py)
            [sys.executable, str(ROOT / "manage.py"), "restore_check", "--json"],
            cwd=ROOT,
            env={**os.environ, "STAGE": restored_stage, "PROJECT_NAME": settings.PROJECT_NAME},
            capture_output=True,
            text=True,
        )
        try:
            report = json.loads(result.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise CommandError(f"restore_check failed: {result.stderr[-2000:]}") from None
        report.update({"restore_time": when.isoformat(), "stage": restored_stage})
        self.stdout.write(json.dumps(report))
        if report["problems"]:
            raise CommandError(
                f"{len(report['problems'])} invariants broken in the restored tables"
            )
