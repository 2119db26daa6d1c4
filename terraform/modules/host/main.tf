# One kelev host: a VPC with one public subnet, the EC2 instance (bootstrapped by
# bootstrap/init.sh through cloud-init), its Elastic IP, the data volume with daily snapshots,
# and the alarms and log group that watch it. README.md beside this file explains the choices.

data "aws_partition" "current" {}

locals {
  # A fixed default rather than a lookup: the zone of the data volume must not move because
  # AWS added or hid a zone.
  availability_zone = coalesce(var.availability_zone, "${var.region}a")
  # IAM names are global to the account; the same `name` may be deployed to several regions.
  iam_prefix = "${var.name}-${var.region}"
  # DLM snapshots every volume carrying this tag with this value.
  snapshot_tag_key  = "kelev-snapshots"
  data_mount        = "/srv"
  metrics_namespace = "kelev/${var.name}"
  log_group_name    = "/kelev/${var.name}"
  # Paths the CloudWatch agent ships; init.sh writes the last two. Containers' output reaches the
  # same group through the engine's awslogs driver (init.sh's daemon.json).
  shipped_logs = {
    "audit.log"       = "${local.data_mount}/kelev/audit.log"
    "kelev-agent.log" = "/var/log/kelev-agent.log"
    "init.log"        = "/var/log/kelev-init.log"
  }
  # Disks whose used_percent is alarmed on, by mount point.
  watched_disks = {
    root = "/"
    data = local.data_mount
  }
}

# --- network ---------------------------------------------------------------------------------

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:One host behind a security group that admits only 80, 443 and 22 from allowed_ssh_cidrs; flow logs would cost more than the host and the security group already says what gets in.
  cidr_block                       = var.vpc_cidr
  assign_generated_ipv6_cidr_block = true
  enable_dns_support               = true
  enable_dns_hostnames             = true

  tags = {
    Name = var.name
  }
}

# Strip the VPC's default security group of its rules so nothing can use it by accident.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-default-unused"
  }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = var.name
  }
}

resource "aws_subnet" "public" {
  vpc_id                          = aws_vpc.this.id
  availability_zone               = local.availability_zone
  cidr_block                      = cidrsubnet(var.vpc_cidr, 8, 0)
  ipv6_cidr_block                 = cidrsubnet(aws_vpc.this.ipv6_cidr_block, 8, 0)
  map_public_ip_on_launch         = false
  assign_ipv6_address_on_creation = false

  tags = {
    Name = "${var.name}-public"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  route {
    ipv6_cidr_block = "::/0"
    gateway_id      = aws_internet_gateway.this.id
  }

  tags = {
    Name = "${var.name}-public"
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "host" {
  name        = "${var.name}-host"
  description = "kelev host: HTTP and HTTPS from anywhere, SSH from allowed_ssh_cidrs only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${var.name}-host"
  }
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  #checkov:skip=CKV_AWS_260:Port 80 must be open to the world: Let's Encrypt's HTTP-01 challenge comes from unpublished addresses, and Traefik answers everything else with a redirect to HTTPS.
  security_group_id = aws_security_group.host.id
  description       = "HTTP from anywhere: ACME HTTP-01 challenges and the redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.host.id
  description       = "HTTPS from anywhere: the projects Traefik serves"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# SSH only from the listed sources: one rule per CIDR, none when the list is empty.
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each = toset(var.allowed_ssh_cidrs)

  security_group_id = aws_security_group.host.id
  description       = "SSH from an allowed source (allowed_ssh_cidrs)"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = strcontains(each.value, ":") ? null : each.value
  cidr_ipv6         = strcontains(each.value, ":") ? each.value : null
}

resource "aws_vpc_security_group_egress_rule" "all_ipv4" {
  security_group_id = aws_security_group.host.id
  description       = "Outbound: apt, image registries, git remotes, ACME (Lets Encrypt), CloudWatch"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "all_ipv6" {
  security_group_id = aws_security_group.host.id
  description       = "Outbound over IPv6: the same, where the far end has IPv6"
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}

# --- instance --------------------------------------------------------------------------------

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "host" {
  name               = "${local.iam_prefix}-host"
  description        = "kelev host ${var.name}: the CloudWatch agent publishes metrics and logs"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  role       = aws_iam_role.host.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
}

resource "aws_iam_instance_profile" "host" {
  name = "${local.iam_prefix}-host"
  role = aws_iam_role.host.name
}

locals {
  # What init.sh reads from /etc/kelev/bootstrap.json (load_settings checks every field).
  bootstrap_settings = {
    name                    = var.name
    region                  = var.region
    domain                  = var.domain
    data_volume_id          = aws_ebs_volume.data.id
    acme_email              = var.alert_email
    acme_staging            = var.acme_staging
    deploy_keys             = var.deploy_keys
    cloudwatch_agent_config = local.cloudwatch_agent_config
    # The engine's awslogs driver writes every container's output here; probe.sh publishes
    # site_up and certificate_days into this namespace.
    log_group_name    = local.log_group_name
    metrics_namespace = local.metrics_namespace
    # The kelev-agent release init.sh installs: version, sha256, url.
    agent = var.agent_release
  }

  # The scripts the user data carries, without their comments for the reader (EC2 takes at
  # most 16 KB of user data; the repository keeps them): the block under
  # `#!`, indented comment lines, and the comment above each function. Comments at the start
  # of a line elsewhere stay, among them those of the files init.sh writes (heredocs).
  # scripts/check-infra measures, and tests, the scripts in this form.
  scripts = {
    for script in ["init.sh", "install-agent.sh", "probe.sh"] :
    script => replace(replace(replace(
      file("${var.bootstrap_dir}/${script}"),
      "/^(#![^\n]*\n)(#[^\n]*\n)+/", "$1"),
      "/(?m)^[ \t]+#[^\n]*\n/", ""),
    "/(?m)^(?:#[^!\n][^\n]*\n)+([a-z_][a-z0-9_]*\\(\\) \\{)/", "$1")
  }

  # The CloudWatch agent's config: the metrics the alarms below watch, and the logs shipped to
  # the log group. Metric dimensions: InstanceId (append_dimensions; omit_hostname drops
  # `host`), plus path and fstype for disks (drop_device drops `device`).
  cloudwatch_agent_config = {
    agent = {
      metrics_collection_interval = 60
      run_as_user                 = "root"
      omit_hostname               = true
    }
    metrics = {
      namespace = local.metrics_namespace
      append_dimensions = {
        InstanceId = "$${aws:InstanceId}"
      }
      metrics_collected = {
        mem = {
          measurement = ["mem_used_percent"]
        }
        disk = {
          measurement = ["used_percent"]
          resources   = values(local.watched_disks)
          drop_device = true
        }
      }
    }
    logs = {
      logs_collected = {
        files = {
          collect_list = [
            for stream, file in local.shipped_logs : {
              file_path       = file
              log_group_name  = local.log_group_name
              log_stream_name = "{instance_id}/${stream}"
            }
          ]
        }
      }
    }
  }

  # cloud-init: the admin key for `ubuntu`, bootstrap/init.sh with its settings and the Traefik
  # project, and one command that runs init.sh. The files come from the repository's bootstrap/
  # (var.bootstrap_dir): Terragrunt copies only terraform/modules/ into its cache.
  cloud_config = {
    ssh_authorized_keys = [var.admin_ssh_public_key]
    write_files = [
      {
        path        = "/etc/kelev/bootstrap.json"
        owner       = "root:root"
        permissions = "0600"
        content     = jsonencode(local.bootstrap_settings)
      },
      {
        path        = "/opt/kelev/bootstrap/init.sh"
        owner       = "root:root"
        permissions = "0755"
        content     = local.scripts["init.sh"]
      },
      {
        path        = "/opt/kelev/bootstrap/install-agent.sh"
        owner       = "root:root"
        permissions = "0755"
        content     = local.scripts["install-agent.sh"]
      },
      {
        path        = "/opt/kelev/bootstrap/probe.sh"
        owner       = "root:root"
        permissions = "0755"
        content     = local.scripts["probe.sh"]
      },
      {
        path        = "/opt/kelev/bootstrap/traefik/compose.yaml"
        owner       = "root:root"
        permissions = "0644"
        content     = file("${var.bootstrap_dir}/traefik/compose.yaml")
      },
    ]
    runcmd = [["/opt/kelev/bootstrap/init.sh"]]
  }
  user_data = "#cloud-config\n${yamlencode(local.cloud_config)}"
}

# What var.ami_id is, as the region's EC2 describes it: the precondition below refuses anything
# but Canonical's Ubuntu 22.04 amd64, whose apt, NVMe names and ssh.service init.sh relies on.
data "aws_ami" "host" {
  # Canonical deprecates its images after two years; a pinned one stays launchable.
  include_deprecated = true

  filter {
    name   = "image-id"
    values = [var.ami_id]
  }
}

resource "aws_instance" "host" {
  ami                         = var.ami_id
  instance_type               = var.instance_type
  subnet_id                   = aws_subnet.public.id
  vpc_security_group_ids      = [aws_security_group.host.id]
  iam_instance_profile        = aws_iam_instance_profile.host.name
  associate_public_ip_address = false # the Elastic IP below is the host's address
  ipv6_address_count          = 1     # for SSH from IPv6 sources in allowed_ssh_cidrs
  monitoring                  = true
  ebs_optimized               = true

  # cloud-init accepts gzip; 16 KB is the limit before compression is counted.
  user_data_base64 = base64gzip(local.user_data)
  # cloud-init runs init.sh once per instance: a change (a deploy key, init.sh itself, a new
  # data volume) takes effect on a fresh instance. Everything that must survive is on the data
  # volume.
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1 # containers (one hop further) cannot reach the metadata service
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    delete_on_termination = true
  }

  tags = {
    Name = var.name
  }

  lifecycle {
    precondition {
      condition = (
        data.aws_ami.host.owner_id == "099720109477" &&
        data.aws_ami.host.architecture == "x86_64" &&
        can(regex("^ubuntu/images/hvm-ssd(-gp3)?/ubuntu-jammy-22\\.04-amd64-server-", data.aws_ami.host.name))
      )
      error_message = "ami_id ${var.ami_id} is not Canonical's Ubuntu 22.04 amd64: it is \"${data.aws_ami.host.name}\" (${data.aws_ami.host.architecture}), owned by account ${data.aws_ami.host.owner_id} (Canonical is 099720109477). `kelev amis` writes config/region-mapping.json from Canonical's published ids."
    }

    # Once the Elastic IP is associated, the provider reads this back as true, and every later
    # plan would replace the instance (hashicorp/terraform-provider-aws#37318). It only matters
    # at launch, where false holds.
    ignore_changes = [associate_public_ip_address]
    # A new data volume (a restore) needs a fresh instance whose init.sh mounts it. The user
    # data names the volume, but its new id is unknown at plan time, and the provider then
    # plans the user data as an in-place update, not as the replacement
    # user_data_replace_on_change promises.
    replace_triggered_by = [terraform_data.data_volume]
  }
}

resource "aws_eip" "host" {
  domain = "vpc"

  tags = {
    Name = var.name
  }
}

resource "aws_eip_association" "host" {
  allocation_id = aws_eip.host.id
  instance_id   = aws_instance.host.id

  depends_on = [aws_internet_gateway.this]
}

# --- data volume and snapshots ---------------------------------------------------------------

resource "aws_ebs_volume" "data" {
  #checkov:skip=CKV_AWS_189:Encrypted with the account's aws/ebs key; a customer-managed key would add a monthly charge and a key policy to get right, for no reader other than this account.
  availability_zone = local.availability_zone
  size              = var.data_volume_size_gb
  type              = "gp3"
  encrypted         = true
  snapshot_id       = var.restore_snapshot_id
  final_snapshot    = true

  tags = {
    Name                     = "${var.name}-data"
    (local.snapshot_tag_key) = var.name
  }

  lifecycle {
    # Docker's images and volumes, every project's checkout and state, and the certificates
    # live here. To restore from a snapshot, take this volume out of the state first
    # (docs/runbook.md); nothing in this module may destroy it.
    prevent_destroy = true
    # restore_snapshot_id matters only when the volume is created.
    ignore_changes = [snapshot_id]

    postcondition {
      condition     = var.restore_snapshot_id == null || self.snapshot_id == var.restore_snapshot_id
      error_message = "restore_snapshot_id is set, but the data volume in the state was not created from it. Run `terragrunt state rm aws_ebs_volume.data` first (docs/runbook.md, \"Restore from a snapshot\"), or unset restore_snapshot_id."
    }
  }
}

# The data volume's id as a resource the instance's replace_triggered_by can name: it changes
# only when the volume is created anew.
resource "terraform_data" "data_volume" {
  input = aws_ebs_volume.data.id
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.host.id
  # Stop the old instance before the volume leaves it (a new instance, a restore), so the
  # filesystem is unmounted cleanly.
  stop_instance_before_detaching = true
}

data "aws_iam_policy_document" "dlm_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["dlm.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dlm" {
  name               = "${local.iam_prefix}-dlm"
  description        = "kelev host ${var.name}: Data Lifecycle Manager snapshots the data volume"
  assume_role_policy = data.aws_iam_policy_document.dlm_assume.json
}

resource "aws_iam_role_policy_attachment" "dlm" {
  role       = aws_iam_role.dlm.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
}

resource "aws_dlm_lifecycle_policy" "data" {
  description        = "${var.name} data volume daily snapshots kept 7 days"
  execution_role_arn = aws_iam_role.dlm.arn
  state              = "ENABLED"

  policy_details {
    resource_types = ["VOLUME"]
    target_tags = {
      (local.snapshot_tag_key) = var.name
    }

    schedule {
      name      = "daily-kept-7-days"
      copy_tags = true

      create_rule {
        interval      = 24
        interval_unit = "HOURS"
        times         = [var.snapshot_time]
      }

      retain_rule {
        count = 7
      }

      tags_to_add = {
        SnapshotCreator = "kelev-dlm"
      }
    }
  }
}

# --- alarms ----------------------------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  #checkov:skip=CKV_AWS_26:CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key, and the alarm messages hold nothing secret (names, metric values).
  name = "${var.name}-alerts"
}

# AWS mails a confirmation link to alert_email; nothing arrives until it is clicked.
resource "aws_sns_topic_subscription" "email" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

resource "aws_cloudwatch_metric_alarm" "system_status" {
  alarm_name          = "${var.name}-system-status-check"
  alarm_description   = "AWS's side of the host failed (hardware, network, power): EC2 recovers the instance onto other hardware, keeping its id, addresses and volumes."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  dimensions = {
    InstanceId = aws_instance.host.id
  }
  alarm_actions = ["arn:${data.aws_partition.current.partition}:automate:${var.region}:ec2:recover", aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "instance_status" {
  alarm_name          = "${var.name}-instance-status-check"
  alarm_description   = "The host's operating system stopped answering (kernel, network configuration, out of memory): EC2 reboots it."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_Instance"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  dimensions = {
    InstanceId = aws_instance.host.id
  }
  alarm_actions = ["arn:${data.aws_partition.current.partition}:automate:${var.region}:ec2:reboot", aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "${var.name}-cpu"
  alarm_description   = "CPU above 90% for 15 minutes (on a burstable type, CPU credits may be running out)."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 90
  dimensions = {
    InstanceId = aws_instance.host.id
  }
  alarm_actions = [aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

# From the CloudWatch agent. Missing data counts as breaching: an agent that never started, or
# a data volume that is not mounted, raises the alarm after 15 minutes.
resource "aws_cloudwatch_metric_alarm" "memory" {
  alarm_name          = "${var.name}-memory"
  alarm_description   = "Memory above 90% for 15 minutes, or no data from the CloudWatch agent."
  namespace           = local.metrics_namespace
  metric_name         = "mem_used_percent"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 90
  treat_missing_data  = "breaching"
  dimensions = {
    InstanceId = aws_instance.host.id
  }
  alarm_actions = [aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "disk" {
  for_each = local.watched_disks

  alarm_name          = "${var.name}-disk-${each.key}"
  alarm_description   = "Disk ${each.value} more than 85% full, or no data from the CloudWatch agent."
  namespace           = local.metrics_namespace
  metric_name         = "disk_used_percent"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 85
  treat_missing_data  = "breaching"
  dimensions = {
    InstanceId = aws_instance.host.id
    path       = each.value
    fstype     = "ext4"
  }
  alarm_actions = [aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

# --- uptime ----------------------------------------------------------------------------------
# From bootstrap/probe.sh, every minute (kelev-probe.timer). One pair of alarms per project of
# projects.json: gen-config writes monitored_projects from it.

resource "aws_cloudwatch_metric_alarm" "site_up" {
  for_each = toset(var.monitored_projects)

  alarm_name          = "${var.name}-site-${each.key}"
  alarm_description   = "${each.key}: a domain did not answer through Traefik (no route, no backend, 5xx, or a certificate that does not verify) in 3 of the last 5 minutes, or the probe sent nothing (host down, probe failing, CloudWatch unreachable). See docs/runbook.md, A site is down."
  namespace           = local.metrics_namespace
  metric_name         = "site_up"
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  dimensions = {
    Project = each.key
  }
  alarm_actions = [aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

# Missing data is the site_up alarm's business (a site that does not answer has no certificate
# to measure), so it does not raise this one as well.
resource "aws_cloudwatch_metric_alarm" "certificate_days" {
  for_each = toset(var.monitored_projects)

  alarm_name          = "${var.name}-certificate-${each.key}"
  alarm_description   = "${each.key}: a certificate expires in fewer than ${var.certificate_alarm_days} days; Traefik renews 30 days ahead, so renewal is failing (see Traefik's log stream)."
  namespace           = local.metrics_namespace
  metric_name         = "certificate_days"
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.certificate_alarm_days
  treat_missing_data  = "notBreaching"
  dimensions = {
    Project = each.key
  }
  alarm_actions = [aws_sns_topic.alerts.arn]
  ok_actions    = [aws_sns_topic.alerts.arn]
}

# --- logs ------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "host" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest with a service key; a customer-managed key would need a key policy for logs.<region>.amazonaws.com and a monthly charge, for logs that name projects and commits.
  #checkov:skip=CKV_AWS_338:Retention is the operator's choice (log_retention_days in config.json, 30 by default); a year is more than a hobby host needs to pay for.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
}
