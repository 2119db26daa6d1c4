//! The name of a project secret, as the grammar (`secrets-unset`) and the store both take it.

/// `[A-Z_][A-Z0-9_]*`, at most 128 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SecretKey(String);

impl SecretKey {
    pub(crate) const MAX_LEN: usize = 128;

    pub(crate) fn parse(s: &str) -> Option<SecretKey> {
        let first = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b == b'_');
        let rest = s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        (first && rest && s.len() <= Self::MAX_LEN).then(|| SecretKey(s.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}
