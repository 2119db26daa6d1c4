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
    /// False when the host's routing (domains, port, secrets...) lags the manifest.
    #[serde(default)]
    routing_current: Option<bool>,
}

impl HostStatus {
    pub(crate) fn load(path: &Path) -> Result<HostStatus, Error> {
        crate::error::read_json(path)
    }

    /// The content hash `project` runs with every container up (state `running`) and routed as
    /// the manifest says; None when the host lacks the project, has it down or degraded, never
    /// deployed it, or routes it from an older manifest entry (a domain added, say).
    pub(crate) fn running(&self, project: &str) -> Option<&str> {
        self.projects
            .iter()
            .find(|p| p.name == project && p.state == "running" && p.routing_current != Some(false))
            .and_then(|p| p.content_hash.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_means_up_with_current_routing() {
        let status: HostStatus = serde_json::from_str(
            r#"{"projects":[
                {"name":"up","state":"running","content_hash":"h1","routing_current":true},
                {"name":"old-agent","state":"running","content_hash":"h2"},
                {"name":"new-domain","state":"running","content_hash":"h3","routing_current":false},
                {"name":"down","state":"stopped","content_hash":"h4","routing_current":true}
            ]}"#,
        )
        .unwrap();
        assert_eq!(status.running("up"), Some("h1"));
        assert_eq!(
            status.running("old-agent"),
            Some("h2"),
            "an agent without the field"
        );
        assert_eq!(status.running("new-domain"), None);
        assert_eq!(status.running("down"), None);
        assert_eq!(status.running("absent"), None);
    }
}
