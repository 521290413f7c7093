# The role the Zappa Lambda runs as (zappa_settings.json: "role_arn", "manage_roles": false).
# Least privilege: each statement names the resources it needs. tests/infra/test_infra.py fails on a
# "*" action, or a "*" resource outside the exceptions it names.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaRunsAsThisRole"
    actions = ["sts:AssumeRole"]

    principals {
      type = "Service"
      # apigateway: Zappa's REST API integrations use this role as their credentials to invoke
      # the function (zappa/core.py sets Integration.Credentials to the role ARN).
      identifiers = ["lambda.amazonaws.com", "apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name                 = "${local.name}-lambda"
  description          = "Runs the ${local.name} Django app on Lambda (Zappa)."
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  max_session_duration = 3600
}

locals {
  table_arns = [for table in values(local.tables) : table.arn]
  index_arns = flatten([
    for table in values(local.tables) : [
      for index in table.global_secondary_index : "${table.arn}/index/${index.name}"
    ]
  ])
  parameter_path_arn = "arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter${trimsuffix(local.parameter_path, "/")}"
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid = "WriteOwnLogs"
    # The log group exists (logs.tf), so no logs:CreateLogGroup: Lambda cannot recreate it
    # without retention.
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"]
  }

  statement {
    sid = "XRayTracing"
    # X-Ray has no resource-level permissions for these: "*" is the only possible resource.
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ReadWriteTableItems"
    # Item reads and writes, with transactions (authorised per item action) and condition
    # checks. No Scan: the spec forbids it on request paths and admin pages, and IAM enforces
    # that; maintenance commands that Scan run with an operator's credentials. No table
    # management: tables belong to Terraform.
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = local.table_arns
  }

  statement {
    sid       = "QueryIndexes"
    actions   = ["dynamodb:Query"]
    resources = local.index_arns
  }

  statement {
    sid     = "ReadOwnSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.stripe.arn,
      aws_secretsmanager_secret.app.arn,
      aws_secretsmanager_secret.origin.arn,
    ]
  }

  statement {
    sid = "ReadOwnParameters"
    # GetParametersByPath is authorised on the path; both spellings of it (with and without the
    # trailing slash the app passes) and nothing below or beside it.
    actions = ["ssm:GetParametersByPath"]
    resources = [
      local.parameter_path_arn,
      "${local.parameter_path_arn}/",
    ]
  }

  # No S3 statement: slim_handler is off (the code is in the function's package, not fetched
  # from the deployment bucket at cold start) and the static manifest ships in the package
  # (tickets/storage.py), so the Lambda never reads S3. collectstatic and Zappa's uploads run
  # with an operator's credentials.

  statement {
    sid = "DeadLetterFailedAsyncTasks"
    # Lambda sends a failed asynchronous invocation to the function's dead-letter queue
    # (async.tf) with the function's role.
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_failures.arn]
  }

  statement {
    sid = "SendBuyersEmailFromOurIdentityOnly"
    # SESv2 SendEmail is authorised on the sender identity and on the configuration set it
    # names (integrations/email.py always names ours).
    actions = ["ses:SendEmail"]
    resources = [
      aws_ses_email_identity.sender.arn,
      aws_ses_configuration_set.email.arn,
    ]
  }

  statement {
    sid       = "DrainEmailBounces"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [aws_sqs_queue.email_events.arn]
  }

  statement {
    sid = "InvokeSelfForAsyncTasks"
    # zappa.asynchronous.task invokes this same function (InvocationType=Event); API Gateway
    # invokes it with this role as the integration's credentials.
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arn]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${local.name}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
