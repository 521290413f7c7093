# API Gateway's logs. Zappa owns the REST API and its stage (it creates them through its own
# CloudFormation stack), so what the stage logs and where is split:
#
# - Execution logs at ERROR, no data trace (no request or response bodies): Zappa's
#   `cloudwatch_log_level` / `cloudwatch_data_trace` in zappa_settings.json, applied at every
#   deploy and update. API Gateway writes them to API-Gateway-Execution-Logs_{api-id}/{stage};
#   `python -m deploy api-logging` creates that group with the retention below.
# - Access logs: one JSON line per request (format in local.api_access_log_format) into the group
#   below; `python -m deploy api-logging` sets them on the stage from this stack's outputs
#   (docs/deploy.md, step 9). The line holds no query string, no body, no address and no user
#   agent: `$context.path` is the path without its query string.
# - The account's CloudWatch role: API Gateway writes both kinds through it. It is one setting per
#   account and region, shared by every REST API there (`manage_apigateway_account`).

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs' own key; the lines hold no personal data (no query string, body, address or user agent).
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 90 days), as for the Lambda's own logs.
  name              = "/aws/apigateway/${local.name}/access"
  retention_in_days = var.log_retention_days
}

locals {
  # $context variables only; every value a string so the line parses the same for every request.
  api_access_log_format = jsonencode({
    requestId          = "$context.requestId"
    requestTime        = "$context.requestTimeEpoch"
    httpMethod         = "$context.httpMethod"
    path               = "$context.path"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integration.latency"
    integrationStatus  = "$context.integration.status"
    errorMessage       = "$context.error.message"
    wafResponseCode    = "$context.wafResponseCode"
  })
}

data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    sid     = "ApiGatewayLogsThroughThisRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "apigateway_cloudwatch" {
  count                = var.manage_apigateway_account ? 1 : 0
  name                 = "${local.name}-apigateway-cloudwatch"
  description          = "API Gateway's account-wide CloudWatch Logs role (execution and access logs) in ${var.region}."
  assume_role_policy   = data.aws_iam_policy_document.apigateway_assume.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "apigateway_cloudwatch" {
  statement {
    sid = "WriteApiGatewayLogs"
    # What API Gateway calls (the actions of AmazonAPIGatewayPushToCloudWatchLogs), on the log
    # groups API Gateway writes: execution logs of any API in the region (the setting is
    # account-wide) and this stack's access-log group.
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:FilterLogEvents",
    ]
    resources = [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:API-Gateway-Execution-Logs_*",
      "${aws_cloudwatch_log_group.api_access.arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "apigateway_cloudwatch" {
  count  = var.manage_apigateway_account ? 1 : 0
  name   = "write-api-gateway-logs"
  role   = aws_iam_role.apigateway_cloudwatch[0].id
  policy = data.aws_iam_policy_document.apigateway_cloudwatch.json
}

resource "aws_api_gateway_account" "this" {
  count               = var.manage_apigateway_account ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy.apigateway_cloudwatch]
}
