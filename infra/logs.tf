# Log storage: the Lambda's log group (created here so its retention is set before Zappa's
# first invocation would create it with "never expire") and the bucket for CloudFront and S3
# access logs.

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs' own key; a CMK adds cost and a key policy without narrowing readers. No secret is ever logged (core.logging redacts).
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 90 days): request logs carry masked personal data and are kept only as long as they help debugging.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "backoffice" {
  #checkov:skip=CKV_AWS_158:As the public function's (above).
  #checkov:skip=CKV_AWS_338:As the public function's (above).
  name              = "/aws/lambda/${local.backoffice_function_name}"
  retention_in_days = var.log_retention_days
}

# CloudFront standard logs and S3 server access logs. CloudFront's log delivery still writes
# with an ACL, so this bucket (only this one) keeps ACLs enabled with BucketOwnerPreferred.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Cross-region replication of access logs is not worth a second bucket and its transfer.
  #checkov:skip=CKV_AWS_145:SSE-S3: CloudFront log delivery cannot write to a bucket encrypted with a KMS key it has no grant on.
  #checkov:skip=CKV2_AWS_62:No event consumer for access logs.
  bucket = "${local.bucket_prefix}-access-logs"
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard logging writes with the log-delivery ACL, so this bucket alone keeps ACLs (BucketOwnerPreferred); it stays private (public access block).
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_acl" "logs" {
  bucket     = aws_s3_bucket.logs.id
  acl        = "log-delivery-write"
  depends_on = [aws_s3_bucket_ownership_controls.logs]
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # S3 server access logging of the other buckets delivers through the logging service.
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs_bucket.json
}
