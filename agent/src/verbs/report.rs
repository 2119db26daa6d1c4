//! How a deploy, rebuild or rollback ended: the summary line, or the JSON object of `--json`.

use std::time::Duration;

use kelev_core::{CommitId, ContentHash, ProjectName};

pub(crate) struct Report {
    pub(crate) result: &'static str,
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
        serde_json::json!({
            "project": self.project.as_str(),
            "commit": self.commit.as_str(),
            "content_hash": self.content_hash.as_str(),
            "result": self.result,
            "duration_ms": self.took.as_millis() as u64,
        })
        .to_string()
    }
}
