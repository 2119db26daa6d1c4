//! What `kelev-agent` on the host and `kelev` in CI must agree on byte for byte: the manifest
//! (`projects.json`) and the content hash of a commit. One implementation, used by both.

mod commit_id;
mod content_hash;
mod exit_code;
mod manifest;
mod manifest_error;
mod project_name;

pub use commit_id::CommitId;
pub use content_hash::{content_hash, ContentHash, HashIgnore};
pub use exit_code::ExitCode;
pub use manifest::{Manifest, Project, Rollout, MANIFEST_MAX_BYTES};
pub use manifest_error::ManifestError;
pub use project_name::ProjectName;
