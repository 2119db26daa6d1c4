//! A project's name: the one string from the manifest that reaches paths, compose project names
//! and lock files, so it is checked once, here, and typed from then on.

use std::fmt;

/// A name matching `^[a-z0-9][a-z0-9-]{0,62}$`: safe as a path component, a compose project
/// name and a Docker label value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

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
}
