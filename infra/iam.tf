# The roles the two Lambda functions run as (zappa_settings.json: "role_arn", "manage_roles":
# false): the public API's (stage {stage}: catalog, orders, Stripe's webhooks, the scheduled
# jobs) and the back office's (stage {stage}-backoffice: the staff admin). Least privilege: each
# statement names the resources it needs; the public role reaches the back-office table only for
# the items the API itself keeps there (dynamodb:LeadingKeys), may append audit entries but never
# read them, and reads the Stripe secret whose restricted key cannot refund. tests/infra fails on
# a "*" action, or a "*" resource outside the exceptions it names; tests/rehearsal shows each
# statement needed by a named flow and the public role refused the back office's work.

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

resource "aws_iam_role" "public" {
  name                 = "${local.name}-public"
  description          = "Runs the public API of ${local.name} on Lambda (Zappa stage ${var.environment})."
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  max_session_duration = 3600
}

resource "aws_iam_role" "backoffice" {
  name                 = "${local.name}-backoffice"
  description          = "Runs the back office (staff admin) of ${local.name} on Lambda (Zappa stage ${var.environment}-backoffice)."
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
  # The tables of orders, customers, payments and ticket types: the public API's own.
  order_tables     = { for name, table in local.tables : name => table if name != "backoffice" }
  order_table_arns = [for table in values(local.order_tables) : table.arn]
  order_index_arns = flatten([
    for table in values(local.order_tables) : [
      for index in table.global_secondary_index : "${table.arn}/index/${index.name}"
    ]
  ])
  # The back-office table's items the public API keeps (core/backoffice.py has the key layout):
  # e-mail claims, idempotency records, Stripe's event inbox, rate-limit counters, seat shards,
  # ticket codes, daily totals and the customers' first day, integration-health markers, the
  # vendor's circuit breaker, Stripe's request budget, the on-sales' lines, the buyers' e-mail
  # records (MAIL#, queued in the sparse mail-queue-index: below). Not: staff accounts and
  # factors, sessions, sign-in counters, admin submits, audit entries (written, never read: below). The rehearsal records every key the
  # public function's flows use and evaluates it against this list.
  public_backoffice_keys = [
    "EMAIL#*", "IDEMPOTENCY#*", "EVENT#*", "RATE#*", "SEATS#*", "TICKET#*", "DAILYTOTALS#*",
    "BOUND#*", "HEALTH", "CIRCUIT#*", "STRIPEBUDGET#*", "LINE#*", "MAIL#*",
  ]
  parameter_path_arn = "arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter${trimsuffix(local.parameter_path, "/")}"
  # Item reads and writes, with transactions (authorised per item action) and condition
  # checks. No Scan: the spec forbids it on request paths and admin pages, and IAM enforces
  # that; maintenance commands that Scan run with an operator's credentials. No table
  # management: tables belong to Terraform.
  item_actions = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]
}

# --- The public API's role ---------------------------------------------------------------------

data "aws_iam_policy_document" "public" {
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
    sid       = "ReadWriteOrderTables"
    actions   = local.item_actions
    resources = local.order_table_arns
  }

  statement {
    sid       = "QueryOrderIndexes"
    actions   = ["dynamodb:Query"]
    resources = local.order_index_arns
  }

  statement {
    sid = "CheckTheTables"
    # `create_tables --check` (docs/deploy.md) compares every table with the models.
    actions   = ["dynamodb:DescribeTable"]
    resources = local.table_arns
  }

  statement {
    sid       = "ApiItemsOfTheBackOfficeTable"
    actions   = local.item_actions
    resources = [aws_dynamodb_table.backoffice.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = local.public_backoffice_keys
    }
  }

  statement {
    sid = "AppendAuditEntries"
    # System events (a payment, an expiry, a fulfillment) are audited in the same transaction
    # as the change: the entry is put, never read, updated or deleted by this role.
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.backoffice.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["AUDIT#*"]
    }
  }

  statement {
    sid = "ReadOwnSecrets"
    # The Stripe secret holds the restricted key (docs/deploy.md lists its permissions) and the
    # webhook signing secret; the back office's key is not readable here.
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

  # No S3 statement, in either role: slim_handler is off (the code is in the function's
  # package) and the static manifest ships in the package (tickets/storage.py), so the Lambda
  # never reads S3. collectstatic and Zappa's uploads run with an operator's credentials.

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
    sid       = "QueueOfBuyersEmail"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.backoffice.arn}/index/mail-queue-index"]
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

resource "aws_iam_role_policy" "public" {
  name   = "${local.name}-public"
  role   = aws_iam_role.public.id
  policy = data.aws_iam_policy_document.public.json
}

# --- The back office's role --------------------------------------------------------------------

data "aws_iam_policy_document" "backoffice" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.backoffice.arn}:log-stream:*"]
  }

  statement {
    sid = "XRayTracing"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadWriteTableItems"
    actions   = concat(local.item_actions, ["dynamodb:DescribeTable"])
    resources = local.table_arns
  }

  statement {
    sid       = "QueryIndexes"
    actions   = ["dynamodb:Query"]
    resources = local.index_arns
  }

  statement {
    sid = "ReadOwnSecrets"
    # The back office's Stripe key (it may refund), Django's and the vendor's keys, the origin
    # header's value. Not the webhook's secret: this function serves no webhook.
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.stripe_backoffice.arn,
      aws_secretsmanager_secret.app.arn,
      aws_secretsmanager_secret.origin.arn,
    ]
  }

  statement {
    sid     = "ReadOwnParameters"
    actions = ["ssm:GetParametersByPath"]
    resources = [
      local.parameter_path_arn,
      "${local.parameter_path_arn}/",
    ]
  }

  statement {
    sid       = "DeadLetterFailedAsyncTasks"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_failures.arn]
  }

  statement {
    sid = "SendBuyersEmailFromOurIdentityOnly"
    # Staff's refunds, resends and contact changes e-mail the buyer from this function's tasks.
    actions = ["ses:SendEmail"]
    resources = [
      aws_ses_email_identity.sender.arn,
      aws_ses_configuration_set.email.arn,
    ]
  }

  statement {
    sid = "InvokeSelfForAsyncTasks"
    # A fulfillment retried by staff runs as an asynchronous task of this same function.
    actions   = ["lambda:InvokeFunction"]
    resources = [local.backoffice_function_arn]
  }
}

resource "aws_iam_role_policy" "backoffice" {
  name   = "${local.name}-backoffice"
  role   = aws_iam_role.backoffice.id
  policy = data.aws_iam_policy_document.backoffice.json
}
