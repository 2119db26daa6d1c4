//! Every way a `kelev` subcommand can fail, and its exit code (the agent's sysexits).

use std::path::PathBuf;

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
}

impl Error {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Manifest(_) | Error::UnknownProject { .. } | Error::Data { .. } => {
                ExitCode::Data
            }
            Error::Repo { .. } | Error::Rev { .. } => ExitCode::Failed,
            Error::Unavailable { .. } => ExitCode::Unavailable,
        }
    }
}
