# Alarms, all to one SNS topic with an e-mail subscription. Platform metrics: Lambda errors,
# throttles and duration; API Gateway 5xx and latency; DynamoDB throttles per table. App
# metrics: namespace TicketsToHeaven, emitted by the app as CloudWatch Embedded Metric Format
# log lines (no PutMetricData call); their dimensions must equal var.app_metric_dimensions.

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and the messages hold alarm names and numbers only, never customer data.
  name = "${local.name}-alarms"
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["sns:Publish"]
    resources = [
      aws_sns_topic.alarms.arn,
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

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  # The Lambda alarms watch both functions (the public API and the back office): one alarm,
  # one runbook entry, the function named in the logs it points to.
  lambda_functions = {
    public     = local.function_name
    backoffice = local.backoffice_function_name
  }
  api_dimensions = {
    ApiName = local.api_name
    Stage   = var.environment
  }
}

# --- Lambda ------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${local.name}-lambda-errors"
  alarm_description   = "A Lambda function raised errors (unhandled exceptions, timeouts, out of memory). Logs: /aws/lambda/${local.function_name} (public API) and /aws/lambda/${local.backoffice_function_name} (back office)."
  evaluation_periods  = 1
  threshold           = var.lambda_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "total"
    expression  = "SUM([${join(", ", keys(local.lambda_functions))}])"
    label       = "Errors of both functions"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.lambda_functions
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        dimensions  = { FunctionName = metric_query.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = "${local.name}-lambda-throttles"
  alarm_description   = "Invocations of either function were throttled: the account's concurrency limit was reached (requests got 429/502)."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "total"
    expression  = "SUM([${join(", ", keys(local.lambda_functions))}])"
    label       = "Throttles of both functions"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.lambda_functions
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Lambda"
        metric_name = "Throttles"
        dimensions  = { FunctionName = metric_query.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration" {
  alarm_name          = "${local.name}-lambda-duration-near-timeout"
  alarm_description   = "Maximum duration of either function above 80% of the ${var.lambda_timeout_seconds} s timeout: something (the vendor, Stripe, DynamoDB) is slow enough to start timing out."
  evaluation_periods  = 2
  threshold           = var.lambda_timeout_seconds * 1000 * 0.8
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "slowest"
    expression  = "MAX([${join(", ", keys(local.lambda_functions))}])"
    label       = "Maximum duration of both functions"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.lambda_functions
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Lambda"
        metric_name = "Duration"
        dimensions  = { FunctionName = metric_query.value }
        stat        = "Maximum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name}-api-5xx"
  alarm_description   = "The API answered 5xx (the app never answers 500 by design: this is a crash, a timeout or an integration failure)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = local.api_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.api_5xx_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  alarm_name          = "${local.name}-api-latency-p99"
  alarm_description   = "p99 API latency above ${var.api_latency_p99_ms} ms for 15 minutes."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_dimensions
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.api_latency_p99_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- DynamoDB: any throttled read or write, per table (GSI throttles throttle the table) -------

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = local.tables

  alarm_name          = "${each.value.name}-throttles"
  alarm_description   = "Requests to ${each.value.name} were throttled (on-demand tables throttle on a sudden jump past twice the previous peak, or at the per-partition limit)."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    expression  = "reads + writes"
    label       = "Throttle events"
    return_data = true
  }

  metric_query {
    id = "reads"

    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = each.value.name }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "writes"

    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = each.value.name }
      stat        = "Sum"
      period      = 300
    }
  }
}

# --- The app's own metrics ---------------------------------------------------------------------

locals {
  app_namespace = "TicketsToHeaven"

  # Every metric the app emits (tests/infra checks the code emits no other); the alarms below
  # watch the ones someone must act on, the dashboard (dashboard.tf) shows the main ones.
  app_metrics = [
    "OrdersCreated",
    "OrdersRejected",
    "PaymentsSucceeded",
    "PaymentsFailed",
    "FulfillmentFailures",
    "Disputes",
    "WebhookSignatureFailures",
    "PaymentsOnCanceledOrders",
    "StaffSigninFailures",
    "PaymentsWithoutWebhook",
    "StripeUnavailable",
    "VendorCircuitOpened",
    "WebhookEventsFailed",
    "WebhookEventsDeferred",
    "VoidFailures",
    "EmailsSent",
    "EmailFailures",
  ]

  app_alarms = {
    FulfillmentFailures = {
      description = "An order ended in fulfillment_failed: staff must retry it from the admin or refund it."
      threshold   = 1
      period      = 300
    }
    Disputes = {
      description = "A customer disputed a charge (charge.dispute.created): answer it in Stripe before the deadline."
      threshold   = 1
      period      = 300
    }
    WebhookSignatureFailures = {
      description = "Stripe webhooks fail signature checks: the signing secret was rotated without updating the stripe secret, or someone is forging events."
      threshold   = var.webhook_signature_failures_threshold
      period      = 300
    }
    PaymentsOnCanceledOrders = {
      description = "A payment succeeded for an order already canceled (it expired first): refund it from the admin."
      threshold   = 1
      period      = 300
    }
    StaffSigninFailures = {
      description = "Many refused staff sign-ins: someone is guessing passwords at /admin/ (the guessing addresses are slowed down; check the WAF's blocked requests and whether a staff member is locked out of a new device)."
      threshold   = var.staff_signin_failures_threshold
      period      = 900
    }
    PaymentsFailed = {
      description = "Unusually many failed payments: card testing, or a Stripe-side problem."
      threshold   = var.payments_failed_threshold
      period      = 900
    }
    # Integration health: each is also a banner on the admin index and dashboard while it
    # lasts (core/health.py), so staff see it without the e-mail.
    PaymentsWithoutWebhook = {
      description = "Stripe's webhooks are silent while orders are being paid: the reconciliation job found a payment succeeded in Stripe that no event announced. Check the webhook endpoint in Stripe's dashboard (URL, enabled, failed deliveries, signing secret)."
      threshold   = 1
      period      = 900
    }
    StripeUnavailable = {
      description = "Calls to Stripe fail (connection, timeout, 5xx, rate limit, or a rejected API key): checkouts, refunds and syncs fail meanwhile. Check status.stripe.com and the stripe secret."
      threshold   = 3
      period      = 300
    }
    VendorCircuitOpened = {
      description = "The ticket vendor failed several times in a row and its circuit opened: fulfillment waits for it (paid orders stay queued and are sent when it answers)."
      threshold   = 1
      period      = 300
    }
    VoidFailures = {
      description = "Money went back but the vendor did not void the order's tickets (it refused, e.g. a ticket already scanned, or kept failing): see the needs-attention queue, \"Tickets not voided\"."
      threshold   = 1
      period      = 300
    }
    EmailFailures = {
      description = "An e-mail to a buyer could not be sent (SES refused it or kept failing): check SES's sending status (sandbox, paused account, sender identity) and the order's timeline."
      threshold   = 3
      period      = 900
    }
    WebhookEventsFailed = {
      description = "A Stripe event failed in its handler (answered 503; Stripe retries it). If it keeps failing, see the admin's Stripe events (outcome: failed) and replay it once fixed."
      threshold   = 1
      period      = 900
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "app" {
  for_each = local.app_alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = local.app_namespace
  metric_name         = each.key
  dimensions          = var.app_metric_dimensions
  statistic           = "Sum"
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
