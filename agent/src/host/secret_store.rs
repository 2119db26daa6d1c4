//! A project's runtime secrets: `KEY=value` lines kept under the root with mode 0600 and handed
//! to every service of that project (as `environment` in the agent's override, which is 0600
//! too). Values never leave through the agent's output, errors, audit log or status: only keys
//! and a digest of each value are ever shown.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::layout::{write_private, Layout};
use crate::host::secret_key::SecretKey;

/// The most `secrets-put` reads from stdin.
pub(crate) const MAX_INPUT: usize = 64 * 1024;
pub(crate) const MAX_KEYS: usize = 256;

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Secrets(BTreeMap<String, String>);

impl Secrets {
    /// Parse `KEY=value` lines. Errors name the line and key, never the value.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Secrets, String> {
        let mut entries = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let at = |what: &str| format!("line {}: {what}", n + 1);
            let eq = line
                .iter()
                .position(|b| *b == b'=')
                .ok_or_else(|| at("expected KEY=value"))?;
            let key = std::str::from_utf8(&line[..eq])
                .ok()
                .and_then(SecretKey::parse)
                .ok_or_else(|| at("the key must match [A-Z_][A-Z0-9_]* (at most 128 bytes)"))?;
            let value = &line[eq + 1..];
            if value.contains(&0) {
                return Err(at(&format!(
                    "the value of `{}` holds a NUL byte",
                    key.as_str()
                )));
            }
            let value = String::from_utf8(value.to_vec())
                .map_err(|_| at(&format!("the value of `{}` is not UTF-8", key.as_str())))?;
            if let Some(first) = lines.insert(key.as_str().to_owned(), n + 1) {
                return Err(at(&format!(
                    "`{}` is given twice (first on line {first})",
                    key.as_str()
                )));
            }
            entries.insert(key.as_str().to_owned(), value);
        }
        if entries.len() > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} keys"));
        }
        Ok(Secrets(entries))
    }

    pub(crate) fn load(layout: &Layout, project: &ProjectName) -> Result<Secrets, Error> {
        let path = layout.secrets(project);
        match std::fs::read(&path) {
            Ok(bytes) => Secrets::parse(&bytes).map_err(|problem| Error::SecretsFile {
                project: project.clone(),
                path,
                problem,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Secrets::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    pub(crate) fn save(&self, layout: &Layout, project: &ProjectName) -> Result<(), Error> {
        let mut text = String::new();
        for (key, value) in &self.0 {
            text.push_str(&format!("{key}={value}\n"));
        }
        let dir = layout.secrets(project).with_file_name("");
        crate::host::layout::create_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Error::io(&dir))?;
        write_private(&layout.secrets(project), text.as_bytes())
    }

    pub(crate) fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Take in `new`'s entries; the keys whose value changed, in order.
    pub(crate) fn merge(&mut self, new: Secrets) -> Vec<String> {
        let mut changed = Vec::new();
        for (key, value) in new.0 {
            if self.0.get(&key) != Some(&value) {
                changed.push(key.clone());
                self.0.insert(key, value);
            }
        }
        changed
    }

    /// Drop `keys`; the ones that were there.
    pub(crate) fn remove<'k>(&mut self, keys: &'k [SecretKey]) -> Vec<&'k str> {
        keys.iter()
            .filter(|k| self.0.remove(k.as_str()).is_some())
            .map(SecretKey::as_str)
            .collect()
    }

    /// What changes when any key or value changes; part of the deploy's routing fingerprint.
    pub(crate) fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for (key, value) in &self.0 {
            hasher.update(key.as_bytes());
            hasher.update([0]);
            hasher.update(value.as_bytes());
            hasher.update([0]);
        }
        hex(&hasher.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `secrets` shows of a value: enough to compare, nothing to recover.
pub(crate) fn fingerprint(value: &str) -> String {
    format!("sha256:{}", &hex(&Sha256::digest(value.as_bytes()))[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_refuse_without_showing_values() {
        let s = Secrets::parse(b"A=1\n\nB_2=x=y z\r\nEMPTY=\n").unwrap();
        assert_eq!(s.entries()["A"], "1");
        assert_eq!(s.entries()["B_2"], "x=y z");
        assert_eq!(s.entries()["EMPTY"], "");
        for (input, expected) in [
            (&b"lower=secretvalue"[..], "line 1: the key must match"),
            (b"A B=secretvalue", "the key must match"),
            (b"\xc3\xa4=secretvalue", "the key must match"),
            (b"NOEQUALS", "expected KEY=value"),
            (b"A=secret\x00value", "holds a NUL byte"),
            (b"A=secret\xffvalue", "is not UTF-8"),
        ] {
            let err = Secrets::parse(input).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("secret"), "a value leaked into: {err}");
        }
    }

    #[test]
    fn digest_follows_keys_and_values() {
        let a = Secrets::parse(b"A=1").unwrap();
        assert_ne!(a.digest(), Secrets::parse(b"A=2").unwrap().digest());
        assert_ne!(a.digest(), Secrets::parse(b"B=1").unwrap().digest());
        assert_eq!(a.digest(), Secrets::parse(b"A=1\n").unwrap().digest());
        assert_eq!(fingerprint("1").len(), "sha256:".len() + 12);
    }
}
