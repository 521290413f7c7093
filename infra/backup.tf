# AWS Backup of the tables: a daily backup kept var.backup_retention_days (35) in a vault of
# its own, encrypted with a key of its own, so a backup survives the table's deletion, a bad
# restore, and anyone who can write the tables but not the vault. Point-in-time recovery
# (dynamodb.tf) covers the last 35 days to the second; these are the copies outside the table.
#
# DynamoDB's backups use the vault's key only with AWS Backup's "advanced features" for
# DynamoDB turned on in the region (aws_backup_region_settings below; without them a backup is a
# native DynamoDB backup under the table's key, and its lifecycle is AWS Backup's anyway).
# A failed, aborted or expired job raises the `backup-jobs-failed` alarm (docs/runbook.md).

resource "aws_kms_key" "backup" {
  description             = "${local.name}: the backup vault's key"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.backup_key.json
}

resource "aws_kms_alias" "backup" {
  name          = "alias/${local.name}-backup"
  target_key_id = aws_kms_key.backup.key_id
}

data "aws_iam_policy_document" "backup_key" {
  #checkov:skip=CKV_AWS_109:A key policy's resource is always the key itself ("*" means this key).
  #checkov:skip=CKV_AWS_111:A key policy's resource is always the key itself ("*" means this key).
  #checkov:skip=CKV_AWS_356:A key policy's resource is always the key itself ("*" means this key).
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_backup_vault" "tables" {
  name        = "${local.name}-tables"
  kms_key_arn = aws_kms_key.backup.arn
}

resource "aws_backup_region_settings" "this" {
  count = var.manage_backup_region_settings ? 1 : 0

  # Every type AWS Backup protects must be listed; only DynamoDB matters here.
  resource_type_opt_in_preference = {
    "Aurora"                 = true
    "CloudFormation"         = true
    "DocumentDB"             = true
    "DSQL"                   = true
    "DynamoDB"               = true
    "EBS"                    = true
    "EC2"                    = true
    "EFS"                    = true
    "FSx"                    = true
    "Neptune"                = true
    "RDS"                    = true
    "Redshift"               = true
    "Redshift Serverless"    = true
    "S3"                     = true
    "SAP HANA on Amazon EC2" = true
    "Storage Gateway"        = true
    "Timestream"             = true
    "VirtualMachine"         = true
  }

  resource_type_management_preference = {
    "DynamoDB" = true
    "EFS"      = true
  }
}

resource "aws_backup_plan" "tables" {
  name = "${local.name}-tables-daily"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.tables.name
    schedule          = var.backup_schedule
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.backup_retention_days
    }
  }
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    sid     = "AwsBackupRunsAsThisRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "backup" {
  name                 = "${local.name}-backup"
  description          = "AWS Backup backs up the ${local.name} tables into their vault."
  assume_role_policy   = data.aws_iam_policy_document.backup_assume.json
  max_session_duration = 3600
}

# The DynamoDB and KMS part of AWS's AWSBackupServiceRolePolicyForBackup, on these tables and
# this vault's key only (no managed policy: tests/infra/test_infra.py).
data "aws_iam_policy_document" "backup" {
  statement {
    sid = "BackUpTheTables"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:CreateBackup",
      "dynamodb:StartAwsBackupJob",
      "dynamodb:ListTagsOfResource",
    ]
    resources = local.table_arns
  }

  statement {
    sid       = "ManageTheTablesBackups"
    actions   = ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"]
    resources = [for arn in local.table_arns : "${arn}/backup/*"]
  }

  statement {
    sid       = "EncryptWithTheVaultsKey"
    actions   = ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant"]
    resources = [aws_kms_key.backup.arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com", "backup.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "backup" {
  name   = "back-up-tables"
  role   = aws_iam_role.backup.id
  policy = data.aws_iam_policy_document.backup.json
}

resource "aws_backup_selection" "tables" {
  name         = "${local.name}-tables"
  plan_id      = aws_backup_plan.tables.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = local.table_arns
}

resource "aws_cloudwatch_metric_alarm" "backup_failed" {
  alarm_name          = "${local.name}-backup-jobs-failed"
  alarm_description   = "An AWS Backup job for the tables failed, was aborted or expired before it started: that day has no backup in the vault ${aws_backup_vault.tables.name}."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "unsuccessful"
    expression  = "failed + aborted + expired"
    label       = "Backup jobs not completed"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      failed  = "NumberOfBackupJobsFailed"
      aborted = "NumberOfBackupJobsAborted"
      expired = "NumberOfBackupJobsExpired"
    }

    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/Backup"
        metric_name = metric_query.value
        dimensions  = { BackupVaultName = aws_backup_vault.tables.name }
        stat        = "Sum"
        period      = 3600
      }
    }
  }
}
