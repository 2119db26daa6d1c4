//! `kelev allow-ssh`: add this machine's address to `allowed_ssh_cidrs` in config.json, editing
//! the text in place so the file keeps its formatting, and only when the address is missing.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use crate::error::Error;

/// Where the address is asked when `--ip` is not given: plain text, one line.
pub(crate) const IP_SERVICE: &str = "https://checkip.amazonaws.com";

pub(crate) fn run(config: &Path, ip: Option<IpAddr>, out: &mut dyn Write) -> Result<i32, Error> {
    let ip = match ip {
        Some(ip) => public(ip)?,
        None => {
            let ip = discover()?;
            let _ = writeln!(
                out,
                "asked {IP_SERVICE}: this machine's public address is {ip}"
            );
            ip
        }
    };
    let cidr = match ip {
        IpAddr::V4(ip) => format!("{ip}/32"),
        IpAddr::V6(ip) => format!("{ip}/128"),
    };
    let data = |message: String| Error::Data {
        what: config.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(config).map_err(|e| data(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| data(e.to_string()))?;
    let current: Vec<String> = serde_json::from_value(value["allowed_ssh_cidrs"].clone())
        .map_err(|_| data("`allowed_ssh_cidrs` is not a list of strings".into()))?;
    if current.contains(&cidr) {
        let _ = writeln!(out, "{cidr} is already allowed");
        return Ok(0);
    }
    let edited = insert(&text, &cidr)
        .ok_or_else(|| data("cannot find the `allowed_ssh_cidrs` list".into()))?;
    // The edit must change exactly that list.
    let mut expected = value.clone();
    expected["allowed_ssh_cidrs"]
        .as_array_mut()
        .expect("checked above")
        .push(serde_json::Value::String(cidr.clone()));
    let reparsed: serde_json::Value =
        serde_json::from_str(&edited).map_err(|e| data(format!("edit broke the file: {e}")))?;
    if reparsed != expected {
        return Err(data("edit changed more than `allowed_ssh_cidrs`".into()));
    }
    std::fs::write(config, edited).map_err(|e| data(e.to_string()))?;
    let _ = writeln!(
        out,
        "added {cidr} to allowed_ssh_cidrs; run `kelev gen-config` and apply"
    );
    Ok(0)
}

fn discover() -> Result<IpAddr, Error> {
    let unavailable = |message: String| {
        Error::Unavailable {
        message: format!("cannot learn this machine's address from {IP_SERVICE}: {message}\nhint: pass --ip ADDR"),
    }
    };
    let output = duct::cmd("curl", ["-fsS", "--max-time", "10", IP_SERVICE])
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| unavailable(format!("cannot run curl: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(unavailable(format!(
            "curl failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    let answer = String::from_utf8_lossy(&output.stdout);
    answer
        .trim()
        .parse()
        .map_err(|_| unavailable(format!("it answered `{}`", answer.trim().escape_default())))
}

/// An address AWS could see this machine by: not loopback, unspecified, link-local, multicast
/// or broadcast (a security group rule for one of those lets no one in).
fn public(ip: IpAddr) -> Result<IpAddr, Error> {
    let local = match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    match local {
        false => Ok(ip),
        true => Err(Error::Data {
            what: "--ip".into(),
            message: format!(
                "`{ip}` is not a public address: AWS sees this machine by its public one\nhint: leave out --ip to ask {IP_SERVICE}"
            ),
        }),
    }
}

/// Insert `"cidr"` as the last element of the `allowed_ssh_cidrs` array, in the style of the
/// elements already there.
fn insert(text: &str, cidr: &str) -> Option<String> {
    let key = text.find("\"allowed_ssh_cidrs\"")?;
    let open = key + text[key..].find('[')?;
    let close = open + text[open..].find(']')?;
    let inside = &text[open + 1..close];
    let item = format!("\"{cidr}\"");
    let insertion = if inside.trim().is_empty() {
        return Some(format!("{}[{item}]{}", &text[..open], &text[close + 1..]));
    } else if inside.contains('\n') {
        let last = inside.trim_end();
        let indent: String = last
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_whitespace())
            .collect();
        let end = open + 1 + last.len();
        return Some(format!("{},\n{indent}{item}{}", &text[..end], &text[end..]));
    } else {
        let end = open + 1 + inside.trim_end().len();
        (end, format!(", {item}"))
    };
    let (end, addition) = insertion;
    Some(format!("{}{addition}{}", &text[..end], &text[end..]))
}

/// `ADDR/LEN` with LEN within the address family's bits.
pub(crate) fn parse_cidr(s: &str) -> Result<(), String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not ADDR/LEN"))?;
    let addr: IpAddr = addr.parse().map_err(|_| format!("`{s}`: bad address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("`{s}`: bad prefix length"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(format!("`{s}`: prefix longer than {max}"));
    }
    if len == 0 {
        return Err(format!("`{s}` opens SSH to the whole internet"));
    }
    // AWS refuses a CIDR whose address has bits past the prefix.
    let network = match addr {
        IpAddr::V4(a) => IpAddr::V4(std::net::Ipv4Addr::from(
            u32::from(a) & (u32::MAX << (32 - u32::from(len))),
        )),
        IpAddr::V6(a) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(a) & (u128::MAX << (128 - u32::from(len))),
        )),
    };
    if network != addr {
        return Err(format!(
            "`{s}` has bits set past its prefix: the network is `{network}/{len}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_keeps_the_style() {
        let multi = "{\n  \"allowed_ssh_cidrs\": [\n    \"1.1.1.1/32\"\n  ],\n  \"x\": 1\n}\n";
        assert_eq!(
            insert(multi, "2.2.2.2/32").unwrap(),
            "{\n  \"allowed_ssh_cidrs\": [\n    \"1.1.1.1/32\",\n    \"2.2.2.2/32\"\n  ],\n  \"x\": 1\n}\n"
        );
        let inline = "{\"allowed_ssh_cidrs\": [\"1.1.1.1/32\"], \"x\": 1}";
        assert_eq!(
            insert(inline, "2.2.2.2/32").unwrap(),
            "{\"allowed_ssh_cidrs\": [\"1.1.1.1/32\", \"2.2.2.2/32\"], \"x\": 1}"
        );
        let empty = "{\"allowed_ssh_cidrs\": [ ]}";
        assert_eq!(
            insert(empty, "2.2.2.2/32").unwrap(),
            "{\"allowed_ssh_cidrs\": [\"2.2.2.2/32\"]}"
        );
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("203.0.113.7/32").is_ok());
        assert!(parse_cidr("2001:db8::1/128").is_ok());
        assert!(parse_cidr("0.0.0.0/0").is_err());
        assert!(parse_cidr("1.2.3.4/33").is_err());
        assert!(parse_cidr("1.2.3.4").is_err());
    }
}
