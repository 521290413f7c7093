# The admin and the API behind one CloudFront distribution (one domain, as before the split):
# the default origin is the public API's REST API (Zappa stage {stage}), `/admin/*` goes to the
# back office's (stage {stage}-backoffice), both regional endpoints with their stage as origin
# path and the same origin-verify header; and `/static/*` comes from a
# private S3 bucket that `manage.py collectstatic` fills (django-storages, S3ManifestStaticStorage
# with custom_domain = this distribution). One domain: no CORS for the admin's fonts and scripts.
#
# What Django sees through this path: Host is the execute-api name (API Gateway refuses any
# other Host), so Zappa sets SCRIPT_NAME to /{stage}; DJANGO_BEHIND_CLOUDFRONT=1 (zappa_settings.json)
# makes Django use FORCE_SCRIPT_NAME = "" so links start at the root; the app must also trust this distribution's origin for CSRF (outputs.tf: admin_url).

resource "aws_s3_bucket" "static" {
  #checkov:skip=CKV_AWS_144:Cross-region replication: collectstatic rebuilds the bucket's content from the package in a minute.
  #checkov:skip=CKV_AWS_145:SSE-S3: public files served through CloudFront; OAC with SSE-KMS needs a customer-managed key and its policy.
  #checkov:skip=CKV2_AWS_62:No consumer for object events.
  bucket = "${local.bucket_prefix}-static"
}

resource "aws_s3_bucket_ownership_controls" "static" {
  bucket = aws_s3_bucket.static.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "static" {
  bucket                  = aws_s3_bucket.static.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "static" {
  bucket = aws_s3_bucket.static.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "static" {
  bucket = aws_s3_bucket.static.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "static" {
  bucket        = aws_s3_bucket.static.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/static/"

  # PutBucketLogging checks that the target bucket accepts log delivery: its ownership, ACL
  # and policy must exist first, or the first apply fails (a second one would succeed).
  depends_on = [
    aws_s3_bucket_ownership_controls.logs,
    aws_s3_bucket_acl.logs,
    aws_s3_bucket_policy.logs,
  ]
}

resource "aws_s3_bucket_lifecycle_configuration" "static" {
  bucket = aws_s3_bucket.static.id

  rule {
    id     = "expire-replaced-static-files"
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

# AWS managed policies, looked up by name rather than by opaque id.
data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

# Everything the viewer sent (cookies, query, Authorization, CSRF header) except Host, which
# must stay the execute-api name.
data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_distribution" "admin" {
  #checkov:skip=CKV_AWS_68:The web ACL (waf.tf) is attached unless var.waf_enabled is false, which checkov cannot evaluate.
  #checkov:skip=CKV2_AWS_47:The web ACL (waf.tf) carries AWSManagedRulesKnownBadInputsRuleSet (Log4j), attached unless var.waf_enabled is false.
  #checkov:skip=CKV_AWS_310:The API has one regional endpoint; there is no second origin to fail over to.
  #checkov:skip=CKV_AWS_374:Staff and Stripe webhooks come from anywhere: no geo restriction.
  #checkov:skip=CKV_AWS_174:TLS 1.2+ (TLSv1.2_2021) is set whenever a certificate is configured; the *.cloudfront.net default certificate does not allow choosing.
  #checkov:skip=CKV2_AWS_42:A custom certificate is used when var.admin_domain is set; without a domain CloudFront's own certificate is the only one possible.
  #checkov:skip=CKV_AWS_305:The default origin is the API: "/" is Django's, there is no root object to serve.
  enabled         = true
  is_ipv6_enabled = true
  comment         = "${local.name} admin and API"
  web_acl_id      = local.web_acl_arn
  price_class     = "PriceClass_100"
  aliases         = var.admin_domain == "" ? [] : [var.admin_domain]
  http_version    = "http2and3"

  origin {
    origin_id   = "api-gateway"
    domain_name = var.api_origin_domain
    origin_path = "/${var.environment}"

    # Proves to the app that a request came through this distribution, so it may believe
    # CloudFront-Viewer-Address (forwarded by the AllViewerExceptHostHeader policy, which
    # includes CloudFront's viewer headers) as the client's address (core/client_identity.py).
    custom_header {
      name  = "X-Origin-Verify"
      value = var.origin_verify_secret
    }

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      origin_read_timeout    = 30
    }
  }

  # The back office (/admin/*): its own function, role and Stripe key (iam.tf).
  origin {
    origin_id   = "backoffice-api-gateway"
    domain_name = var.backoffice_api_origin_domain
    origin_path = "/${var.environment}-backoffice"

    custom_header {
      name  = "X-Origin-Verify"
      value = var.origin_verify_secret
    }

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      origin_read_timeout    = 30
    }
  }

  origin {
    origin_id                = "static-s3"
    domain_name              = aws_s3_bucket.static.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }

  # The public API answers everything else (the catalog, orders, Stripe's webhooks, /health,
  # /schema): never cached here, every method allowed (buyers and Stripe POST).
  default_cache_behavior {
    target_origin_id           = "api-gateway"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # The staff admin: the back office's function, never cached (sessions, CSRF, per-user pages).
  ordered_cache_behavior {
    path_pattern               = "/admin/*"
    target_origin_id           = "backoffice-api-gateway"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # Manifest-hashed names (S3ManifestStaticStorage): safe to cache for the managed maximum.
  ordered_cache_behavior {
    path_pattern               = "/static/*"
    target_origin_id           = "static-s3"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cloudfront/admin/"
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.admin_domain == ""
    acm_certificate_arn            = var.admin_domain == "" ? null : var.certificate_arn
    ssl_support_method             = var.admin_domain == "" ? null : "sni-only"
    minimum_protocol_version       = var.admin_domain == "" ? "TLSv1" : "TLSv1.2_2021"
  }

  depends_on = [aws_s3_bucket_acl.logs]
}

data "aws_iam_policy_document" "static_bucket" {
  statement {
    sid       = "CloudFrontReadsThroughOAC"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.static.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.admin.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.static.arn,
      "${aws_s3_bucket.static.arn}/*",
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

resource "aws_s3_bucket_policy" "static" {
  bucket     = aws_s3_bucket.static.id
  policy     = data.aws_iam_policy_document.static_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.static]
}
