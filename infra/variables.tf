# Inputs. Defaults are the production values; terraform.tfvars.example shows the ones an
# operator must set (alarm e-mail, vendor endpoint, and the API origin once Zappa created it).

variable "region" {
  description = "AWS region of the tables, the Lambda and its API (the spec fixes us-east-2)."
  type        = string
  default     = "us-east-2"
}

variable "project" {
  description = "Project name: the first part of every resource name; must equal the app's PROJECT_NAME and Zappa's project_name."
  type        = string
  default     = "ticketstoheaven"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project))
    error_message = "project must be lower-case letters, digits and dashes (it is part of S3 bucket names)."
  }
}

variable "environment" {
  description = "Stage: the Zappa stage and the app's STAGE (tables are {project}-{environment}-{name})."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be lower-case letters and digits."
  }
}

variable "domain" {
  description = "Storefront domain (e.g. tickets.example.com). Empty: the storefront is served on its *.cloudfront.net name."
  type        = string
  default     = ""
}

variable "admin_domain" {
  description = "Domain of the admin/API distribution (e.g. backoffice.example.com). Empty: its *.cloudfront.net name."
  type        = string
  default     = ""
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 (CloudFront requires that region) covering domain and admin_domain. Needed only when a domain is set."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:us-east-1:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate in us-east-1."
  }
}

variable "api_origin_domain" {
  description = "Regional endpoint of the REST API Zappa created ({api-id}.execute-api.{region}.amazonaws.com). Zappa creates the API after this stack exists, so the first apply uses the placeholder and a second apply sets the real one."
  type        = string
  default     = "api-not-deployed-yet.execute-api.us-east-2.amazonaws.com"
}

variable "backoffice_api_origin_domain" {
  description = "Regional endpoint of the back office's REST API (Zappa stage {environment}-backoffice), set like api_origin_domain after its first deploy."
  type        = string
  default     = "backoffice-not-deployed-yet.execute-api.us-east-2.amazonaws.com"
}

variable "api_gateway_name" {
  description = "Name of the REST API (alarm dimension). Empty: Zappa's default, {project}-{environment}."
  type        = string
  default     = ""
}

variable "lambda_memory_mb" {
  description = "Memory of the Zappa Lambda (goes to zappa_settings.json memory_size; also sizes the cost estimate)."
  type        = number
  default     = 1024
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the Zappa Lambda (zappa_settings.json timeout_seconds). The duration alarm fires at 80% of it."
  type        = number
  default     = 30

  validation {
    # Web requests are cut at 29 s by API Gateway anyway; scheduled sweeps and async tasks may
    # use the rest, up to Lambda's 900 s.
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 900
    error_message = "Between 3 and 900 seconds."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda's log group."
  type        = number
  default     = 90
}

variable "access_log_retention_days" {
  description = "How long CloudFront and S3 access logs are kept in the log bucket."
  type        = number
  default     = 90
}

variable "alarm_email" {
  description = "Address that receives every alarm (it must confirm the SNS subscription once)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "dynamodb_deletion_protection" {
  description = "Refuse DeleteTable on the tables (turn off only to tear down a test stage)."
  type        = bool
  default     = true
}

# --- SSM parameters (non-secret configuration; secrets are in Secrets Manager) -----------------

variable "vendor_endpoint" {
  description = "Base URL of the fulfillment vendor's API (SSM vendor_endpoint)."
  type        = string

  validation {
    condition     = can(regex("^https://", var.vendor_endpoint))
    error_message = "vendor_endpoint must be an https:// URL."
  }
}

variable "order_expiry_minutes" {
  description = "Minutes an unpaid order keeps its seats (SSM order_expiry_minutes)."
  type        = number
  default     = 30
}

variable "fulfillment_max_attempts" {
  description = "Attempts at the vendor before an order is fulfillment_failed (SSM fulfillment_max_attempts)."
  type        = number
  default     = 8
}

variable "vendor_connect_timeout" {
  description = "Seconds to connect to the vendor (SSM vendor_connect_timeout)."
  type        = number
  default     = 3
}

variable "vendor_read_timeout" {
  description = "Seconds to wait for the vendor's answer (SSM vendor_read_timeout)."
  type        = number
  default     = 10
}

variable "orders_rate_limit_per_minute" {
  description = "POST /orders allowed per client address per minute (SSM orders_rate_limit_per_minute)."
  type        = number
  default     = 30
}

variable "stripe_account_rate" {
  description = "Stripe requests a second for the whole account, every Lambda together (SSM stripe_account_rate). Stripe's default: 100 live, 25 in test mode."
  type        = number
  default     = 100
}

variable "stripe_endpoint_rate" {
  description = "Stripe requests a second per API endpoint, e.g. POST /v1/payment_intents (SSM stripe_endpoint_rate). Stripe's default: 25."
  type        = number
  default     = 25
}

variable "stripe_endpoint_rates" {
  description = "Per-endpoint exceptions, e.g. {\"POST /v1/payment_intents\" = 100} after Stripe raised that one (SSM stripe_endpoint_rates)."
  type        = map(number)
  default     = {}
}

variable "stripe_burst_seconds" {
  description = "How many seconds' worth of requests may go at once (SSM stripe_burst_seconds); below Stripe's own burst so jitter never looks like one."
  type        = number
  default     = 0.5
}

variable "stripe_priority_reserve" {
  description = "Fraction of the account's burst new PaymentIntents leave to money already moving: refunds, cancels, syncs (SSM stripe_priority_reserve)."
  type        = number
  default     = 0.4
}

variable "stripe_wait_new_seconds" {
  description = "The longest a buyer's new PaymentIntent waits for a slot of the budget before the buyer is told 429 with Retry-After (SSM stripe_wait_new_seconds)."
  type        = number
  default     = 3
}

variable "stripe_wait_moving_seconds" {
  description = "The longest a refund, cancel or sync waits for a slot of the budget before it is left to Stripe's retry or the next job run (SSM stripe_wait_moving_seconds)."
  type        = number
  default     = 8
}

variable "retention_personal_data_months" {
  description = "A customer's personal data is erased this many months after their last order (SSM retention_personal_data_months; 0 turns the retention job off)."
  type        = number
  default     = 24
  validation {
    condition     = var.retention_personal_data_months >= 0
    error_message = "retention_personal_data_months is 0 (off) or a number of months."
  }
}

variable "retention_audit_years" {
  description = "Audit lines about an erased customer's orders (the accounting record) are kept this many years, then expire by TTL (SSM retention_audit_years)."
  type        = number
  default     = 10
  validation {
    condition     = var.retention_audit_years >= 1
    error_message = "retention_audit_years is at least 1."
  }
}

variable "feature_flags" {
  description = "Feature flags, stored as one JSON object (SSM feature_flags)."
  type        = map(bool)
  default     = {}
}

# --- Alarm thresholds ----------------------------------------------------------------------------

variable "app_metric_dimensions" {
  description = "Dimensions the app puts on its EMF metrics in namespace TicketsToHeaven. A CloudWatch alarm matches only the exact dimension set, so this must equal what the app emits (none by default)."
  type        = map(string)
  default     = {}
}

variable "lambda_errors_threshold" {
  description = "Lambda errors in 5 minutes that raise the alarm."
  type        = number
  default     = 5
}

variable "api_5xx_threshold" {
  description = "API Gateway 5xx answers in 5 minutes that raise the alarm."
  type        = number
  default     = 5
}

variable "api_latency_p99_ms" {
  description = "p99 API Gateway latency (ms) over 5 minutes that raises the alarm, three periods in a row."
  type        = number
  default     = 3000
}

variable "payments_failed_threshold" {
  description = "Failed payments in 15 minutes that raise the alarm (card declines are normal; a burst is not)."
  type        = number
  default     = 20
}

variable "staff_signin_failures_threshold" {
  description = "Refused staff sign-ins in 15 minutes that raise the alarm (a person mistyping makes a handful)."
  type        = number
  default     = 20
}

variable "origin_verify_secret" {
  description = "The value the admin/API distribution sends to API Gateway in X-Origin-Verify, proving a request came through it (only then does the app believe CloudFront-Viewer-Address, the buyer's address). At least 32 letters, digits, '-' or '_': openssl rand -hex 32. Terraform writes it to the origin header and the origin secret, so it is in the state (keep the state private)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.origin_verify_secret) >= 32 && can(regex("^[A-Za-z0-9_-]+$", var.origin_verify_secret)) && !can(regex("replace-me", var.origin_verify_secret))
    error_message = "origin_verify_secret: at least 32 characters of [A-Za-z0-9_-], not the example's placeholder (openssl rand -hex 32)."
  }
}

variable "waf_enabled" {
  description = "AWS WAF in front of both distributions (managed rule groups and a per-address rate limit). About $10/month plus $0.60 per million requests (docs/infra.md); false leaves the distributions without a web ACL."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5_minutes" {
  description = "Requests one client address may make to a distribution in any 5 minutes before WAF blocks it (WAF's minimum is 10)."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit_per_5_minutes >= 10
    error_message = "WAF's rate-based rules need a limit of at least 10."
  }
}

variable "webhook_signature_failures_threshold" {
  description = "Webhook signature failures in 5 minutes that raise the alarm (one stray probe is noise; a rotated signing secret is not)."
  type        = number
  default     = 3
}

variable "manage_apigateway_account" {
  description = "Set API Gateway's account-wide CloudWatch Logs role in this region (needed for its execution and access logs). false when another stack in the account already manages it."
  type        = bool
  default     = true
}

variable "cloudtrail_retention_days" {
  description = "How long CloudTrail's log files are kept in its bucket (then deleted)."
  type        = number
  default     = 365

  validation {
    condition     = var.cloudtrail_retention_days >= 90
    error_message = "At least 90 days (CloudTrail's own event history covers 90 days; the bucket is for longer)."
  }
}

variable "backup_retention_days" {
  description = "How long AWS Backup keeps each daily backup of the tables."
  type        = number
  default     = 35
}

variable "backup_schedule" {
  description = "When AWS Backup takes the daily backup of the tables (UTC cron)."
  type        = string
  default     = "cron(0 5 * * ? *)"
}

variable "manage_backup_region_settings" {
  description = "Turn on AWS Backup's advanced features for DynamoDB in this region (the vault's own key then encrypts the backups). Region-wide for the account: false when another stack manages it."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy pipeline may deploy this stage (OIDC). Empty: no deploy role."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "owner/name, without wildcards."
  }
}

variable "github_environment" {
  description = "The GitHub environment whose jobs may assume the deploy role (default: var.environment; the pipeline names prod's `production`)."
  type        = string
  default     = ""
}

variable "github_oidc_provider_arn" {
  description = "An existing GitHub OIDC provider in the account (one per account); empty: this stack creates it."
  type        = string
  default     = ""
}

variable "email_sender_address" {
  description = "The address buyers get e-mail from (an SES identity: verify it, or its domain, before the first sale)."
  type        = string
  default     = "tickets@ticketstoheaven.example"

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.email_sender_address))
    error_message = "email_sender_address must be an e-mail address."
  }
}

variable "email_sender_name" {
  description = "The name buyers see beside the sender address (SSM email_sender)."
  type        = string
  default     = "TicketsToHeaven"
}

variable "email_require_tls" {
  description = "SES delivers buyers' e-mail only over TLS (the configuration set's delivery options). Keep true; the rehearsal's emulator cannot set it."
  type        = bool
  default     = true
}
