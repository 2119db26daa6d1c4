//! Every way a `kelev` subcommand can fail, and its exit code (the agent's sysexits).

use std::path::{Path, PathBuf};

use kelev_core::{ExitCode, ManifestError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("project `{project}` is not in the manifest")]
    UnknownProject { project: String },
    #[error("cannot open repository `{path}`: {message}")]
    Repo { path: PathBuf, message: String },
    #[error("revision `{rev}`: {message}")]
    Rev { rev: String, message: String },
    #[error("`{what}`: {message}")]
    Data { what: String, message: String },
    #[error("{message}")]
    Unavailable { message: String },
    #[error("cannot write the output: {source}")]
    Output { source: std::io::Error },
}

impl Error {
    /// Bad data in the file at `path`.
    pub(crate) fn data_at(path: &Path, message: String) -> Error {
        Error::Data {
            what: path.display().to_string(),
            message,
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Manifest(_) | Error::UnknownProject { .. } | Error::Data { .. } => {
                ExitCode::Data
            }
            Error::Repo { .. } | Error::Rev { .. } => ExitCode::Failed,
            Error::Unavailable { .. } => ExitCode::Unavailable,
            Error::Output { .. } => ExitCode::Output,
        }
    }
}

/// Read and parse the JSON file at `path`; either failure is bad data there.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::data_at(path, e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::data_at(path, e.to_string()))
}
