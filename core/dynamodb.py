"""Shared DynamoDB pieces: table naming, the models' connection settings, ids, times, and
``tables_ensure``, which creates every table and index the models declare.

Models say *what* a table is (keys, attributes, indexes, TTL); this module says *where* it is
(``{project}-{stage}-{name}``, the endpoint) and creates it the way production has it:
on-demand billing, point-in-time recovery, server-side encryption.
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from pynamodb.attributes import TTLAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model as PynamoModel
from pynamodb.transactions import TransactWrite

from core import aws

logger = logging.getLogger(__name__)


def table_name(name: str) -> str:
    """The full table name for ``name`` in this deployment, e.g. ``ticketstoheaven-prod-orders``."""
    return f"{settings.TABLE_PREFIX}{name}"


class BaseMeta:
    """Connection settings every model's ``Meta`` inherits; ``table_name`` is set per model."""

    region = aws.region_name()
    host = aws.endpoint_url()
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3
    billing_mode = "PAY_PER_REQUEST"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z`` and microseconds: sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now_iso() -> str:
    return iso_utc(utc_now())


def new_id(prefix: str) -> str:
    """An unguessable id: 128 random bits, URL-safe, with a readable type prefix."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


# --- Table creation ------------------------------------------------------------------------

_registry: list[type[PynamoModel]] = []


def register(model: type[PynamoModel]) -> type[PynamoModel]:
    """Class decorator: the model's table is one ``tables_ensure`` creates."""
    _registry.append(model)
    return model


def registered_models() -> list[type[PynamoModel]]:
    """Every table's model. Django imports each installed app's ``models`` module at set-up,
    which registers its tables: this module names no app. The back-office table's description
    is ``core.models`` (core is plumbing, not an installed app): imported here."""
    from django.apps import apps

    import core.models  # noqa: F401  (registers BackOfficeRecord)

    apps.check_models_ready()
    return list(_registry)


def _ttl_attribute(model: type[PynamoModel]) -> str | None:
    for attribute in model.get_attributes().values():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name
    return None


def _hash_first(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants the HASH key first; PynamoDB lists keys in attribute order.
    return sorted(key_schema, key=lambda k: k["KeyType"] != "HASH")


def table_spec(model: type[PynamoModel]) -> dict[str, Any]:
    """The CreateTable request for ``model``: keys, attributes and indexes from the model."""
    schema = model._get_schema()
    definitions = {d["AttributeName"]: d for d in schema["attribute_definitions"]}
    indexes = []
    for index in schema["global_secondary_indexes"]:
        for definition in index["attribute_definitions"]:
            definitions[definition["AttributeName"]] = definition
        indexes.append(
            {
                "IndexName": index["index_name"],
                "KeySchema": _hash_first(index["key_schema"]),
                "Projection": index["projection"],
            }
        )
    spec: dict[str, Any] = {
        "TableName": model.Meta.table_name,
        "AttributeDefinitions": sorted(definitions.values(), key=lambda d: d["AttributeName"]),
        "KeySchema": _hash_first(schema["key_schema"]),
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if indexes:
        spec["GlobalSecondaryIndexes"] = indexes
    return spec


@dataclass
class EnsureReport:
    created: list[str] = field(default_factory=list)
    indexes_added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def tables_ensure(models: list[type[Model]] | None = None) -> EnsureReport:
    """Create missing tables and missing indexes; leave what exists alone. Safe to run twice,
    and concurrently with itself (a table someone else just created counts as existing)."""
    client = aws.client("dynamodb")
    report = EnsureReport()
    for model in models or registered_models():
        spec = table_spec(model)
        name = spec["TableName"]
        try:
            description = client.describe_table(TableName=name)["Table"]
        except client.exceptions.ResourceNotFoundException:
            description = None
        if description is None:
            try:
                client.create_table(**spec)
                report.created.append(name)
            except client.exceptions.ResourceInUseException:
                report.unchanged.append(name)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            _ensure_table_settings(client, model, name)
            continue
        existing = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])}
        missing = [
            i for i in spec.get("GlobalSecondaryIndexes", []) if i["IndexName"] not in existing
        ]
        # DynamoDB adds one index per UpdateTable call, and refuses the next call while an
        # index is still being created: wait for each to become ACTIVE.
        for index in missing:
            keys = {k["AttributeName"] for k in index["KeySchema"]}
            client.update_table(
                TableName=name,
                AttributeDefinitions=[
                    d for d in spec["AttributeDefinitions"] if d["AttributeName"] in keys
                ],
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )
            report.indexes_added.append(f"{name}/{index['IndexName']}")
            _wait_for_indexes(client, name)
        if not missing:
            report.unchanged.append(name)
        _ensure_table_settings(client, model, name)
    return report


def _wait_for_indexes(client: Any, name: str, timeout: float = 1800.0) -> None:
    """Until the table and every index on it are ACTIVE (an index on a big table takes
    minutes to backfill)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"]] + [
            i["IndexStatus"] for i in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: indexes not ACTIVE after {timeout:.0f} s")
        time.sleep(5)


def _ensure_table_settings(client: Any, model: type[Model], name: str) -> None:
    ttl = _ttl_attribute(model)
    if ttl:
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
            )
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if pitr != "ENABLED":
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def tables_check(models: list[type[Model]] | None = None) -> list[str]:
    """What differs between the tables in AWS and the models, read with ``DescribeTable``
    only (the one table-level action the Lambda role has): a missing table, other keys, a
    missing or different index, billing mode, encryption. Empty: every table matches.
    TTL and point-in-time recovery need actions the role does not have; Terraform sets them
    and the deploy rehearsal checks them (tests/rehearsal/)."""
    client = aws.client("dynamodb")
    problems: list[str] = []
    for model in models or registered_models():
        spec = table_spec(model)
        name = spec["TableName"]
        try:
            table = client.describe_table(TableName=name)["Table"]
        except client.exceptions.ResourceNotFoundException:
            problems.append(f"{name}: missing")
            continue
        if table["KeySchema"] != spec["KeySchema"]:
            problems.append(f"{name}: keys {table['KeySchema']} != {spec['KeySchema']}")
        existing = {
            i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
            for i in table.get("GlobalSecondaryIndexes", [])
        }
        for index in spec.get("GlobalSecondaryIndexes", []):
            found = existing.get(index["IndexName"])
            wanted = (index["KeySchema"], index["Projection"]["ProjectionType"])
            if found is None:
                problems.append(f"{name}: index {index['IndexName']} missing")
            elif found != wanted:
                problems.append(f"{name}: index {index['IndexName']} is {found}, not {wanted}")
        billing = table.get("BillingModeSummary", {}).get("BillingMode")
        if billing != "PAY_PER_REQUEST":
            problems.append(f"{name}: billing mode {billing}, not PAY_PER_REQUEST")
        if table.get("SSEDescription", {}).get("Status") != "ENABLED":
            problems.append(f"{name}: server-side encryption not enabled")
    return problems


# --- Transactions ---------------------------------------------------------------------------


class _SessionSharingConnection(Connection):
    """PynamoDB's ``Connection`` whose botocore client is built on ``core.aws``'s session
    (the one Secrets Manager's and SSM's clients use) instead of a session of its own."""

    @property
    def session(self) -> Any:
        return aws.botocore_session()

    @property
    def client(self) -> Any:
        with aws.CLIENT_LOCK:
            return super().client


@functools.cache
def _connection() -> Connection:
    return _SessionSharingConnection(
        region=BaseMeta.region,
        host=BaseMeta.host,
        connect_timeout_seconds=BaseMeta.connect_timeout_seconds,
        read_timeout_seconds=BaseMeta.read_timeout_seconds,
        max_retry_attempts=BaseMeta.max_retry_attempts,
    )


def connections_reset() -> None:
    """Point every model, transaction and boto3 client at ``AWS_ENDPOINT_URL`` as it is now
    (after it changed, e.g. to put a proxy in front of the emulator), dropping cached ones."""
    BaseMeta.host = aws.endpoint_url()
    aws.clients_reset()
    _connection.cache_clear()
    models: list[type[PynamoModel]] = [PynamoModel]
    while models:
        model = models.pop()
        models += model.__subclasses__()
        if model not in (PynamoModel, Model):
            model._connection = None


class _SharedClientConnection(Connection):
    """A model's own ``Connection`` (its own table schemas: models that share a table declare
    different indexes) whose botocore client is the one of ``_connection()``."""

    @property
    def client(self) -> Any:
        return _connection().client


class Model(PynamoModel):
    """PynamoDB's ``Model`` with one DynamoDB client for every table in the process.

    PynamoDB gives each model class its own ``Connection``, and each its own botocore session
    and client: an order's first request built six of them, each parsing botocore's endpoint
    and DynamoDB model files again (tens of milliseconds and megabytes each) and each opening
    its own TLS connection. Here every model keeps its own connection object (its table's
    schema, so no ``DescribeTable`` is ever needed), but all of them send through the one
    client of ``_connection()``, which transactions use too. Same requests, one client.
    Every model of the project derives from this class (``tests/core/test_dynamodb_client.py``)."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        if not isinstance(table.connection, _SharedClientConnection):
            own = _SharedClientConnection(
                region=BaseMeta.region,
                host=BaseMeta.host,
                connect_timeout_seconds=BaseMeta.connect_timeout_seconds,
                read_timeout_seconds=BaseMeta.read_timeout_seconds,
                max_retry_attempts=BaseMeta.max_retry_attempts,
            )
            own.add_meta_table(table.connection.get_meta_table(table.table_name))
            table.connection = own
        return table


def transaction() -> TransactWrite:
    """A PynamoDB ``TransactWrite`` on the models' connection: ``with transaction() as t: ...``."""
    return TransactWrite(connection=_connection())


def condition_failed(error: Exception) -> bool:
    """True when a PynamoDB write failed on its condition: someone else got there first."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each item of a canceled transaction failed, in the order DynamoDB received them
    (PynamoDB sends condition checks, then deletes, then puts, then updates)."""
    reasons = (
        error.cancellation_reasons
        # (``cause_response_code`` itself fails on an error with no answer, e.g. a timeout)
        if getattr(error, "cause_response_code", None) == "TransactionCanceledException"
        else []
    )
    return [reason.code if reason else None for reason in reasons]
