variable "bucket" {
  description = "Name of the state bucket: `state_bucket` in config.json (root.hcl points Terragrunt at it). Globally unique across AWS."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket)) && !strcontains(var.bucket, "..")
    error_message = "bucket must be a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')."
  }
}

variable "region" {
  description = "Region of the state bucket: `state_region` in config.json."
  type        = string
}

variable "project" {
  description = "Value of the Project tag on the bucket: `name` in config.json."
  type        = string
  default     = "kelev"
}

variable "noncurrent_version_days" {
  description = "How long superseded versions of a state file are kept (the way back from a bad apply)."
  type        = number
  default     = 90
}

variable "create_github_oidc_provider" {
  description = "Create GitHub's OIDC identity provider (token.actions.githubusercontent.com), which CI's role on each host trusts. Set false when the account already has one (AWS allows one per URL): the host module finds it by its URL, and it must list the audience sts.amazonaws.com."
  type        = bool
  default     = true
}
