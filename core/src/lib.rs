//! What `kelev-agent` on the host and `kelev` in CI must agree on byte for byte: the manifest
//! (`projects.json`) and the content hash of a commit. One implementation, used by both.

mod commit_id;
mod content_hash;
mod domain_name;
mod exit_code;
mod fields;
mod git_ref;
mod hash_ignore_glob;
mod manifest;
mod manifest_error;
mod project_name;
mod repo_url;
mod strict_json;

pub use commit_id::CommitId;
pub use content_hash::{content_hash, ContentHash, HashIgnore};
pub use exit_code::ExitCode;
pub use manifest::{Manifest, Project, Rollout, MANIFEST_MAX_BYTES};
pub use manifest_error::{ManifestError, ManifestOrigin};
pub use project_name::{ProjectName, RESERVED_PROJECT_NAMES};
