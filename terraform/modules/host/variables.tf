# The first thirteen variables are the inputs `kelev gen-config` writes into
# terraform/region/<REGION>/terragrunt.hcl from config.json (ci/tests/infra.rs checks that the
# two agree). The rest have defaults and are set only for special cases, with TF_VAR_<name>
# (docs/runbook.md).

variable "name" {
  description = "Prefix of every resource name, and the value of the tag the snapshot policy selects the data volume by."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 1 to 24 of [a-z0-9-]."
  }
}

variable "region" {
  description = "AWS region of this host; must be the region the provider is configured for (root.hcl takes it from the folder name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "ami_id" {
  description = "Ubuntu 22.04 (jammy) amd64 AMI in this region, from config/region-mapping.json."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be an AMI id (ami-...)."
  }
}

variable "instance_type" {
  description = "EC2 instance type. Must be a Nitro type (t3, t3a, m5, ...): init.sh finds the data volume by its NVMe device name."
  type        = string
}

variable "domain" {
  description = "The apex domain the projects are served under; the DNS records to create are for it and *.<domain>."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a lowercase domain name such as example.com."
  }
}

variable "data_volume_size_gb" {
  description = "Size of the data volume (gp3) that holds Docker's data-root, the agent's root and Traefik's certificates."
  type        = number

  validation {
    condition     = var.data_volume_size_gb >= 8 && var.data_volume_size_gb <= 16384 && floor(var.data_volume_size_gb) == var.data_volume_size_gb
    error_message = "data_volume_size_gb must be a whole number between 8 and 16384."
  }
}

variable "allowed_ssh_cidrs" {
  description = "The only sources allowed to reach port 22 (IPv4 or IPv6 CIDRs). Empty: no SSH at all. `kelev allow-ssh` adds this machine."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.allowed_ssh_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_ssh_cidrs must hold CIDRs such as 203.0.113.7/32."
  }

  validation {
    condition     = alltrue([for c in var.allowed_ssh_cidrs : !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "allowed_ssh_cidrs must not open SSH to the whole internet (0.0.0.0/0 or ::/0)."
  }
}

variable "admin_ssh_public_key" {
  description = "OpenSSH public key of the operator; it logs in as `ubuntu` (sudo), from allowed_ssh_cidrs only."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa|sk-ssh-ed25519@openssh\\.com) [A-Za-z0-9+/=]{40,}( [^\"\\n\\r]*)?$", var.admin_ssh_public_key))
    error_message = "admin_ssh_public_key must be one OpenSSH public key line."
  }
}

variable "deploy_keys" {
  description = "Deploy keys by id: each becomes a `restrict,command=\"/usr/local/bin/kelev-agent --key <id>\"` line for the deploy user and an entry in agent.json with its verbs and projects."
  type = map(object({
    public_key = string
    verbs      = list(string)
    projects   = list(string)
  }))

  validation {
    condition     = alltrue([for id, key in var.deploy_keys : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", id))])
    error_message = "deploy key ids must be [a-z0-9-]."
  }

  validation {
    condition     = alltrue([for id, key in var.deploy_keys : can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa|sk-ssh-ed25519@openssh\\.com) [A-Za-z0-9+/=]{40,}( [^\"\\\\\\n\\r]*)?$", key.public_key))])
    error_message = "every deploy key's public_key must be one OpenSSH public key line, without options."
  }

  validation {
    condition     = alltrue([for id, key in var.deploy_keys : length(key.verbs) > 0 && length(key.projects) > 0])
    error_message = "every deploy key needs at least one verb and one project (\"*\" for all)."
  }
}

variable "alert_email" {
  description = "Receives the CloudWatch alarms (through SNS: confirm the subscription email AWS sends) and is the Let's Encrypt account email."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s\"]+@[^@\\s\"]+$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch Logs keeps the host's logs (audit.log, the agent's syslog lines, init.sh's log, and every container's output, Traefik's access log among them)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653)."
  }
}

variable "monitored_projects" {
  description = "The projects of projects.json (gen-config writes them): each gets a site_up alarm (down, or no data from the probe) and a certificate_days alarm."
  type        = list(string)

  validation {
    condition     = alltrue([for p in var.monitored_projects : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", p))])
    error_message = "monitored_projects must be project names ([a-z0-9-])."
  }
}

variable "certificate_alarm_days" {
  description = "The certificate_days alarm fires when a project's earliest certificate expires in fewer days than this (Traefik renews Let's Encrypt certificates 30 days ahead)."
  type        = number
  default     = 14
}

# --- not written by gen-config ---------------------------------------------------------------

variable "bootstrap_dir" {
  description = "The repository's bootstrap/ directory, whose init.sh, install-agent.sh, probe.sh and traefik/compose.yaml the user data carries; terragrunt.hcl sets it to get_repo_root()/bootstrap, since Terragrunt's cache holds only terraform/modules/."
  type        = string

  validation {
    condition     = fileexists("${var.bootstrap_dir}/init.sh") && fileexists("${var.bootstrap_dir}/install-agent.sh") && fileexists("${var.bootstrap_dir}/probe.sh") && fileexists("${var.bootstrap_dir}/traefik/compose.yaml")
    error_message = "bootstrap_dir must hold init.sh, install-agent.sh, probe.sh and traefik/compose.yaml."
  }
}

variable "restore_snapshot_id" {
  description = "Emergency restore: the data volume is created from this snapshot (with a fresh instance that mounts it). Only read when the volume is created: remove the old one from the state first (docs/runbook.md, \"Restore from a snapshot\")."
  type        = string
  default     = null

  validation {
    condition     = var.restore_snapshot_id == null || can(regex("^snap-[0-9a-f]{8,17}$", var.restore_snapshot_id))
    error_message = "restore_snapshot_id must be a snapshot id (snap-...)."
  }
}

variable "availability_zone" {
  description = "Availability zone of the instance and its data volume; default: <region>a. Set it to restore into another zone (docs/runbook.md)."
  type        = string
  default     = null
}

variable "acme_staging" {
  description = "Use Let's Encrypt's staging CA (untrusted certificates, generous rate limits) while trying things out."
  type        = bool
  default     = false
}

variable "snapshot_time" {
  description = "UTC time (HH:MM) at which the daily snapshot of the data volume starts."
  type        = string
  default     = "03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.snapshot_time))
    error_message = "snapshot_time must be HH:MM (UTC)."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the root volume (gp3). It holds only the OS: images, volumes and projects are on the data volume."
  type        = number
  default     = 16
}

variable "vpc_cidr" {
  description = "IPv4 range of the host's VPC; the one public subnet is its first range 8 bits longer (a /24 of the default /16)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(regex("^[0-9.]+/(1[6-9]|20)$", var.vpc_cidr)) && can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR from /16 to /20 (the subnet is its first range 8 bits longer)."
  }
}

# --- the agent's release (gen-config writes these) -----------------------------------------------

variable "github_repository" {
  description = "config.json's GitHub repository, owner/name: the kelev-agent release comes from its releases, and CI's role trusts its tags."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be a GitHub repository, owner/name."
  }
}

variable "agent_release" {
  description = "The kelev-agent every new instance installs (init.sh, through install-agent.sh, refuses a binary whose SHA-256 or reported version differs): version (the tag without its v), sha256 (its line in the release's SHA256SUMS) and url (gen-config: the x86_64 binary of that release of github_repository; the checksum, not the transport, is what is trusted)."
  type = object({
    version = string
    sha256  = string
    url     = string
  })

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+([-.+][0-9A-Za-z.-]+)?$", var.agent_release.version)) && can(regex("^https?://[^\\s\"]+$", var.agent_release.url))
    error_message = "agent_release needs a version like 0.1.0 and an http(s) url."
  }

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.agent_release.sha256)) && var.agent_release.sha256 != "0000000000000000000000000000000000000000000000000000000000000000"
    error_message = "agent_release.sha256 must be the release's SHA-256 (64 lowercase hex digits), not the example config.json's placeholder of zeros: pin a published release first (docs/runbook.md, \"Pin the agent\")."
  }
}
