# Terraform and provider versions, the AWS provider and the tags every resource carries.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # No backend block: state is local (infra/terraform.tfstate, git-ignored) until the operator
  # chooses S3. To keep state in S3 with a lock (docs/deploy.md, "Terraform state"): create the
  # bucket once, `cp backend.tf.example backend.tf` and `cp backend.hcl.example backend.hcl`,
  # fill in backend.hcl, then `terraform init -backend-config=backend.hcl -migrate-state`.
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# CloudFront's web ACLs (waf.tf) must be created in us-east-1, whatever the stage's region.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
