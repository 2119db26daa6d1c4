output "bucket" {
  description = "The state bucket; `state_bucket` in config.json must name it."
  value       = aws_s3_bucket.state.id
}

output "region" {
  description = "The bucket's region; `state_region` in config.json must name it."
  value       = var.region
}
