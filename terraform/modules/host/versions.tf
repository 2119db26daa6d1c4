terraform {
  # S3-native state locking (`use_lockfile` in root.hcl) needs Terraform >= 1.10; OpenTofu has
  # it from 1.10 as well.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.31, < 7.0"
    }
  }
}
