//! The manifest's domains: host names Traefik routes by and gets a Let's Encrypt certificate
//! for, so names that can have none (IP addresses, `localhost`) are refused with the rest.

use std::net::Ipv4Addr;

/// What is wrong with `name` as a routed domain, completing "domain `name` ...", or `None`.
pub(crate) fn domain_problem(name: &str) -> Option<&'static str> {
    let top_label = name.rsplit('.').next().unwrap_or(name);
    if !is_host_name(name) {
        Some("is not a valid lowercase host name")
    } else if name.parse::<Ipv4Addr>().is_ok() || top_label.bytes().all(|b| b.is_ascii_digit()) {
        Some("is an IP address, not a domain name: Let's Encrypt gives the host certificates for names only")
    } else if name == "localhost" || name.ends_with(".localhost") {
        Some("names the machine itself (RFC 6761): no certificate authority issues for it")
    } else {
        None
    }
}

/// Labels of `a-z0-9-`, none empty, none starting or ending with `-`, at most 63 bytes each and
/// 253 in all.
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        })
}
