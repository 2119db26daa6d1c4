//! What `kelev-agent` on the host and `kelev` in CI must agree on byte for byte: the manifest
//! (`projects.json`), the content hash of a commit, and what `status --json` and `deploy --json`
//! say. One
//! implementation, used by both.

mod checked_output;
mod commit_id;
mod content_hash;
mod deploy_report;
mod domain_name;
mod exit_code;
mod fields;
mod git_ref;
mod hash_ignore_glob;
mod key_policy;
mod manifest;
mod manifest_error;
mod project_name;
mod repo_url;
mod status;
mod strict_json;

pub use checked_output::CheckedOutput;
pub use commit_id::CommitId;
pub use content_hash::{content_hash, ContentHash, HashIgnore};
pub use deploy_report::{DeployReport, DeployResult};
pub use exit_code::ExitCode;
pub use key_policy::{check_key_policy, KeyPolicyError, AGENT_VERBS};
pub use manifest::{Manifest, Project, Rollout, MANIFEST_MAX_BYTES};
pub use manifest_error::{ManifestError, ManifestOrigin};
pub use project_name::{ProjectName, RESERVED_PROJECT_NAMES};
pub use status::{
    ContainerState, ContainerStatus, Health, ProjectState, ProjectStatus, StatusReport,
};
