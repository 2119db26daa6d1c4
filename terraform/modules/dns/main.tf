# The apex and wildcard A records for a kelev host in Cloudflare. Not proxied ("DNS only"):
# Let's Encrypt's HTTP-01 challenge must reach Traefik on the host itself, and Traefik holds
# the certificates.

resource "cloudflare_dns_record" "apex" {
  zone_id = var.zone_id
  name    = var.domain
  type    = "A"
  content = var.ipv4_address
  proxied = false
  ttl     = var.ttl
  comment = "kelev host (terraform/modules/dns)"
}

resource "cloudflare_dns_record" "wildcard" {
  zone_id = var.zone_id
  name    = "*.${var.domain}"
  type    = "A"
  content = var.ipv4_address
  proxied = false
  ttl     = var.ttl
  comment = "kelev host (terraform/modules/dns)"
}
