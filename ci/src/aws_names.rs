//! What AWS (and init.sh) will accept of config.json's names, checked on the laptop: a region
//! name, an x86_64 Nitro instance type, an S3 bucket name.

/// `us-east-1`, `us-gov-west-1`: two letters, an optional `gov`, a word, a number.
pub(crate) fn region_name(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let alpha = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = matches!(parts.len(), 3 | 4)
        && parts[0].len() == 2
        && alpha(parts[0])
        && (parts.len() == 3 || parts[1] == "gov")
        && alpha(parts[parts.len() - 2])
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    match ok {
        true => Ok(()),
        false => Err(format!(
            "`{region}` is not an AWS region name like eu-central-1"
        )),
    }
}

/// Families on the Xen hypervisor: their EBS volumes are not NVMe devices, and init.sh finds the
/// data volume by its NVMe name (`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...`).
const XEN_FAMILIES: &[&str] = &[
    "t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "cc2", "cr1", "r3", "r4", "x1", "x1e",
    "d2", "h1", "i2", "i3", "hs1", "g2", "g3", "g3s", "p2", "p3", "f1",
];

/// An x86_64 Nitro type (`t3.small`): the AMIs in the region mapping are amd64 Ubuntu.
pub(crate) fn instance_type(name: &str) -> Result<(), String> {
    let field = "`instance_type`";
    let (family, size) = name.split_once('.').unwrap_or((name, ""));
    let shaped = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !shaped(family) || !shaped(size) || !family.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{field} `{name}` is not an EC2 instance type like t3.small"
        ));
    }
    if XEN_FAMILIES.contains(&family) && size != "metal" {
        return Err(format!("{field} `{name}` is not a Nitro instance type: init.sh finds the data volume by its NVMe name (pick t3, m5 or newer)"));
    }
    // Graviton: the generation's digits are followed by `g` (t4g, m6gd, c7gn, is4gen), or a1.
    let after_digits = family
        .trim_start_matches(|c: char| c.is_ascii_lowercase())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if family == "a1" || after_digits.starts_with('g') {
        return Err(format!("{field} `{name}` is arm64 (Graviton); the AMIs in the region mapping are amd64 (pick an x86_64 type like t3.small)"));
    }
    Ok(())
}

/// The names S3 accepts for a general purpose bucket.
pub(crate) fn bucket_name(name: &str) -> Result<(), String> {
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge(name.as_bytes().first())
        && edge(name.as_bytes().last())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3"]
            .iter()
            .any(|s| name.ends_with(s));
    match ok {
        true => Ok(()),
        false => Err(format!("`state_bucket` `{name}` is not a name S3 accepts (3 to 63 of [a-z0-9.-], a letter or digit at each end, no `..`, not an IP address)")),
    }
}
