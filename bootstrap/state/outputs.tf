output "bucket" {
  description = "The state bucket; `state_bucket` in config.json must name it."
  value       = aws_s3_bucket.state.id
}

output "region" {
  description = "The bucket's region; `state_region` in config.json must name it."
  value       = var.region
}

output "github_oidc_provider_arn" {
  description = "GitHub's OIDC identity provider, created here (null when create_github_oidc_provider is false); each host's CI role trusts it (docs/ci.md)."
  value       = one(aws_iam_openid_connect_provider.github[*].arn)
}
