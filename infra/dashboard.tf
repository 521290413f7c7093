# One CloudWatch dashboard: business metrics first (what staff ask about), then the platform
# metrics the alarms watch, then the alarms' state.

locals {
  app_dimension_pairs = flatten([for key, value in var.app_metric_dimensions : [key, value]])

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Orders and payments (per 5 min)"
        region  = var.region
        stat    = "Sum"
        period  = 300
        view    = "timeSeries"
        metrics = [for name in ["OrdersCreated", "OrdersRejected", "PaymentsSucceeded", "PaymentsFailed"] : concat([local.app_namespace, name], local.app_dimension_pairs)]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title   = "Problems staff act on (per 5 min)"
        region  = var.region
        stat    = "Sum"
        period  = 300
        view    = "timeSeries"
        metrics = [for name in ["FulfillmentFailures", "Disputes", "WebhookSignatureFailures", "WebhookEventsFailed", "WebhookEventsDeferred"] : concat([local.app_namespace, name], local.app_dimension_pairs)]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title  = "Lambda invocations, errors, throttles"
        region = var.region
        stat   = "Sum"
        period = 300
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
          ["AWS/Lambda", "Errors", "FunctionName", local.function_name],
          ["AWS/Lambda", "Throttles", "FunctionName", local.function_name],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title  = "Lambda duration (ms)"
        region = var.region
        period = 300
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "p50" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "p99" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Maximum" }],
        ]
        annotations = {
          horizontal = [{ label = "timeout", value = var.lambda_timeout_seconds * 1000 }]
        }
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title  = "API Gateway: requests, 4xx, 5xx, p99 latency"
        region = var.region
        period = 300
        metrics = [
          ["AWS/ApiGateway", "Count", "ApiName", local.api_name, "Stage", var.environment, { stat = "Sum" }],
          ["AWS/ApiGateway", "4XXError", "ApiName", local.api_name, "Stage", var.environment, { stat = "Sum" }],
          ["AWS/ApiGateway", "5XXError", "ApiName", local.api_name, "Stage", var.environment, { stat = "Sum" }],
          ["AWS/ApiGateway", "Latency", "ApiName", local.api_name, "Stage", var.environment, { stat = "p99", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "DynamoDB consumed capacity (per 5 min)"
        region  = var.region
        stat    = "Sum"
        period  = 300
        metrics = flatten([for table in values(local.tables) : [["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", table.name], ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", table.name]]])
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title   = "DynamoDB throttle events"
        region  = var.region
        stat    = "Sum"
        period  = 300
        metrics = flatten([for table in values(local.tables) : [["AWS/DynamoDB", "ReadThrottleEvents", "TableName", table.name], ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", table.name]]])
      }
    },
    {
      type = "alarm", x = 0, y = 18, width = 24, height = 4
      properties = {
        title = "Alarms"
        alarms = concat(
          [
            aws_cloudwatch_metric_alarm.lambda_errors.arn,
            aws_cloudwatch_metric_alarm.lambda_throttles.arn,
            aws_cloudwatch_metric_alarm.lambda_duration.arn,
            aws_cloudwatch_metric_alarm.api_5xx.arn,
            aws_cloudwatch_metric_alarm.api_latency.arn,
          ],
          [for alarm in values(aws_cloudwatch_metric_alarm.dynamodb_throttles) : alarm.arn],
          [for alarm in values(aws_cloudwatch_metric_alarm.app) : alarm.arn],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
