# Non-secret configuration under /{project}/{stage}/ (core/config.py reads them with one
# GetParametersByPath). Secrets are in Secrets Manager, never here. Values come from variables
# so a change is reviewed like any other; the app picks it up within CONFIG_CACHE_SECONDS.

locals {
  parameters = {
    vendor_endpoint              = var.vendor_endpoint
    order_expiry_minutes         = tostring(var.order_expiry_minutes)
    fulfillment_max_attempts     = tostring(var.fulfillment_max_attempts)
    vendor_connect_timeout       = tostring(var.vendor_connect_timeout)
    vendor_read_timeout          = tostring(var.vendor_read_timeout)
    orders_rate_limit_per_minute = tostring(var.orders_rate_limit_per_minute)
    feature_flags                = jsonencode(var.feature_flags)
    email_sender                 = "${var.email_sender_name} <${var.email_sender_address}>"
    email_configuration_set      = aws_ses_configuration_set.email.name
    email_events_queue_url       = aws_sqs_queue.email_events.url
    # Stripe's request budget (integrations/stripe_budget.py): raise with Stripe's written
    # increase of the account's limits, never before it.
    stripe_account_rate        = tostring(var.stripe_account_rate)
    stripe_endpoint_rate       = tostring(var.stripe_endpoint_rate)
    stripe_endpoint_rates      = jsonencode(var.stripe_endpoint_rates)
    stripe_burst_seconds       = tostring(var.stripe_burst_seconds)
    stripe_priority_reserve    = tostring(var.stripe_priority_reserve)
    stripe_wait_new_seconds    = tostring(var.stripe_wait_new_seconds)
    stripe_wait_moving_seconds = tostring(var.stripe_wait_moving_seconds)
    # The retention policy (orders.services.retention; docs/infra.md shows the storage it keeps)
    retention_personal_data_months = tostring(var.retention_personal_data_months)
    retention_audit_years          = tostring(var.retention_audit_years)
  }
}

resource "aws_ssm_parameter" "config" {
  #checkov:skip=CKV2_AWS_34:Not secret (an endpoint URL, timeouts, counts, flags): plain String keeps them readable in the console; secrets live in Secrets Manager.
  for_each = local.parameters

  name        = "${local.parameter_path}${each.key}"
  description = "TicketsToHeaven ${var.environment}: ${each.key} (core.config.Parameters)"
  type        = "String"
  tier        = "Standard"
  value       = each.value
}
