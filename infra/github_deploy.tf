# The deploy pipeline's AWS credentials (.github/workflows/deploy.yml): GitHub's OIDC tokens,
# exchanged for this stage's deploy role, an hour at most. No access key exists anywhere.
#
# Trust: only a job of var.github_repository, running in the GitHub environment
# var.github_environment, on refs/heads/main. GitHub's default `sub` claim carries the
# environment but not the branch, so the repository's OIDC subject template is customised once
# to include it (docs/deploy.md, "The deploy pipeline"):
#   repo:{owner}/{name}:environment:{environment}:ref:refs/heads/main
# and the trust matches that exact string (no wildcard).
#
# Permissions: what `make collectstatic`, `zappa update`, `python -m deploy release` and
# `api-logging` call, on this stage's resources; nothing that creates tables, roles or keys
# (Terraform stays an operator's step).

locals {
  github_deploy      = var.github_repository != ""
  github_environment = var.github_environment != "" ? var.github_environment : var.environment
  github_subject     = "repo:${var.github_repository}:environment:${local.github_environment}:ref:refs/heads/main"
  github_provider_arn = var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : (
    local.github_deploy ? aws_iam_openid_connect_provider.github[0].arn : ""
  )
}

# One provider per account: another stage in the same account passes its ARN instead.
resource "aws_iam_openid_connect_provider" "github" {
  count           = local.github_deploy && var.github_oidc_provider_arn == "" ? 1 : 0
  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_policy_document" "github_assume" {
  statement {
    sid     = "MainBranchJobsOfThisEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [local.github_subject]
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  count                = local.github_deploy ? 1 : 0
  name                 = "${local.name}-deploy"
  description          = "The deploy pipeline of ${var.github_repository} (GitHub environment ${local.github_environment}, main only)."
  assume_role_policy   = data.aws_iam_policy_document.github_assume.json
  max_session_duration = 3600
}

locals {
  deploy_function_arns = flatten([for arn in [local.function_arn, local.backoffice_function_arn] : [arn, "${arn}:*"]])
  deploy_rule_arn      = "arn:${local.partition}:events:${var.region}:${local.account_id}:rule/${local.function_name}-*"
  deploy_stack_arns    = [for name in local.function_names : "arn:${local.partition}:cloudformation:${var.region}:${local.account_id}:stack/${name}/*"]
  deploy_buckets       = [aws_s3_bucket.deployments.arn, aws_s3_bucket.static.arn]
}

data "aws_iam_policy_document" "github_deploy" {
  statement {
    sid       = "UploadPackagesAndStaticFiles"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = [for arn in local.deploy_buckets : "${arn}/*"]
  }

  statement {
    sid       = "ListThoseBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.deploy_buckets
  }

  statement {
    sid = "UpdateReleaseAndRollBackTheFunction"
    actions = [
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
      "lambda:PublishVersion",
      "lambda:ListVersionsByFunction",
      "lambda:DeleteFunction",
      "lambda:GetAlias",
      "lambda:CreateAlias",
      "lambda:UpdateAlias",
      "lambda:GetPolicy",
      "lambda:AddPermission",
      "lambda:RemovePermission",
      "lambda:ListFunctionUrlConfigs",
      "lambda:GetFunctionUrlConfig",
      "lambda:DeleteFunctionUrlConfig",
      # Zappa removes reserved concurrency at every update unless `lambda_concurrency` is set,
      # and tags the function again.
      "lambda:DeleteFunctionConcurrency",
      "lambda:TagResource",
      "lambda:ListTags",
    ]
    resources = local.deploy_function_arns
  }

  statement {
    sid       = "PassTheFunctionsRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.public.arn, aws_iam_role.backoffice.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "apigateway.amazonaws.com", "cloudformation.amazonaws.com"]
    }
  }

  statement {
    sid       = "KeepTheSchedules"
    actions   = ["events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule"]
    resources = [local.deploy_rule_arn]
  }

  statement {
    sid = "FindTheSchedules"
    # List calls: EventBridge has no resource for them.
    actions   = ["events:ListRules", "events:ListRuleNamesByTarget"]
    resources = ["arn:${local.partition}:events:${var.region}:${local.account_id}:rule/*"]
  }

  statement {
    sid       = "UpdateTheApisStack"
    actions   = ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource", "cloudformation:DescribeStackResources", "cloudformation:DescribeStackEvents", "cloudformation:ListStackResources", "cloudformation:UpdateStack", "cloudformation:GetTemplate"]
    resources = local.deploy_stack_arns
  }

  statement {
    sid = "DeployTheRestApi"
    # Zappa's API id is not known to Terraform (Zappa makes it): REST APIs of this region.
    actions = ["apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"]
    resources = [
      "arn:${local.partition}:apigateway:${var.region}::/restapis",
      "arn:${local.partition}:apigateway:${var.region}::/restapis/*",
    ]
  }

  statement {
    sid       = "ExecutionLogRetention"
    actions   = ["logs:CreateLogGroup", "logs:PutRetentionPolicy"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:API-Gateway-Execution-Logs_*"]
  }
}

resource "aws_iam_role_policy" "github_deploy" {
  count  = local.github_deploy ? 1 : 0
  name   = "deploy-the-stage"
  role   = aws_iam_role.github_deploy[0].id
  policy = data.aws_iam_policy_document.github_deploy.json
}
