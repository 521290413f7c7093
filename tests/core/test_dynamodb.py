"""Creating the tables: names, keys, indexes and production settings, and safe to repeat."""

from __future__ import annotations

import boto3
import pytest

from core.dynamodb import registered_models, table_spec, tables_ensure

pytestmark = pytest.mark.usefixtures("aws")

SPEC_TABLES = {
    # name: (key schema, index names) as fixed by the spec for the seed tables, plus the indexes
    # the admin's access patterns add (the spec allows indexes "where an access pattern needs
    # one"): order-day-index and customer-day-index (newest first without a Scan).
    "ticketstoheaven-local-orders": (
        [("order_id", "HASH"), ("created_at", "RANGE")],
        {
            "customer-id-index",
            "order-status-index",
            "order-day-index",
            "order-dispute-index",
            "order-attention-index",
        },
    ),
    "ticketstoheaven-local-customers": (
        [("customer_id", "HASH")],
        {"email-index", "customer-day-index"},
    ),
    "ticketstoheaven-local-payments": (
        [("payment_id", "HASH"), ("created_at", "RANGE")],
        {"order-id-index", "payment-status-index"},
    ),
}


def _dynamodb(stack):
    return boto3.client("dynamodb", endpoint_url=stack.aws_url)


def test_the_seed_tables_have_exactly_the_specified_keys_and_indexes(aws):
    client = _dynamodb(aws)
    for name, (keys, indexes) in SPEC_TABLES.items():
        table = client.describe_table(TableName=name)["Table"]

        assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == keys
        # The spec's indexes, exactly named; more may be added for other access patterns.
        assert indexes <= {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}


def test_every_table_is_on_demand_encrypted_and_recoverable(aws):
    client = _dynamodb(aws)
    names = client.list_tables()["TableNames"]

    assert sorted(names) == sorted(m.Meta.table_name for m in registered_models())
    for name in names:
        table = client.describe_table(TableName=name)["Table"]
        backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_table_names_carry_the_project_and_stage_prefix(aws):
    for model in registered_models():
        assert model.Meta.table_name.startswith("ticketstoheaven-local-")


def test_the_backoffice_table_expires_items_by_ttl(aws):
    ttl = _dynamodb(aws).describe_time_to_live(TableName="ticketstoheaven-local-backoffice")

    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_creating_tables_twice_changes_nothing(aws):
    report = tables_ensure()

    assert report.created == []
    assert report.indexes_added == []
    assert sorted(report.unchanged) == sorted(m.Meta.table_name for m in registered_models())


def test_a_missing_table_is_created_and_a_missing_index_added(aws):
    client = _dynamodb(aws)
    client.delete_table(TableName="ticketstoheaven-local-customers")
    orders = next(m for m in registered_models() if m.Meta.table_name.endswith("-orders"))
    spec = table_spec(orders)
    # An orders table from before order-status-index existed.
    client.delete_table(TableName=spec["TableName"])
    spec["GlobalSecondaryIndexes"] = [
        i for i in spec["GlobalSecondaryIndexes"] if i["IndexName"] != "order-status-index"
    ]
    spec["AttributeDefinitions"] = [
        d for d in spec["AttributeDefinitions"] if d["AttributeName"] != "status_key"
    ]
    client.create_table(**spec)

    report = tables_ensure()

    assert report.created == ["ticketstoheaven-local-customers"]
    assert report.indexes_added == ["ticketstoheaven-local-orders/order-status-index"]
    indexes = client.describe_table(TableName=spec["TableName"])["Table"]["GlobalSecondaryIndexes"]
    assert {"customer-id-index", "order-status-index"} <= {i["IndexName"] for i in indexes}
