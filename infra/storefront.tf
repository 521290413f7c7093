# The storefront: a Vite build in a private S3 bucket, served only through CloudFront (origin
# access control). Deploy: `aws s3 sync dist/ s3://<storefront_bucket>/` then invalidate
# /index.html (hashed assets never need invalidating).

resource "aws_s3_bucket" "storefront" {
  #checkov:skip=CKV_AWS_144:Cross-region replication: the bucket holds a build output that CI can publish again in minutes.
  #checkov:skip=CKV_AWS_145:SSE-S3 rather than KMS: the content is public through CloudFront anyway, and OAC with SSE-KMS needs a customer-managed key and its policy.
  #checkov:skip=CKV2_AWS_62:No consumer for object events; deploys are driven by CI.
  bucket = "${local.bucket_prefix}-storefront"
}

resource "aws_s3_bucket_ownership_controls" "storefront" {
  bucket = aws_s3_bucket.storefront.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "storefront" {
  bucket                  = aws_s3_bucket.storefront.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "storefront" {
  bucket = aws_s3_bucket.storefront.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "storefront" {
  bucket = aws_s3_bucket.storefront.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "storefront" {
  bucket        = aws_s3_bucket.storefront.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/storefront/"

  # PutBucketLogging checks that the target bucket accepts log delivery: its ownership, ACL
  # and policy must exist first, or the first apply fails (a second one would succeed).
  depends_on = [
    aws_s3_bucket_ownership_controls.logs,
    aws_s3_bucket_acl.logs,
    aws_s3_bucket_policy.logs,
  ]
}

# Versioning keeps every deploy; old versions (rollback material) go after 30 days.
resource "aws_s3_bucket_lifecycle_configuration" "storefront" {
  bucket = aws_s3_bucket.storefront.id

  rule {
    id     = "expire-old-deploys"
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

resource "aws_cloudfront_origin_access_control" "s3" {
  name                              = "${local.name}-s3"
  description                       = "CloudFront reads the storefront and static buckets; nothing else can."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# HTML (index.html and every SPA route that falls back to it): 60 s, so a deploy shows within
# a minute without an invalidation.
resource "aws_cloudfront_cache_policy" "html" {
  name        = "${local.name}-html-60s"
  min_ttl     = 0
  default_ttl = 60
  max_ttl     = 60

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Assets under /assets/ (Vite's hashed file names): one hour, as the seed system had.
resource "aws_cloudfront_cache_policy" "assets" {
  name        = "${local.name}-assets-1h"
  min_ttl     = 0
  default_ttl = 3600
  max_ttl     = 3600

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "security" {
  name    = "${local.name}-security-headers"
  comment = "HSTS and the usual hardening headers on everything CloudFront serves."

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = false
    }
  }
}

resource "aws_cloudfront_distribution" "storefront" {
  #checkov:skip=CKV_AWS_68:The web ACL (waf.tf) is attached unless var.waf_enabled is false, which checkov cannot evaluate.
  #checkov:skip=CKV2_AWS_47:The web ACL (waf.tf) carries AWSManagedRulesKnownBadInputsRuleSet (Log4j), attached unless var.waf_enabled is false.
  #checkov:skip=CKV_AWS_310:One S3 origin in one region; a failover origin would need replication (CKV_AWS_144).
  #checkov:skip=CKV_AWS_374:Tickets are sold worldwide: no geo restriction.
  #checkov:skip=CKV_AWS_174:TLS 1.2+ (TLSv1.2_2021) is set whenever a certificate is configured; the *.cloudfront.net default certificate does not allow choosing.
  #checkov:skip=CKV2_AWS_42:A custom certificate is used when var.domain is set; without a domain CloudFront's own certificate is the only one possible.
  enabled             = true
  web_acl_id          = local.web_acl_arn
  is_ipv6_enabled     = true
  comment             = "${local.name} storefront"
  default_root_object = "index.html"
  price_class         = "PriceClass_100"
  aliases             = var.domain == "" ? [] : [var.domain]
  http_version        = "http2and3"

  origin {
    origin_id                = "storefront-s3"
    domain_name              = aws_s3_bucket.storefront.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }

  default_cache_behavior {
    target_origin_id           = "storefront-s3"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.html.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  ordered_cache_behavior {
    path_pattern               = "/assets/*"
    target_origin_id           = "storefront-s3"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.assets.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # SPA fallback: client-side routes (/orders/abc) are not objects. Without s3:ListBucket a
  # missing key is a 403, so both 403 and 404 answer index.html with 200, cached like HTML.
  custom_error_response {
    error_code            = 403
    response_code         = 200
    response_page_path    = "/index.html"
    error_caching_min_ttl = 60
  }

  custom_error_response {
    error_code            = 404
    response_code         = 200
    response_page_path    = "/index.html"
    error_caching_min_ttl = 60
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cloudfront/storefront/"
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.domain == ""
    acm_certificate_arn            = var.domain == "" ? null : var.certificate_arn
    ssl_support_method             = var.domain == "" ? null : "sni-only"
    minimum_protocol_version       = var.domain == "" ? "TLSv1" : "TLSv1.2_2021"
  }

  depends_on = [aws_s3_bucket_acl.logs]
}

data "aws_iam_policy_document" "storefront_bucket" {
  statement {
    sid       = "CloudFrontReadsThroughOAC"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.storefront.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.storefront.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.storefront.arn,
      "${aws_s3_bucket.storefront.arn}/*",
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

resource "aws_s3_bucket_policy" "storefront" {
  bucket     = aws_s3_bucket.storefront.id
  policy     = data.aws_iam_policy_document.storefront_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.storefront]
}
