//! What `kelev-agent deploy --json` prints on stdout, one object however the deploy ends
//! (docs/commands.md#deploy), and how a deploy, rebuild or rollback ended: written by the
//! agent, read by the CLI's summary. Keys in name order, as they have always been printed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CommitId, ContentHash};

/// How a deploy, rebuild or rollback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployResult {
    Deployed,
    /// That content already ran, routed alike, every container up: nothing was done.
    Unchanged,
    Rebuilt,
    RolledBack,
    Failed,
}

impl DeployResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployResult::Deployed => "deployed",
            DeployResult::Unchanged => "unchanged",
            DeployResult::Rebuilt => "rebuilt",
            DeployResult::RolledBack => "rolled-back",
            DeployResult::Failed => "failed",
        }
    }
}

impl fmt::Display for DeployResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one JSON object of `deploy --json`. A success carries the content hash and the time it
/// took; a failure its exit code and the first line of its error, and the commit only if it
/// was resolved before the failure (else null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployReport {
    pub commit: Option<CommitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<ContentHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub project: String,
    pub result: DeployResult,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_failure_as_printed() {
        let commit = CommitId::parse(&"a".repeat(40)).unwrap();
        let done = DeployReport {
            commit: Some(commit.clone()),
            content_hash: ContentHash::parse(&"b".repeat(64)),
            duration_ms: Some(1234),
            error: None,
            exit_code: None,
            project: "fun".into(),
            result: DeployResult::Deployed,
        };
        let json = format!(
            r#"{{"commit":"{}","content_hash":"{}","duration_ms":1234,"project":"fun","result":"deployed"}}"#,
            "a".repeat(40),
            "b".repeat(64)
        );
        assert_eq!(serde_json::to_string(&done).unwrap(), json);
        assert_eq!(serde_json::from_str::<DeployReport>(&json).unwrap(), done);
        let failed = DeployReport {
            commit: None,
            content_hash: None,
            duration_ms: None,
            error: Some("project `fun`: git fetch failed: x".into()),
            exit_code: Some(1),
            project: "fun".into(),
            result: DeployResult::Failed,
        };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"commit":null,"error":"project `fun`: git fetch failed: x","exit_code":1,"project":"fun","result":"failed"}"#
        );
        for result in [
            DeployResult::Deployed,
            DeployResult::Unchanged,
            DeployResult::Rebuilt,
            DeployResult::RolledBack,
            DeployResult::Failed,
        ] {
            let json = serde_json::to_string(&result).unwrap();
            assert_eq!(json, format!("\"{result}\""));
        }
    }
}
