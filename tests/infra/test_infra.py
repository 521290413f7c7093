"""infra/ (Terraform) checked against the code, without AWS and without Terraform.

- Every ``infra/*.tf`` file parses as HCL2 (python-hcl2).
- The DynamoDB tables in ``infra/`` are exactly the tables the PynamoDB models declare
  (``core.dynamodb.registered_models()`` / ``table_spec(model)``, read at test time, never a
  copy): table names, key schema, attribute types, global secondary indexes with their
  projections, TTL attribute, point-in-time recovery, encryption and billing mode. A difference in
  either direction fails: a table or index only in one of them, or any field that differs.
- The Lambda's IAM policy has no ``*`` action, and no ``*`` resource except the named exceptions
  AWS gives no narrower resource for.
- ``infra/check.sh`` (fmt, validate when possible, checkov) passes: the one runnable check CI
  calls, kept under pytest so the main test command runs it.

How table names are resolved: Terraform names a table ``"${local.prefix}orders"``. The test
asserts that ``local.prefix`` is literally ``"${var.project}-${var.environment}-"`` (the app's
``TABLE_PREFIX`` is ``f"{PROJECT_NAME}-{STAGE}-"``), then substitutes ``${local.prefix}`` with
``settings.TABLE_PREFIX``. Any other interpolation in a table name fails the test: names stay
simple enough to compare.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
from django.conf import settings
from hcl2 import SerializationOptions
from pynamodb.attributes import TTLAttribute

from core.dynamodb import registered_models, table_spec

INFRA = Path(__file__).resolve().parents[2] / "infra"
TF_FILES = sorted(INFRA.glob("*.tf"))
PREFIX_EXPRESSION = "${var.project}-${var.environment}-"

# Plain values: strings without their quotes, blocks as lists of dicts, no comments.
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


def _parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_HCL_OPTIONS)


def _all() -> list[dict[str, Any]]:
    return [_parse(path) for path in TF_FILES]


def _blocks(kind: str, type_name: str) -> dict[str, dict[str, Any]]:
    """Every ``resource``/``data`` block of ``type_name`` in infra/, by its name."""
    found: dict[str, dict[str, Any]] = {}
    for document in _all():
        for entry in document.get(kind, []):
            for name, body in entry.get(type_name, {}).items():
                assert name not in found, f"{kind} {type_name}.{name} declared twice"
                found[name] = body
    return found


def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for document in _all():
        for block in document.get("locals", []):
            merged.update(block)
    return merged


def _one(block: Any) -> dict[str, Any] | None:
    """A nested block that appears at most once (``ttl``, ``point_in_time_recovery``...)."""
    if not block:
        return None
    if isinstance(block, list):
        assert len(block) == 1, f"expected one block, found {len(block)}"
        return block[0]
    return block


# --- HCL parse ---------------------------------------------------------------------------------


def test_infra_has_terraform_files() -> None:
    assert TF_FILES, f"no .tf files in {INFRA}"


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: p.name)
def test_every_tf_file_parses(path: Path) -> None:
    assert isinstance(_parse(path), dict)


# --- DynamoDB: models <-> Terraform ------------------------------------------------------------


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in schema}


def model_tables() -> dict[str, dict[str, Any]]:
    """The tables the models declare, normalised for comparison, by full table name."""
    tables: dict[str, dict[str, Any]] = {}
    for model in registered_models():
        spec = table_spec(model)
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        assert len(ttl) <= 1, f"{model.__name__} has more than one TTL attribute"
        tables[spec["TableName"]] = {
            "keys": _keys(spec["KeySchema"]),
            "attributes": {
                d["AttributeName"]: d["AttributeType"] for d in spec["AttributeDefinitions"]
            },
            "indexes": {
                index["IndexName"]: {
                    "keys": _keys(index["KeySchema"]),
                    "projection": index["Projection"]["ProjectionType"],
                    "non_key_attributes": sorted(index["Projection"].get("NonKeyAttributes", [])),
                }
                for index in spec.get("GlobalSecondaryIndexes", [])
            },
            # What table_spec asks of CreateTable, and what tables_ensure turns on afterwards.
            "billing_mode": spec["BillingMode"],
            "sse": spec["SSESpecification"],
            "ttl": ttl[0] if ttl else None,
            "pitr": True,
        }
    return tables


def _table_name(expression: str) -> str:
    name = expression.replace("${local.prefix}", settings.TABLE_PREFIX)
    assert "${" not in name, f"table name {expression!r}: only ${{local.prefix}} is resolved"
    return name


def terraform_tables() -> dict[str, dict[str, Any]]:
    """The aws_dynamodb_table resources in infra/, normalised like ``model_tables``."""
    tables: dict[str, dict[str, Any]] = {}
    for resource, body in _blocks("resource", "aws_dynamodb_table").items():
        name = _table_name(body["name"])
        assert name not in tables, f"two resources create {name}"
        keys = {"HASH": body["hash_key"]}
        if body.get("range_key"):
            keys["RANGE"] = body["range_key"]
        indexes = {}
        for index in body.get("global_secondary_index", []):
            index_keys = {"HASH": index["hash_key"]}
            if index.get("range_key"):
                index_keys["RANGE"] = index["range_key"]
            indexes[index["name"]] = {
                "keys": index_keys,
                "projection": index["projection_type"],
                "non_key_attributes": sorted(index.get("non_key_attributes", [])),
            }
        ttl = _one(body.get("ttl"))
        pitr = _one(body.get("point_in_time_recovery"))
        sse = _one(body.get("server_side_encryption"))
        sse_spec = {"Enabled": bool(sse and sse.get("enabled") is True)}
        if sse and sse.get("kms_key_arn"):
            sse_spec["KMSMasterKeyId"] = sse["kms_key_arn"]  # a CMK would differ from the app
        tables[name] = {
            "resource": resource,
            "keys": keys,
            "attributes": {a["name"]: a["type"] for a in body.get("attribute", [])},
            "indexes": indexes,
            "billing_mode": body.get("billing_mode", "PROVISIONED"),
            "sse": sse_spec,
            "ttl": ttl["attribute_name"] if ttl and ttl.get("enabled") is True else None,
            "pitr": bool(pitr and pitr.get("enabled") is True),
        }
    return tables


def table_differences(
    models: dict[str, dict[str, Any]], terraform: dict[str, dict[str, Any]]
) -> list[str]:
    """Every difference between the two, in words; empty when they agree."""
    problems = [
        f"{name}: declared by a model, missing in infra/"
        for name in models.keys() - terraform.keys()
    ]
    problems += [
        f"{name}: in infra/, no model declares it" for name in terraform.keys() - models.keys()
    ]
    for name in sorted(models.keys() & terraform.keys()):
        want, have = models[name], terraform[name]
        for index in want["indexes"].keys() - have["indexes"].keys():
            problems.append(f"{name}: index {index} missing in infra/")
        for index in have["indexes"].keys() - want["indexes"].keys():
            problems.append(f"{name}: index {index} in infra/, not in the model")
        for index in want["indexes"].keys() & have["indexes"].keys():
            if want["indexes"][index] != have["indexes"][index]:
                problems.append(
                    f"{name}: index {index}: model {want['indexes'][index]} "
                    f"!= infra {have['indexes'][index]}"
                )
        for field in ("keys", "attributes", "billing_mode", "sse", "ttl", "pitr"):
            if want[field] != have[field]:
                problems.append(f"{name}: {field}: model {want[field]!r} != infra {have[field]!r}")
    return problems


def test_table_prefix_is_the_apps() -> None:
    assert _locals()["prefix"] == PREFIX_EXPRESSION
    assert settings.TABLE_PREFIX == f"{settings.PROJECT_NAME}-{settings.STAGE}-"


def test_terraform_tables_match_the_models_exactly() -> None:
    models = model_tables()
    assert models, "no registered models"
    assert table_differences(models, terraform_tables()) == []


def test_the_comparison_catches_drift_in_either_direction() -> None:
    """Guard against a comparison that always agrees: each kind of drift must be reported."""
    models = model_tables()
    name = next(n for n, t in models.items() if t["indexes"] and t["ttl"] is None)

    def drifted(change: Any) -> list[str]:
        terraform = {n: {**t, "indexes": dict(t["indexes"])} for n, t in models.items()}
        change(terraform)
        return table_differences(models, terraform)

    index = next(iter(models[name]["indexes"]))
    cases = {
        "table missing": lambda t: t.pop(name),
        "extra table": lambda t: t.__setitem__("extra", models[name]),
        "index missing": lambda t: t[name]["indexes"].pop(index),
        "extra index": lambda t: t[name]["indexes"].__setitem__("extra", {}),
        "projection": lambda t: t[name]["indexes"].__setitem__(
            index, {**models[name]["indexes"][index], "projection": "KEYS_ONLY"}
        ),
        "attribute type": lambda t: t[name].__setitem__(
            "attributes", {k: "N" for k in models[name]["attributes"]}
        ),
        "key": lambda t: t[name].__setitem__("keys", {"HASH": "other"}),
        "ttl": lambda t: t[name].__setitem__("ttl", "expires_at"),
        "pitr": lambda t: t[name].__setitem__("pitr", False),
    }
    for what, change in cases.items():
        assert drifted(change), f"a change of {what} went unnoticed"


# --- IAM: the two functions' policies (the public API's, the back office's) ---------------------

ROLES = ("public", "backoffice")

# Actions AWS authorises only on "*" (no resource-level permissions), each needed by the Lambda.
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",  # X-Ray tracing: segments
    "xray:PutTelemetryRecords",  # X-Ray daemon telemetry
    "xray:GetSamplingRules",  # X-Ray SDK sampling
    "xray:GetSamplingTargets",
}
# Wildcards inside an ARN that name no broader thing than needed: the streams of our own log
# group (Lambda names each stream itself).
ALLOWED_WILDCARD_SUFFIXES = (":log-stream:*",)


def _statements(role: str | None = None) -> list[dict[str, Any]]:
    """The statements of one role's policy, or of both."""
    documents = _blocks("data", "aws_iam_policy_document")
    return [s for name in ([role] if role else ROLES) for s in documents[name]["statement"]]


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_lambda_policy_has_no_wildcard_action() -> None:
    for statement in _statements():
        assert statement.get("effect", "Allow") == "Allow", statement
        assert "not_actions" not in statement and "not_resources" not in statement, statement
        for action in _as_list(statement["actions"]):
            assert "*" not in action, f"{statement['sid']}: wildcard action {action!r}"


def test_lambda_policy_has_no_wildcard_resource_where_a_narrower_one_exists() -> None:
    for statement in _statements():
        resources = _as_list(statement["resources"])
        for resource in resources:
            if resource == "*":
                extra = set(_as_list(statement["actions"])) - STAR_RESOURCE_ACTIONS
                assert not extra, f"{statement['sid']}: {sorted(extra)} on '*'"
            elif "*" in resource:
                assert resource.endswith(ALLOWED_WILDCARD_SUFFIXES), (
                    f"{statement['sid']}: wildcard in {resource!r}"
                )


def test_lambda_policy_covers_every_table_and_its_indexes() -> None:
    """The policy reaches the tables through local.tables; every table resource must be in it,
    so a new table cannot be left without access or granted by a broader pattern instead."""
    tables_local = _locals()["tables"]
    for resource in _blocks("resource", "aws_dynamodb_table"):
        assert f"aws_dynamodb_table.{resource}" in str(tables_local), (
            f"aws_dynamodb_table.{resource} is missing from local.tables"
        )
    resources = {s["sid"]: _as_list(s["resources"]) for s in _statements("backoffice")}
    assert resources["ReadWriteTableItems"] == ["${local.table_arns}"]
    assert resources["QueryIndexes"] == ["${local.index_arns}"]


def test_the_public_role_reaches_the_back_office_table_only_for_the_apis_items() -> None:
    """Every statement of the public policy on the back-office table carries a LeadingKeys
    condition, none names staff, sessions or sign-ins, and audit entries are only put."""
    statements = {s["sid"]: s for s in _statements("public")}
    on_backoffice = [
        s for s in statements.values()
        if "${aws_dynamodb_table.backoffice.arn}" in _as_list(s["resources"])
        or s["resources"] in ("${local.table_arns}",)
    ]  # fmt: skip
    assert {s["sid"] for s in on_backoffice} == {
        "ApiItemsOfTheBackOfficeTable",
        "AppendAuditEntries",
        "CheckTheTables",
    }
    assert _as_list(statements["CheckTheTables"]["actions"]) == ["dynamodb:DescribeTable"]
    assert _as_list(statements["AppendAuditEntries"]["actions"]) == ["dynamodb:PutItem"]
    for sid in ("ApiItemsOfTheBackOfficeTable", "AppendAuditEntries"):
        (condition,) = _as_list(statements[sid]["condition"])
        assert (condition["test"], condition["variable"]) == (
            "ForAllValues:StringLike",
            "dynamodb:LeadingKeys",
        )
    # The keys granted are exactly the registry's kinds (core.backoffice.KEYS) that staff's
    # modules (and the personal-data erasure, a staff action and a back-office job) do not
    # own: a new kind of the API's is granted on purpose, never a staff one.
    from core.backoffice import KEYS

    staff_owners = (
        "staff", "core.audit", "core.submissions",
        "orders.services.personal_data", "orders.services.retention",
        "payments.services.event_cancellation",
    )  # fmt: skip
    api_kinds = {
        key.prefix + ("" if key.exact else "*")
        for key in KEYS
        if not key.index and not key.owner.startswith(staff_owners)
    }
    assert set(_locals()["public_backoffice_keys"]) == api_kinds
    assert not [k for k in api_kinds if k.startswith(("STAFF", "SESSION", "SIGNIN", "AUDIT"))]
    assert statements["ReadOwnSecrets"]["resources"] == [
        "${aws_secretsmanager_secret.stripe.arn}",
        "${aws_secretsmanager_secret.app.arn}",
        "${aws_secretsmanager_secret.origin.arn}",
    ]


def test_no_managed_policy_widens_the_role() -> None:
    assert not _blocks("resource", "aws_iam_role_policy_attachment")
    assert not _blocks("resource", "aws_iam_policy_attachment")
    for name in ROLES:
        assert "managed_policy_arns" not in _blocks("resource", "aws_iam_role")[name]


# --- The runnable check (fmt, validate, checkov) -----------------------------------------------


@pytest.mark.skipif(
    os.environ.get("INFRA_CHECK_RUNNING") == "1", reason="already running inside infra/check.sh"
)
def test_infra_check_script_passes() -> None:
    """fmt, validate (or its announced skip) and checkov, as CI runs them."""
    result = subprocess.run(
        [str(INFRA / "check.sh"), "--no-pytest"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    # Skips are printed by the script and shown here, so a skipped validate is never silent.
    print(output)
    assert result.returncode == 0, output


# --- First apply, first init (issue 11) ----------------------------------------------------------


def test_init_needs_no_backend_configuration() -> None:
    """`terraform -chdir=infra init` works as documented: no backend block waiting for a
    -backend-config (local state until the operator opts into S3 with backend.tf.example)."""
    for path in TF_FILES:
        if path.name == "backend.tf":
            continue  # the operator's own S3 backend, copied from backend.tf.example
        for block in _parse(path).get("terraform", []):
            assert "backend" not in block, f"{path.name}: a backend block needs -backend-config"
    example = (INFRA / "backend.tf.example").read_text()
    assert 'backend "s3" {}' in example
    settings_example = (INFRA / "backend.hcl.example").read_text()
    for key in ("bucket", "key", "region", "use_lockfile"):
        assert f"\n{key} " in settings_example, key


def test_bucket_logging_waits_for_the_log_buckets_acl_and_policy() -> None:
    """PutBucketLogging fails until the target bucket accepts log delivery: the first apply
    failed on all three before these depends_on."""
    logging_blocks = _blocks("resource", "aws_s3_bucket_logging")
    assert set(logging_blocks) == {"cloudtrail", "deployments", "static", "storefront"}
    for name, body in logging_blocks.items():
        depends = set(body.get("depends_on", []))
        assert {
            "${aws_s3_bucket_ownership_controls.logs}",
            "${aws_s3_bucket_acl.logs}",
            "${aws_s3_bucket_policy.logs}",
        } <= depends, (name, depends)


def test_failed_async_invocations_go_to_a_dead_letter_queue_the_role_can_write() -> None:
    assert "async_failures" in _blocks("resource", "aws_sqs_queue")
    statements = {s["sid"]: s for s in _statements("public")}
    assert _as_list(statements["DeadLetterFailedAsyncTasks"]["actions"]) == ["sqs:SendMessage"]
    assert _as_list(statements["DeadLetterFailedAsyncTasks"]["resources"]) == [
        "${aws_sqs_queue.async_failures.arn}"
    ]
    assert "async_failures" in _blocks("resource", "aws_cloudwatch_metric_alarm")


# --- Security at the edge (WAF, the origin header) and the alarms on what the app emits ------


def test_both_distributions_sit_behind_the_web_acl_with_log4j_rules_and_a_rate_limit() -> None:
    acl = _blocks("resource", "aws_wafv2_web_acl")["edge"]
    assert acl["provider"] == "${aws.us_east_1}" and acl["scope"] == "CLOUDFRONT"
    assert acl["count"] == "${var.waf_enabled ? 1 : 0}"
    rate = [r for r in acl["rule"] if r["name"] == "rate-per-address"]
    assert _one(_one(rate[0]["statement"])["rate_based_statement"])["aggregate_key_type"] == "IP"
    groups = _locals()["waf_managed_rule_groups"]
    assert "AWSManagedRulesKnownBadInputsRuleSet" in groups  # Log4j (checkov CKV_AWS_192)
    # Stripe's signed events can exceed the common rule set's 8 KB body limit: only counted.
    assert groups["AWSManagedRulesCommonRuleSet"]["count_only"] == ["SizeRestrictions_BODY"]
    for name in ("admin", "storefront"):
        distribution = _blocks("resource", "aws_cloudfront_distribution")[name]
        assert distribution["web_acl_id"] == "${local.web_acl_arn}", name


def test_the_api_origin_carries_the_header_whose_value_the_app_reads() -> None:
    admin = _blocks("resource", "aws_cloudfront_distribution")["admin"]
    (api,) = [o for o in admin["origin"] if o["origin_id"] == "api-gateway"]
    header = _one(api["custom_header"])
    assert header == {"name": "X-Origin-Verify", "value": "${var.origin_verify_secret}"}
    version = _blocks("resource", "aws_secretsmanager_secret_version")["origin"]
    assert "origin_verify_secret = var.origin_verify_secret" in version["secret_string"].replace(
        "  ", " "
    )
    secret = _blocks("resource", "aws_secretsmanager_secret")["origin"]
    assert secret["name"] == "${local.secret_prefix}/origin"  # core.config reads this name
    readable = [s for s in _statements() if s.get("sid") == "ReadOwnSecrets"]
    assert "${aws_secretsmanager_secret.origin.arn}" in _as_list(readable[0]["resources"])


def _metrics_the_app_emits() -> set[str]:
    import ast

    names = set()
    apps = ("core", "integrations", "tickets", "orders", "payments", "staff")
    for path in (p for app in apps for p in (INFRA.parent / app).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "metric_emit"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def test_every_metric_the_app_emits_is_on_the_dashboard_list() -> None:
    emitted = _metrics_the_app_emits()
    assert "StaffSigninFailures" in emitted  # the walk finds them
    assert emitted <= set(_locals()["app_metrics"]), emitted - set(_locals()["app_metrics"])
    assert "StaffSigninFailures" in _locals()["app_alarms"]
