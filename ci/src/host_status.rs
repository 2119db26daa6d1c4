//! What the host runs: the output of `ssh deploy@host status --json` (shape in
//! docs/commands.md#status), read by `kelev plan` so that the deploy decision rests on the host
//! and not on CI's history.

use std::path::Path;

use kelev_core::{ContentHash, ProjectState, StatusReport};

use crate::error::Error;

/// What `status --json` said, in `kelev-core`'s one shape of it.
pub(crate) struct HostStatus(StatusReport);

impl HostStatus {
    pub(crate) fn load(path: &Path) -> Result<HostStatus, Error> {
        crate::error::read_json(path).map(HostStatus)
    }

    /// The content hash `project` runs with every container up (state `running`) and routed as
    /// the manifest says; None when the host lacks the project, has it down or degraded, never
    /// deployed it, or routes it from an older manifest entry (a domain added, say).
    pub(crate) fn running(&self, project: &str) -> Option<&ContentHash> {
        self.0
            .projects
            .iter()
            .find(|p| {
                p.name == project
                    && p.state == ProjectState::Running
                    && p.routing_current != Some(false)
            })
            .and_then(|p| p.content_hash.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_means_up_with_current_routing() {
        let h = |digit: &str| digit.repeat(64);
        let json = format!(
            r#"{{"projects":[
                {{"name":"up","state":"running","content_hash":"{}","routing_current":true}},
                {{"name":"old-agent","state":"running","content_hash":"{}"}},
                {{"name":"new-domain","state":"running","content_hash":"{}","routing_current":false}},
                {{"name":"down","state":"stopped","content_hash":"{}","routing_current":true}}
            ]}}"#,
            h("1"),
            h("2"),
            h("3"),
            h("4")
        );
        let status = HostStatus(serde_json::from_str(&json).unwrap());
        let running = |p| status.running(p).map(ContentHash::as_str);
        assert_eq!(running("up"), Some(h("1").as_str()));
        assert_eq!(
            running("old-agent"),
            Some(h("2").as_str()),
            "an agent without the field"
        );
        assert_eq!(running("new-domain"), None);
        assert_eq!(running("down"), None);
        assert_eq!(running("absent"), None);
    }
}
