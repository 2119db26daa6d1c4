output "instance_id" {
  description = "The EC2 instance (replaced when user data changes; the data volume and Elastic IP stay)."
  value       = aws_instance.host.id
}

output "availability_zone" {
  description = "Zone of the instance and its data volume."
  value       = local.availability_zone
}

output "public_ip" {
  description = "The Elastic IP: where DNS points, and the host to SSH to."
  value       = aws_eip.host.public_ip
}

output "ipv6_address" {
  description = "The instance's IPv6 address (changes with the instance; for SSH from IPv6 sources only, DNS stays IPv4)."
  value       = one(aws_instance.host.ipv6_addresses)
}

output "data_volume_id" {
  description = "The data volume; its daily snapshots carry the tag kelev-snapshots=<name>."
  value       = aws_ebs_volume.data.id
}

output "ssh_admin" {
  description = "Log in as the operator (sudo)."
  value       = "ssh ubuntu@${aws_eip.host.public_ip}"
}

output "deploy_target" {
  description = "What CI connects to: the deploy user, whose keys run only kelev-agent."
  value       = "deploy@${aws_eip.host.public_ip}"
}

output "dns_records" {
  description = "The DNS records to create for the domain (by hand, or with terraform/modules/dns): DNS only, not proxied, so that Let's Encrypt's HTTP-01 challenge reaches Traefik."
  value = [
    { type = "A", name = var.domain, content = aws_eip.host.public_ip, proxied = false },
    { type = "A", name = "*.${var.domain}", content = aws_eip.host.public_ip, proxied = false },
  ]
}

output "alerts_topic_arn" {
  description = "SNS topic the alarms publish to (alert_email is subscribed once it confirms)."
  value       = aws_sns_topic.alerts.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group with audit.log, the agent's syslog lines and init.sh's log, one stream per instance and file."
  value       = aws_cloudwatch_log_group.host.name
}

output "snapshot_policy_id" {
  description = "The DLM policy that snapshots the data volume daily and keeps 7."
  value       = aws_dlm_lifecycle_policy.data.id
}

output "ci_role_arn" {
  description = "The role deploy.yml assumes to open port 22 to its runner: the repository variable KELEV_AWS_ROLE_ARN (docs/ci.md)."
  value       = aws_iam_role.ci.arn
}

output "security_group_id" {
  description = "The host's security group, whose port 22 CI opens to its runner for one job: the repository variable KELEV_SECURITY_GROUP_ID (docs/ci.md)."
  value       = aws_security_group.host.id
}
