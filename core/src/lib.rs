//! What `kelev-agent` on the host and `kelev` in CI must agree on byte for byte: the manifest
//! (`projects.json`), the content hash of a commit, and what `status --json` and `deploy --json`
//! say. One
//! implementation, used by both.

mod commit_id;
mod content_hash;
mod deploy_report;
mod exit_code;
mod manifest;
mod manifest_error;
mod project_name;
mod status;

pub use commit_id::CommitId;
pub use content_hash::{content_hash, ContentHash, HashIgnore};
pub use deploy_report::{DeployReport, DeployResult};
pub use exit_code::ExitCode;
pub use manifest::{Manifest, Project, Rollout, MANIFEST_MAX_BYTES};
pub use manifest_error::ManifestError;
pub use project_name::ProjectName;
pub use status::{
    ContainerState, ContainerStatus, Health, ProjectState, ProjectStatus, StatusReport,
};
