//! A project's runtime secrets: `KEY=value` lines kept under the root with mode 0600 and handed
//! to every service of that project (as `environment` in the agent's override, which is 0600
//! too). Values never leave through the agent's output, errors, audit log or status: only keys
//! and a digest of each value are ever shown.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use kelev_core::ProjectName;

use crate::agent::Agent;
use crate::command::SecretKey;
use crate::error::Error;
use crate::layout::{write_private, Layout};

/// The most `secrets-put` reads from stdin.
pub(crate) const MAX_INPUT: usize = 64 * 1024;
const MAX_KEYS: usize = 256;

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Secrets(BTreeMap<String, String>);

impl Secrets {
    /// Parse `KEY=value` lines. Errors name the line and key, never the value.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Secrets, String> {
        let mut entries = BTreeMap::new();
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
            Ok(bytes) => Secrets::parse(&bytes).map_err(|message| Error::ProjectData {
                project: project.clone(),
                message: format!("secrets file `{}`: {message}", path.display()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Secrets::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    fn save(&self, layout: &Layout, project: &ProjectName) -> Result<(), Error> {
        let mut text = String::new();
        for (key, value) in &self.0 {
            text.push_str(&format!("{key}={value}\n"));
        }
        let dir = layout.secrets(project).with_file_name("");
        crate::layout::create_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Error::io(&dir))?;
        write_private(&layout.secrets(project), text.as_bytes())
    }

    pub(crate) fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
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
fn fingerprint(value: &str) -> String {
    format!("sha256:{}", &hex(&Sha256::digest(value.as_bytes()))[..12])
}

impl Agent {
    pub(crate) fn secrets_put(
        &self,
        name: &ProjectName,
        restart: bool,
        input: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let manifest = self.manifest()?;
        let project = self.project(&manifest, name)?;
        let mut bytes = Vec::new();
        input
            .take(MAX_INPUT as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("<stdin>"))?;
        let invalid = |message: String| Error::ProjectData {
            project: name.clone(),
            message: format!("secrets on stdin: {message}"),
        };
        if bytes.len() > MAX_INPUT {
            return Err(invalid(format!("more than {MAX_INPUT} bytes")));
        }
        let new = Secrets::parse(&bytes).map_err(invalid)?;
        let _lock = self.lock(name, "secrets-put", out)?;
        let mut secrets = Secrets::load(&self.layout, name)?;
        let mut changed = Vec::new();
        for (key, value) in new.0 {
            if secrets.0.get(&key) != Some(&value) {
                changed.push(key.clone());
                secrets.0.insert(key, value);
            }
        }
        if secrets.0.len() > MAX_KEYS {
            return Err(invalid(format!("more than {MAX_KEYS} keys in all")));
        }
        secrets.save(&self.layout, name)?;
        let _ = writeln!(
            out,
            "{} for {name}: {}",
            if changed.is_empty() {
                "no change"
            } else {
                "set"
            },
            changed.join(", ")
        );
        if restart && !changed.is_empty() {
            self.restart_with_secrets(project, out)?;
        } else if !changed.is_empty() {
            let _ = writeln!(
                out,
                "the next deploy or rebuild of {name} hands them to its containers"
            );
        }
        Ok(())
    }

    pub(crate) fn secrets_list(
        &self,
        name: &ProjectName,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        self.project(&self.manifest()?, name)?;
        for (key, value) in Secrets::load(&self.layout, name)?.entries() {
            let _ = writeln!(out, "{key} {}", fingerprint(value));
        }
        Ok(())
    }

    pub(crate) fn secrets_unset(
        &self,
        name: &ProjectName,
        keys: &[SecretKey],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        self.project(&self.manifest()?, name)?;
        let _lock = self.lock(name, "secrets-unset", out)?;
        let mut secrets = Secrets::load(&self.layout, name)?;
        let removed: Vec<&str> = keys
            .iter()
            .filter(|k| secrets.0.remove(k.as_str()).is_some())
            .map(SecretKey::as_str)
            .collect();
        secrets.save(&self.layout, name)?;
        let _ = writeln!(
            out,
            "removed from {name}: {}",
            if removed.is_empty() {
                "nothing".to_owned()
            } else {
                removed.join(", ")
            }
        );
        Ok(())
    }
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
