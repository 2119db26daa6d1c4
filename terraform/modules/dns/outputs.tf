output "records" {
  description = "The records, as Cloudflare holds them."
  value = [
    for r in [cloudflare_dns_record.apex, cloudflare_dns_record.wildcard] : {
      id      = r.id
      name    = r.name
      type    = r.type
      content = r.content
      proxied = r.proxied
    }
  ]
}
