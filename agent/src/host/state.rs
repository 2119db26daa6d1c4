//! What the agent last brought up for a project, kept in `state.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use kelev_core::{CommitId, ContentHash, ProjectName};

use crate::error::Error;
use crate::host::layout::{write_atomic, Layout};
use crate::release::routing::Recorded;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    /// The release compose last brought up successfully.
    pub(crate) running: Option<Running>,
    /// Commits that have run, oldest first, without repeats; pruning keeps the newest.
    #[serde(default)]
    pub(crate) history: Vec<CommitId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Running {
    pub(crate) commit: CommitId,
    pub(crate) content_hash: ContentHash,
    pub(crate) deployed_at: String,
    /// The compose files it was brought up with: the release's own and the agent's override.
    pub(crate) compose_files: Vec<PathBuf>,
    /// What the override was made from besides the commit (domains, service, port, Traefik
    /// settings, the secrets' digest), so a manifest change is not mistaken for "unchanged".
    pub(crate) routing: Recorded,
    /// The images it took from a registry, by service, as digests (`registry/app@sha256:...`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) images: BTreeMap<String, String>,
}

impl State {
    pub(crate) fn load(layout: &Layout, project: &ProjectName) -> Result<State, Error> {
        let path = layout.state(project);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::State {
                project: project.clone(),
                path,
                problem: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    pub(crate) fn save(&self, layout: &Layout, project: &ProjectName) -> Result<(), Error> {
        let mut json = serde_json::to_vec_pretty(self).expect("state serializes");
        json.push(b'\n');
        write_atomic(&layout.state(project), &json)
    }

    pub(crate) fn running_commit(&self) -> Option<&CommitId> {
        self.running.as_ref().map(|r| &r.commit)
    }

    pub(crate) fn record_running(&mut self, running: Running) {
        self.history.retain(|c| c != &running.commit);
        self.history.push(running.commit.clone());
        self.running = Some(running);
    }
}
