"""infra/'s day-two resources, read from the HCL: the API's access log (JSON, no personal data),
the account's CloudWatch role, CloudTrail with its own encrypted bucket and lifecycle, AWS
Backup of every table (daily, 35 days, its own vault and key) with an alarm on a failed job.
The rehearsal (tests/rehearsal/) applies them against the emulator and checks what AWS holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.infra.test_infra import _all, _blocks, _locals

ROOT = Path(__file__).resolve().parents[2]

# $context variables that carry personal data or bodies: never in an access-log line.
FORBIDDEN_CONTEXT = {
    "identity.sourceIp",  # the buyer's address
    "identity.userAgent",
    "identity.caller",
    "identity.user",
    "identity.userArn",
    "identity.cognitoIdentityId",
    "authorizer.claims",
    "requestOverride",
    "responseOverride",
}


def _access_log_variables() -> list[str]:
    return re.findall(r"\$context\.([\w.]+)", _locals()["api_access_log_format"])


def test_the_access_log_line_has_what_an_operator_reads() -> None:
    assert {"requestId", "status", "responseLatency", "httpMethod", "path"} <= set(
        _access_log_variables()
    )
    assert _locals()["api_access_log_format"].startswith("${jsonencode(")  # one JSON object


def test_the_access_log_line_has_no_personal_data_query_string_or_body() -> None:
    variables = _access_log_variables()
    leaks = [v for v in variables if any(v.startswith(f) for f in FORBIDDEN_CONTEXT)]
    assert leaks == []
    # $context.path is the path without its query string; nothing names the query or a body.
    assert not [v for v in variables if "query" in v.lower() or "body" in v.lower()]


def test_execution_logs_are_errors_only_without_bodies() -> None:
    prod = json.loads((ROOT / "zappa_settings.json").read_text())["prod"]
    assert prod["cloudwatch_log_level"] == "ERROR"
    assert prod["cloudwatch_data_trace"] is False  # a data trace logs whole requests


def test_api_gateway_logs_through_an_account_role_that_writes_only_logs() -> None:
    account = _blocks("resource", "aws_api_gateway_account")["this"]
    assert account["cloudwatch_role_arn"] == "${aws_iam_role.apigateway_cloudwatch[0].arn}"
    (statement,) = _blocks("data", "aws_iam_policy_document")["apigateway_cloudwatch"]["statement"]
    assert all(action.startswith("logs:") for action in statement["actions"])
    assert "*" not in statement["resources"]
    group = _blocks("resource", "aws_cloudwatch_log_group")["api_access"]
    assert group["retention_in_days"] == "${var.log_retention_days}"


def test_cloudtrail_records_management_events_everywhere_into_its_own_encrypted_bucket() -> None:
    trail = _blocks("resource", "aws_cloudtrail")["this"]
    assert trail["is_multi_region_trail"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["event_selector"][0]["include_management_events"] is True
    assert trail["s3_bucket_name"] == "${aws_s3_bucket.cloudtrail.id}"  # not the access logs'
    assert trail["kms_key_id"] == "${aws_kms_key.cloudtrail.arn}"
    (rule,) = _blocks("resource", "aws_s3_bucket_server_side_encryption_configuration")[
        "cloudtrail"
    ]["rule"]
    (default,) = rule["apply_server_side_encryption_by_default"]
    assert default == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": "${aws_kms_key.cloudtrail.arn}",
    }
    (lifecycle,) = _blocks("resource", "aws_s3_bucket_lifecycle_configuration")["cloudtrail"][
        "rule"
    ]
    assert lifecycle["expiration"][0]["days"] == "${var.cloudtrail_retention_days}"
    assert _blocks("resource", "aws_kms_key")["cloudtrail"]["enable_key_rotation"] is True
    public = _blocks("resource", "aws_s3_bucket_public_access_block")["cloudtrail"]
    assert all(public[k] is True for k in ("block_public_acls", "block_public_policy",
                                             "ignore_public_acls", "restrict_public_buckets"))  # fmt: skip


def test_every_table_is_backed_up_daily_for_35_days_in_its_own_vault_and_key() -> None:
    (rule,) = _blocks("resource", "aws_backup_plan")["tables"]["rule"]
    assert rule["target_vault_name"] == "${aws_backup_vault.tables.name}"
    assert rule["lifecycle"][0]["delete_after"] == "${var.backup_retention_days}"
    variables = {
        name: body
        for document in _all()
        for v in document.get("variable", [])
        for name, body in v.items()
    }
    assert variables["backup_retention_days"]["default"] == 35
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", variables["backup_schedule"]["default"])
    vault = _blocks("resource", "aws_backup_vault")["tables"]
    assert vault["kms_key_arn"] == "${aws_kms_key.backup.arn}"  # its own key, not CloudTrail's
    selection = _blocks("resource", "aws_backup_selection")["tables"]
    assert selection["resources"] == "${local.table_arns}"  # every table (test_infra: all in it)
    assert selection["iam_role_arn"] == "${aws_iam_role.backup.arn}"


def test_a_failed_aborted_or_expired_backup_job_raises_an_alarm() -> None:
    alarm = _blocks("resource", "aws_cloudwatch_metric_alarm")["backup_failed"]
    assert alarm["alarm_actions"] == "${local.alarm_actions}"
    text = json.dumps(alarm)
    for metric in (
        "NumberOfBackupJobsFailed",
        "NumberOfBackupJobsAborted",
        "NumberOfBackupJobsExpired",
    ):
        assert metric in text
    assert "${aws_backup_vault.tables.name}" in text


# --- The deploy pipeline's role (infra/github_deploy.tf) ------------------------------------


def test_the_deploy_role_trusts_only_main_of_one_repository_in_one_environment() -> None:
    (statement,) = _blocks("data", "aws_iam_policy_document")["github_assume"]["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert conditions["token.actions.githubusercontent.com:aud"]["values"] == ["sts.amazonaws.com"]
    subject = conditions["token.actions.githubusercontent.com:sub"]
    assert subject["test"] == "StringEquals"  # exact: no StringLike, no wildcard
    assert subject["values"] == ["${local.github_subject}"]
    assert _locals()["github_subject"] == (
        "repo:${var.github_repository}:environment:${local.github_environment}:ref:refs/heads/main"
    )


def test_the_deploy_role_can_deploy_this_stage_only() -> None:
    statements = _blocks("data", "aws_iam_policy_document")["github_deploy"]["statement"]
    for statement in statements:
        actions = statement["actions"]
        resources = statement["resources"]
        assert not [a for a in actions if a.endswith(":*") or a == "*"], statement["sid"]
        assert "*" not in (resources if isinstance(resources, list) else [resources]), statement[
            "sid"
        ]
        # Nothing that creates or changes tables, roles, keys or secrets: Terraform's job.
        assert not [a for a in actions if a.split(":")[0] in {"dynamodb", "kms", "secretsmanager"}]
        assert not [a for a in actions if a.startswith("iam:") and a != "iam:PassRole"]
    sids = {s["sid"]: s for s in statements}
    assert sids["PassTheFunctionsRole"]["resources"] == [
        "${aws_iam_role.public.arn}",
        "${aws_iam_role.backoffice.arn}",
    ]
    assert (
        sids["UpdateReleaseAndRollBackTheFunction"]["resources"] == "${local.deploy_function_arns}"
    )
