//! What `kelev-agent status --json` prints and `kelev plan` reads (docs/commands.md#status):
//! the shape is this code, written by the agent and read by the CLI. Fields an older agent
//! lacks read as their default; fields a newer one adds are ignored.

use serde::{Deserialize, Serialize};

use crate::{CommitId, ContentHash, Rollout};

/// `{"projects": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub projects: Vec<ProjectStatus>,
}

/// One project, as Docker reports it beside what the agent recorded. Fields in name order:
/// the order `status --json` has always printed them in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectStatus {
    /// The release `current` points at.
    #[serde(default)]
    pub checkout: Option<CommitId>,
    /// What runs: the commit the agent last brought up.
    #[serde(default)]
    pub commit: Option<CommitId>,
    #[serde(default)]
    pub containers: Vec<ContainerStatus>,
    #[serde(default)]
    pub content_hash: Option<ContentHash>,
    #[serde(default)]
    pub deployed_at: Option<String>,
    pub name: String,
    /// How a new release replaces this one (from the manifest; null for orphans).
    #[serde(default)]
    pub rollout: Option<Rollout>,
    /// Whether what runs was routed from today's manifest entry, Traefik settings and secrets:
    /// false when a deploy is due although the content is the same (null: nothing runs).
    #[serde(default)]
    pub routing_current: Option<bool>,
    pub state: ProjectState,
}

/// A project's state, from its containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProjectState {
    /// Every container up.
    Running,
    /// Some up, some not.
    Degraded,
    /// Deployed, and no container runs.
    Stopped,
    NotDeployed,
    /// Not in the manifest, yet the agent has files or containers of it.
    Orphaned,
}

/// One container of the project, fields in name order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerStatus {
    pub health: Option<Health>,
    pub service: String,
    pub state: ContainerState,
}

/// A container's state, as Docker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    /// Docker's word for it (`docker ps`'s `{{.State}}`).
    pub fn parse(s: &str) -> Option<ContainerState> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }
}

/// What a container's healthcheck says; a container without one has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

impl ProjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Running => "running",
            ProjectState::Degraded => "degraded",
            ProjectState::Stopped => "stopped",
            ProjectState::NotDeployed => "not-deployed",
            ProjectState::Orphaned => "orphaned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape, field for field and in order (by name), as docs/commands.md#status shows it.
    #[test]
    fn one_project_round_trips_byte_for_byte() {
        let json = format!(
            r#"{{"projects":[{{"checkout":"{c}","commit":"{c}","containers":[{{"health":"healthy","service":"web","state":"running"}},{{"health":null,"service":"db","state":"exited"}}],"content_hash":"{h}","deployed_at":"2026-12-07T00:00:00Z","name":"fun-n-games","rollout":"zero-downtime","routing_current":true,"state":"running"}},{{"checkout":null,"commit":null,"containers":[],"content_hash":null,"deployed_at":null,"name":"old","rollout":null,"routing_current":null,"state":"orphaned"}}]}}"#,
            c = "a".repeat(40),
            h = "b".repeat(64)
        );
        let report: StatusReport = serde_json::from_str(&json).unwrap();
        assert_eq!(report.projects[0].state, ProjectState::Running);
        assert_eq!(report.projects[0].rollout, Some(Rollout::ZeroDowntime));
        assert_eq!(
            report.projects[0].containers[1].state,
            ContainerState::Exited
        );
        assert_eq!(serde_json::to_string(&report).unwrap(), json);
    }

    #[test]
    fn an_older_agent_reads_too() {
        let report: StatusReport =
            serde_json::from_str(r#"{"projects":[{"name":"p","state":"not-deployed","extra":1}]}"#)
                .unwrap();
        assert_eq!(report.projects[0].routing_current, None);
        assert!(report.projects[0].containers.is_empty());
    }

    #[test]
    fn docker_words() {
        for state in [
            ContainerState::Created,
            ContainerState::Running,
            ContainerState::Paused,
            ContainerState::Restarting,
            ContainerState::Removing,
            ContainerState::Exited,
            ContainerState::Dead,
        ] {
            assert_eq!(ContainerState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ContainerState::parse("bogus"), None);
        for state in [
            ProjectState::Running,
            ProjectState::Degraded,
            ProjectState::Stopped,
            ProjectState::NotDeployed,
            ProjectState::Orphaned,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }
}
