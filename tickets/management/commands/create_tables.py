"""Create every DynamoDB table and index the models declare (local stacks), or check them.

Tables belong to Terraform (infra/dynamodb.tf) in AWS, and the Lambda role may not create,
change or fully describe them (no CreateTable, UpdateTable, DescribeTimeToLive,
DescribeContinuousBackups). So in Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) this command only
checks, with DescribeTable, that the tables match the models, as ``--check`` does anywhere:
``zappa manage prod "create_tables --check"`` never meets AccessDenied (docs/deploy.md).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.dynamodb import registered_models, tables_check, tables_ensure


class Command(BaseCommand):
    help = (
        "Create missing DynamoDB tables and indexes (safe to run repeatedly); with --check, "
        "or in Lambda, only check that the tables match the models."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; fail if a table or index differs from the models.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        if options["check"] or in_lambda:
            if in_lambda and not options["check"]:
                self.stdout.write("in Lambda: checking only (tables belong to Terraform, infra/)")
            problems = tables_check()
            if problems:
                raise CommandError("tables differ from the models:\n" + "\n".join(problems))
            for model in registered_models():
                self.stdout.write(f"matches     {model.Meta.table_name}")
            return
        report = tables_ensure()
        for name in report.created:
            self.stdout.write(f"created table {name}")
        for name in report.indexes_added:
            self.stdout.write(f"added index {name}")
        for name in report.unchanged:
            self.stdout.write(f"up to date  {name}")
