# Naming and tags, in one place so the names here and in the app cannot drift.

locals {
  # {project}-{stage}: Zappa's Lambda and REST API names (Zappa slugifies project_name-stage).
  name = "${var.project}-${var.environment}"

  # Table names are {project}-{stage}-{name}, the app's settings.TABLE_PREFIX.
  # tests/infra/test_infra.py relies on this exact expression.
  prefix = "${var.project}-${var.environment}-"

  # Two functions (docs/deploy.md, "Two functions"): the public API (Zappa stage {stage}) and
  # the back office (stage {stage}-backoffice), each with its own role (iam.tf).
  function_name            = local.name
  backoffice_function_name = "${local.name}-backoffice"
  function_names           = [local.function_name, local.backoffice_function_name]
  api_name                 = var.api_gateway_name != "" ? var.api_gateway_name : local.name

  # core/config.py: secret ids {project}/{stage}/{name}, parameters under /{project}/{stage}/.
  secret_prefix  = "${var.project}/${var.environment}"
  parameter_path = "/${var.project}/${var.environment}/"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # S3 bucket names are global: the account id keeps them unique without a random suffix.
  bucket_prefix = "${local.name}-${local.account_id}"

  function_arn            = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.function_name}"
  backoffice_function_arn = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.backoffice_function_name}"

  tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "ticketstoheaven-backoffice/infra"
  }
}
