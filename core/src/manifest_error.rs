//! Why a manifest was refused. Every variant is bad data (exit 65 in both binaries).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("I/O error at `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("manifest is not valid JSON for projects.json: {source}")]
    Parse { source: serde_json::Error },
    #[error("manifest: {message}")]
    Invalid { message: String },
    #[error("manifest: project `{project}`: {message}")]
    Project { project: String, message: String },
}
