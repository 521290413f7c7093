# Terraform and provider versions, the AWS provider and the tags every resource carries.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State lives in S3 with a lock, configured at init so no account id or bucket name is in code:
  #   terraform init -backend-config=backend.hcl
  # (bucket, key, region, use_lockfile = true or dynamodb_table). `terraform init -backend=false`
  # is enough for fmt/validate.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
