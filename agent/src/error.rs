//! Every way an invocation can fail, and the exit code each one maps to.

use std::path::PathBuf;

use kelev_core::{ManifestError, ProjectName};

use crate::command::GrammarError;

pub(crate) const EXIT_FAILED: i32 = 1;
pub(crate) const EXIT_USAGE: i32 = 64;
pub(crate) const EXIT_DATA: i32 = 65;
pub(crate) const EXIT_UNAVAILABLE: i32 = 69;
pub(crate) const EXIT_TEMPFAIL: i32 = 75;
pub(crate) const EXIT_NOPERM: i32 = 77;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Grammar(#[from] GrammarError),
    #[error("{message}")]
    Usage { message: String },
    #[error("not permitted: {message}")]
    NotPermitted { message: String },
    #[error("cannot read config `{path}`: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config `{path}`: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("project `{project}` is not in the manifest")]
    UnknownProject { project: ProjectName },
    #[error("project `{project}`: {message}")]
    ProjectData {
        project: ProjectName,
        message: String,
    },
    #[error("state of project `{project}` at `{path}` is unreadable: {message}\nhint: remove the file and run `rebuild {project}`")]
    State {
        project: ProjectName,
        path: PathBuf,
        message: String,
    },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("docker is unreachable: {message}")]
    Unavailable { message: String },
    #[error("project `{project}` is locked by {holder}; gave up after {waited_secs}s")]
    LockTimeout {
        project: String,
        holder: String,
        waited_secs: u64,
    },
    #[error("project `{project}`: git {action} failed: {message}")]
    Git {
        project: ProjectName,
        action: &'static str,
        message: String,
    },
    #[error("project `{project}`: `{command}` failed ({status}){}", tail_hint(.tail))]
    Compose {
        project: ProjectName,
        command: String,
        status: String,
        tail: String,
    },
    #[error("project `{project}`: the new release did not come up: {detail}")]
    Unhealthy {
        project: ProjectName,
        detail: String,
    },
    #[error("project `{project}`: {message}")]
    Rollback {
        project: ProjectName,
        message: String,
    },
    #[error("I/O error at `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("interrupted by {signal}; the previous release stays active")]
    Interrupted { signal: &'static str },
    #[error("{failed} of {total} projects failed")]
    RebuildAll { failed: usize, total: usize },
}

fn tail_hint(tail: &str) -> String {
    match tail.lines().rev().find(|line| !line.trim().is_empty()) {
        Some(last) => format!(": {}", last.trim()),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::Grammar(_) | Error::Usage { .. } => EXIT_USAGE,
            Error::NotPermitted { .. } => EXIT_NOPERM,
            Error::ConfigRead { .. }
            | Error::Config { .. }
            | Error::Manifest(_)
            | Error::UnknownProject { .. }
            | Error::ProjectData { .. }
            | Error::State { .. } => EXIT_DATA,
            Error::Spawn { .. } | Error::Unavailable { .. } => EXIT_UNAVAILABLE,
            Error::LockTimeout { .. } => EXIT_TEMPFAIL,
            Error::Git { .. }
            | Error::Compose { .. }
            | Error::Unhealthy { .. }
            | Error::Rollback { .. }
            | Error::Io { .. }
            | Error::Interrupted { .. }
            | Error::RebuildAll { .. } => EXIT_FAILED,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// A word for the audit log's `result` field.
    pub(crate) fn kind(&self) -> &'static str {
        match self.exit_code() {
            EXIT_USAGE => "refused",
            EXIT_NOPERM => "denied",
            EXIT_DATA => "bad-data",
            EXIT_UNAVAILABLE => "unavailable",
            EXIT_TEMPFAIL => "locked",
            _ => "failed",
        }
    }
}
