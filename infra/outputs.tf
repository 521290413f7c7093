# What zappa_settings.json, the app's environment and the deploy scripts need.

output "public_role_arn" {
  description = "zappa_settings.json role_arn of the public API's stage ({stage})."
  value       = aws_iam_role.public.arn
}

output "public_role_name" {
  description = "The public API's role."
  value       = aws_iam_role.public.name
}

output "backoffice_role_arn" {
  description = "zappa_settings.json role_arn of the back office's stage ({stage}-backoffice)."
  value       = aws_iam_role.backoffice.arn
}

output "backoffice_role_name" {
  description = "The back office's role."
  value       = aws_iam_role.backoffice.name
}

output "lambda_function_name" {
  description = "The public API's function ({project}-{stage}); its role may invoke only this one."
  value       = local.function_name
}

output "backoffice_function_name" {
  description = "The back office's function ({project}-{stage}-backoffice); its role may invoke only this one."
  value       = local.backoffice_function_name
}

output "stripe_backoffice_secret_arn" {
  description = "The back office's Stripe key (put its value: docs/deploy.md step 6)."
  value       = aws_secretsmanager_secret.stripe_backoffice.arn
}

output "lambda_memory_mb" {
  description = "zappa_settings.json memory_size."
  value       = var.lambda_memory_mb
}

output "lambda_timeout_seconds" {
  description = "zappa_settings.json timeout_seconds (the duration alarm is set from it)."
  value       = var.lambda_timeout_seconds
}

output "lambda_log_group" {
  description = "The Lambda's log group (retention managed here)."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "deployment_bucket" {
  description = "zappa_settings.json s3_bucket."
  value       = aws_s3_bucket.deployments.bucket
}

output "region" {
  description = "zappa_settings.json aws_region."
  value       = var.region
}

output "table_prefix" {
  description = "The app's TABLE_PREFIX ({PROJECT_NAME}-{STAGE}-)."
  value       = local.prefix
}

output "table_names" {
  description = "Every DynamoDB table, by model."
  value       = { for key, table in local.tables : key => table.name }
}

output "table_arns" {
  description = "Every DynamoDB table's ARN."
  value       = { for key, table in local.tables : key => table.arn }
}

output "stripe_secret_arn" {
  description = "Secret {project}/{stage}/stripe: put {api_key, webhook_secret} here."
  value       = aws_secretsmanager_secret.stripe.arn
}

output "app_secret_arn" {
  description = "Secret {project}/{stage}/app: put {django_secret_key, vendor_api_key} here."
  value       = aws_secretsmanager_secret.app.arn
}

output "parameter_path" {
  description = "SSM path the app reads with GetParametersByPath."
  value       = local.parameter_path
}

output "static_bucket" {
  description = "AWS_STORAGE_BUCKET_NAME for django-storages (collectstatic writes under static/)."
  value       = aws_s3_bucket.static.bucket
}

output "storefront_bucket" {
  description = "Where the storefront's build (dist/) is synced."
  value       = aws_s3_bucket.storefront.bucket
}

output "storefront_distribution_id" {
  description = "For `aws cloudfront create-invalidation --paths /index.html` after a storefront deploy."
  value       = aws_cloudfront_distribution.storefront.id
}

output "storefront_domain" {
  description = "The storefront's CloudFront domain (point var.domain's DNS here)."
  value       = aws_cloudfront_distribution.storefront.domain_name
}

output "storefront_url" {
  description = "The storefront origin, for the app's CORS allow-list."
  value       = "https://${var.domain != "" ? var.domain : aws_cloudfront_distribution.storefront.domain_name}"
}

output "admin_distribution_id" {
  description = "The admin/API distribution."
  value       = aws_cloudfront_distribution.admin.id
}

output "admin_domain" {
  description = "The admin/API CloudFront domain: AWS_S3_CUSTOM_DOMAIN for static files, and the API's public host."
  value       = aws_cloudfront_distribution.admin.domain_name
}

output "admin_url" {
  description = "The admin/API origin: DJANGO_CSRF_TRUSTED_ORIGINS, and the base of STATIC_URL (<admin_url>/static/)."
  value       = "https://${var.admin_domain != "" ? var.admin_domain : aws_cloudfront_distribution.admin.domain_name}"
}

output "async_failure_queue_arn" {
  description = "zappa_settings.json dead_letter_arn: failed asynchronous tasks land here."
  value       = aws_sqs_queue.async_failures.arn
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "zappa_aws_environment_variables" {
  description = "Non-secret Lambda variables for zappa_settings.json aws_environment_variables."
  value = {
    PROJECT_NAME                = var.project
    STAGE                       = var.environment
    DJANGO_CSRF_TRUSTED_ORIGINS = "https://${var.admin_domain != "" ? var.admin_domain : aws_cloudfront_distribution.admin.domain_name}"
  }
}

output "api_access_log_group_arn" {
  description = "Where the REST API's stage writes its access logs (python -m deploy api-logging sets it)."
  value       = aws_cloudwatch_log_group.api_access.arn
}

output "api_access_log_format" {
  description = "The access-log line, JSON with $context variables (no query string, body or address)."
  value       = local.api_access_log_format
}

output "log_retention_days" {
  description = "Retention of the Lambda's and the API's log groups (the execution-log group API Gateway creates gets it too)."
  value       = var.log_retention_days
}

output "cloudtrail_bucket" {
  description = "CloudTrail's log files (KMS-encrypted with its own key)."
  value       = aws_s3_bucket.cloudtrail.id
}

output "backup_vault_name" {
  description = "AWS Backup's vault for the tables (its own KMS key)."
  value       = aws_backup_vault.tables.name
}

output "github_deploy_role_arn" {
  description = "The role the deploy pipeline assumes (a repository variable of its GitHub environment)."
  value       = local.github_deploy ? aws_iam_role.github_deploy[0].arn : ""
}
