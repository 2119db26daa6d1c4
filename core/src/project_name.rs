//! A project's name: the one string from the manifest that reaches paths, compose project names
//! and lock files, so it is checked once, here, and typed from then on.

use std::fmt;

/// A name matching `^[a-z0-9][a-z0-9-]{0,62}$`: safe as a path component, a compose project
/// name and a Docker label value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

/// Compose project names the host runs for itself, each with why. A project's name is also its
/// compose project name, so a project named like one of these would share it: its deploy would
/// recreate, its `remove` take down, the host's own containers. The test below reads every
/// compose project name out of bootstrap/, so a new one cannot be missed here.
pub const RESERVED_PROJECT_NAMES: &[(&str, &str)] = &[(
    "traefik",
    "the host runs Traefik, which routes every site, as compose project `traefik` \
     (bootstrap/init.sh)",
)];

impl ProjectName {
    pub const MAX_LEN: usize = 63;

    pub fn parse(s: &str) -> Option<ProjectName> {
        let bytes = s.as_bytes();
        let first_ok = matches!(bytes.first(), Some(b'a'..=b'z' | b'0'..=b'9'));
        let rest_ok = bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
        (first_ok && rest_ok && bytes.len() <= Self::MAX_LEN).then(|| ProjectName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Why no project may have this name, if it is one the host uses itself.
    pub fn reserved(&self) -> Option<&'static str> {
        RESERVED_PROJECT_NAMES
            .iter()
            .find(|(name, _)| *name == self.0)
            .map(|(_, why)| *why)
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for ok in ["a", "0", "fun-n-games", "a-", &"a".repeat(63)] {
            assert!(ProjectName::parse(ok).is_some(), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "-a",
            "A",
            "a_b",
            "a.b",
            "..",
            "a/b",
            "é",
            " a",
            &"a".repeat(64),
        ] {
            assert!(
                ProjectName::parse(bad).is_none(),
                "{bad:?} should be refused"
            );
        }
    }

    /// Every compose project the host starts (`--project-name X` in bootstrap/*.sh, `name: X`
    /// at the top of bootstrap/*/compose.yaml) is reserved.
    #[test]
    fn every_compose_project_of_the_host_is_reserved() {
        let bootstrap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bootstrap");
        let mut found = Vec::new();
        let mut files = vec![bootstrap.join("init.sh")];
        for entry in std::fs::read_dir(&bootstrap).unwrap() {
            let compose = entry.unwrap().path().join("compose.yaml");
            if compose.is_file() {
                files.push(compose);
            }
        }
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for line in text.lines() {
                let named = line
                    .split_once("--project-name ")
                    .map(|(_, rest)| rest)
                    .or_else(|| line.strip_prefix("name: "));
                if let Some(name) = named.and_then(|rest| rest.split_whitespace().next()) {
                    found.push(name.trim_matches(['"', '\'']).to_owned());
                }
            }
        }
        assert!(found.contains(&"traefik".to_owned()), "{found:?}");
        for name in found {
            let parsed = ProjectName::parse(&name).unwrap();
            assert!(parsed.reserved().is_some(), "`{name}` is not reserved");
        }
        assert_eq!(ProjectName::parse("fun-n-games").unwrap().reserved(), None);
    }
}
