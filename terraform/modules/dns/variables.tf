variable "zone_id" {
  description = "Cloudflare zone id of the domain (dashboard: the domain's Overview page, \"Zone ID\")."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.zone_id))
    error_message = "zone_id must be a Cloudflare zone id (32 hex digits)."
  }
}

variable "domain" {
  description = "The apex domain: `domain` in config.json. Gets an A record, and so does *.<domain>."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a lowercase domain name such as example.com."
  }
}

variable "ipv4_address" {
  description = "Where the records point: the host module's `public_ip` output (the Elastic IP)."
  type        = string

  validation {
    condition     = can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}$", var.ipv4_address))
    error_message = "ipv4_address must be an IPv4 address."
  }
}

variable "ttl" {
  description = "TTL of the records in seconds (1 means Cloudflare's \"automatic\")."
  type        = number
  default     = 300
}
