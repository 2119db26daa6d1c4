//! Which CA certificates libgit2's OpenSSL trusts for https remotes, set before libgit2 starts.
//!
//! libgit2 sets OpenSSL up when it starts, and OpenSSL then reads its default CA file whole:
//! every certificate of the system's bundle parsed, about 18 ms here and most of an unchanged
//! deploy, though a deploy seldom fetches over https. OpenSSL's default directory holds the same
//! certificates under hashed names (`<subject hash>.0`, which Debian's and Ubuntu's
//! ca-certificates keep up to date), and a certificate there is read only when a server's chain
//! asks for its subject. Where the bundle's own directory has such names, the agent points
//! OpenSSL at the directory and at an empty file. An operator's own `SSL_CERT_FILE` or `SSL_CERT_DIR`
//! (a forge with a private CA) is left as it is.

use std::ffi::OsStr;
use std::path::Path;

/// The empty file OpenSSL reads instead of the bundle.
const NO_FILE: &str = "/dev/null";

/// Call once, before libgit2 starts, while no other thread reads the environment.
pub(crate) fn trust_system_directory() {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return;
    }
    let probed = openssl_probe::probe();
    let (Some(file), Some(dir)) = (probed.cert_file, probed.cert_dir) else {
        return;
    };
    // Only the directory the bundle itself is in (`/etc/ssl/certs` on Debian and Ubuntu, as
    // both are reached through `/usr/lib/ssl`): some other `certs` directory found first may
    // hold anything, or next to nothing.
    let beside = |file: &Path| file.canonicalize().ok()?.parent().map(Path::to_owned);
    if beside(&file) != dir.canonicalize().ok()
        || !has_hashed_names(&dir)
        || !Path::new(NO_FILE).exists()
    {
        return;
    }
    // git2 sets both itself at its start (openssl-probe), keeping values that name a path
    // that exists: these.
    std::env::set_var("SSL_CERT_FILE", NO_FILE);
    std::env::set_var("SSL_CERT_DIR", dir);
}

/// Whether `dir` holds a certificate under OpenSSL's hashed name.
fn has_hashed_names(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .any(|entry| is_hashed_name(&entry.file_name()))
}

/// `<8 hex digits>.<digit>`: how `c_rehash` and `openssl rehash` name a CA certificate.
fn is_hashed_name(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    match name.split_once('.') {
        Some((hash, n)) => {
            hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        for (name, hashed) in [
            ("3513523f.0", true),
            ("9d520b32.12", true),
            ("ca-certificates.crt", false),
            ("3513523f.pem", false),
            ("3513523.0", false),
            ("3513523g.0", false),
            ("3513523f.", false),
        ] {
            assert_eq!(is_hashed_name(OsStr::new(name)), hashed, "{name}");
        }
    }
}
