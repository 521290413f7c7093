"""The tables command: creates locally; in Lambda (or with --check) only checks, with the one
table-level action the Lambda role has (DescribeTable), so it never meets AccessDenied there."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.usefixtures("aws")

TABLES = "ticketstoheaven-local-"


def _dynamodb(stack):
    return boto3.client("dynamodb", endpoint_url=stack.aws_url)


def test_check_passes_when_the_tables_match_the_models(aws):
    out = io.StringIO()
    call_command("create_tables", "--check", stdout=out)

    assert f"matches     {TABLES}orders" in out.getvalue()


def test_check_names_a_missing_index_and_changes_nothing(aws):
    client = _dynamodb(aws)
    client.update_table(
        TableName=f"{TABLES}orders",
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "order-day-index"}}],
    )

    with pytest.raises(CommandError, match="orders: index order-day-index missing"):
        call_command("create_tables", "--check", stdout=io.StringIO())

    indexes = client.describe_table(TableName=f"{TABLES}orders")["Table"]["GlobalSecondaryIndexes"]
    assert "order-day-index" not in {i["IndexName"] for i in indexes}


def test_in_lambda_the_command_only_checks(aws, monkeypatch):
    client = _dynamodb(aws)
    client.delete_table(TableName=f"{TABLES}customers")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ticketstoheaven-local")

    with pytest.raises(CommandError, match="customers: missing"):
        call_command("create_tables", stdout=io.StringIO())

    assert f"{TABLES}customers" not in client.list_tables()["TableNames"]
