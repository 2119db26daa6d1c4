//! A full commit id: what CI sends, what the mirror resolves, what a release directory, an image
//! tag and the state file are named after. Checked once, typed from then on.

use std::fmt;

/// Exactly 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. No abbreviations, no revision syntax.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CommitId(String);

impl CommitId {
    pub fn parse(s: &str) -> Option<CommitId> {
        let hex = s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hex && (s.len() == 40 || s.len() == 64)).then(|| CommitId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, as tables show it.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CommitId {
    type Error = String;

    fn try_from(text: String) -> Result<CommitId, String> {
        CommitId::parse(&text).ok_or_else(|| {
            format!(
                "`{}` is not a full commit id (40 or 64 lowercase hex digits)",
                text.escape_default()
            )
        })
    }
}

impl From<CommitId> for String {
    fn from(id: CommitId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for ok in ["a".repeat(40), "0".repeat(64), "0123456789abcdef".repeat(4)] {
            assert!(CommitId::parse(&ok).is_some(), "{ok:?} should be valid");
        }
        for bad in [
            String::new(),
            "a".repeat(39),
            "a".repeat(41),
            "A".repeat(40),
            "g".repeat(40),
            "HEAD".into(),
            format!("{}~1", "a".repeat(40)),
        ] {
            assert!(CommitId::parse(&bad).is_none(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn serde_checks_on_the_way_in() {
        let id = CommitId::parse(&"b".repeat(40)).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<CommitId>(&json).unwrap(), id);
        let err = serde_json::from_str::<CommitId>("\"HEAD\"").unwrap_err();
        assert!(err.to_string().contains("not a full commit id"), "{err}");
    }
}
