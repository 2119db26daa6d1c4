terraform {
  # The bucket this creates holds the state of terraform/ with S3-native locking
  # (`use_lockfile`), which needs Terraform >= 1.10 (OpenTofu >= 1.10). This configuration
  # itself keeps its state locally, in this folder: see README.md.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.31, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform bootstrap/state"
    }
  }
}
