//! How a deploy, rebuild or rollback ended: the summary line, or the JSON object of `--json`.

use std::time::Duration;

use kelev_core::{CommitId, ContentHash, DeployReport, DeployResult, ProjectName};

pub(crate) struct Report {
    pub(crate) result: DeployResult,
    pub(crate) project: ProjectName,
    pub(crate) commit: CommitId,
    pub(crate) content_hash: ContentHash,
    pub(crate) took: Duration,
}

impl Report {
    pub(crate) fn line(&self) -> String {
        format!(
            "{} {} at {} (content {}) in {:.1}s",
            self.result,
            self.project,
            self.commit,
            &self.content_hash.as_str()[..12],
            self.took.as_secs_f64()
        )
    }

    pub(crate) fn json(&self) -> String {
        let report = DeployReport {
            commit: Some(self.commit.clone()),
            content_hash: Some(self.content_hash.clone()),
            duration_ms: Some(self.took.as_millis() as u64),
            error: None,
            exit_code: None,
            project: self.project.to_string(),
            result: self.result,
        };
        serde_json::to_string(&report).expect("a report serializes")
    }
}
