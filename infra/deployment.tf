# Zappa's deployment bucket (zappa_settings.json "s3_bucket"): `zappa update` uploads the
# package here, and with slim_handler the Lambda downloads its project archive from here at
# cold start. Created here so it is private, encrypted and cleaned up, not left to Zappa.

resource "aws_s3_bucket" "deployments" {
  #checkov:skip=CKV_AWS_144:Cross-region replication: every object is a build artefact `zappa update` can upload again.
  #checkov:skip=CKV_AWS_145:SSE-S3: a KMS key would need kms:Decrypt for the Lambda at every cold start (slim_handler) for no narrower access.
  #checkov:skip=CKV2_AWS_62:No consumer for object events.
  bucket = "${local.bucket_prefix}-zappa-deployments"
}

resource "aws_s3_bucket_ownership_controls" "deployments" {
  bucket = aws_s3_bucket.deployments.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "deployments" {
  bucket                  = aws_s3_bucket.deployments.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "deployments" {
  bucket = aws_s3_bucket.deployments.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "deployments" {
  bucket = aws_s3_bucket.deployments.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "deployments" {
  bucket        = aws_s3_bucket.deployments.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/deployments/"

  # PutBucketLogging checks that the target bucket accepts log delivery: its ownership, ACL
  # and policy must exist first, or the first apply fails (a second one would succeed).
  depends_on = [
    aws_s3_bucket_ownership_controls.logs,
    aws_s3_bucket_acl.logs,
    aws_s3_bucket_policy.logs,
  ]
}

# Zappa overwrites the same keys at each update; the replaced versions are kept a while for
# forensics and then dropped.
resource "aws_s3_bucket_lifecycle_configuration" "deployments" {
  bucket = aws_s3_bucket.deployments.id

  rule {
    id     = "expire-old-packages"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "deployments_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.deployments.arn,
      "${aws_s3_bucket.deployments.arn}/*",
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
}

resource "aws_s3_bucket_policy" "deployments" {
  bucket     = aws_s3_bucket.deployments.id
  policy     = data.aws_iam_policy_document.deployments_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.deployments]
}
