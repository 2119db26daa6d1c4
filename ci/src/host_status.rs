//! What the host runs: the output of `ssh deploy@host status --json` (shape in
//! docs/commands.md#status), read by `kelev plan` so that the deploy decision rests on the host
//! and not on CI's history.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

#[derive(Deserialize)]
pub(crate) struct HostStatus {
    projects: Vec<HostProject>,
}

/// One project as `status --json` reports it; the other fields are not read.
#[derive(Deserialize)]
struct HostProject {
    name: String,
    state: String,
    content_hash: Option<String>,
}

impl HostStatus {
    pub(crate) fn load(path: &Path) -> Result<HostStatus, Error> {
        crate::error::read_json(path)
    }

    /// The content hash `project` runs with every container up (state `running`); None when the
    /// host lacks the project, has it down or degraded, or never deployed it.
    pub(crate) fn running(&self, project: &str) -> Option<&str> {
        self.projects
            .iter()
            .find(|p| p.name == project && p.state == "running")
            .and_then(|p| p.content_hash.as_deref())
    }
}
